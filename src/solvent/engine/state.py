"""The state every part of the engine shares, and the lookups and bookings every op uses."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any, TypeVar

from solvent.engine import ledger as L
from solvent.engine.accounts import CROSS, Account, Position
from solvent.engine.book import OrderBook
from solvent.engine.errors import Rejected
from solvent.engine.fields import Fields
from solvent.engine.funds import FundBook, floor_units
from solvent.engine.index import LiquidationIndex
from solvent.engine.ledger import Ledger
from solvent.engine.margin_index import MarginIndex
from solvent.engine.timefmt import format_time
from solvent.margin_settings import MarginSettings
from solvent.markets import Asset, Market, SpotMarket
from solvent.policy import Policy

if TYPE_CHECKING:
    from solvent.engine.borrowing import Bankruptcy

Event = dict[str, Any]
T = TypeVar("T")


class EngineState:
    """All state of one venue. The op mixins (`TradingOps`, `StateViews`) and `Engine` build on it."""

    def __init__(self) -> None:
        self.assets: dict[str, Asset] = {}
        self.markets: dict[str, Market] = {}
        self.books: dict[str, OrderBook] = {}
        self.marks: dict[str, int] = {}
        self.last_prices: dict[str, int] = {}
        self.open_interest: dict[str, int] = {}
        self.funds: dict[str, str] = {}  # fund name -> asset
        self.accounts: dict[str, Account] = {}
        self.ledger = Ledger()
        self.fund_book = FundBook()
        self.index = LiquidationIndex()
        #: tests set this to check the index against a full scan at every mark step
        self.verify_index = False
        #: (account, market) -> time (ms) until which a partially liquidated position is left alone
        self.cooldowns: dict[tuple[str, str], int] = {}
        #: market -> socialized loss waiting for the next funding step (socialize: funding)
        self.pending_socialized: dict[str, int] = {}
        #: market -> how many ADL rounds it has had (seeds random_start)
        self.adl_rounds: dict[str, int] = {}
        #: market -> the last funding rate applied (decimal text)
        self.last_funding: dict[str, str] = {}
        #: every liquidation event, in order (SPEC §4 step 6)
        self.liquidation_history: list[Event] = []
        self.policy = Policy()
        # ---- margin (borrowing) product, SPEC §9 ----
        self.spot_markets: dict[str, SpotMarket] = {}
        #: asset -> index price in USDT (exact)
        self.index_prices: dict[str, Fraction] = {}
        self.margin_settings = MarginSettings()
        self.margin_index = MarginIndex()
        #: every margin bankruptcy, in order (automatically repaid, pending, approved, rejected)
        self.margin_bankruptcies: list[Bankruptcy] = []
        #: account -> clearance fees its liquidations could not pay (USDT units): part of its bankrupt amount
        self.unpaid_fees: dict[str, int] = {}
        #: every margin liquidation event, in order (per-account liquidation and clearance-fee history)
        self.margin_liquidations: list[Event] = []
        self.now = 0
        self.seq = 0
        self.order_seq = 0
        self.events: list[Event] = []
    def emit(self, kind: str, **fields: Any) -> Event:
        self.seq += 1
        event: Event = {"seq": self.seq, "time": format_time(self.now), "type": kind}
        event.update(fields)
        self.events.append(event)
        return event

    # ---- lookups used by every op ------------------------------------------------------------
    def account(self, fields: Fields, key: str = "account") -> Account:
        return _known(self.accounts, fields, key, "account")

    def market(self, fields: Fields, key: str = "market") -> Market:
        return _known(self.markets, fields, key, "market")

    def asset(self, fields: Fields, key: str = "asset") -> Asset:
        return _known(self.assets, fields, key, "asset")

    def _spot_order(self, fields: Fields, market: SpotMarket) -> None:
        """An order on a spot pair (`SpotOps`)."""
        raise NotImplementedError

    def drop_order(self, account: Account, order: Any, reason: str) -> None:
        """Cancel one open order (`TradingOps`)."""
        raise NotImplementedError

    def margin_view(self, account: Account) -> dict[str, Any]:
        """The account's margin accounts (`MarginOps`)."""
        raise NotImplementedError

    def bankruptcy_view(self, bankruptcy: Bankruptcy) -> dict[str, Any]:
        """One margin bankruptcy (`MarginOps`)."""
        raise NotImplementedError

    def holdings(self, holder: str) -> dict[str, int]:
        """The non-zero balances of one ledger account, by asset (in asset order)."""
        balance = self.ledger.balance
        return {name: amount for name in self.assets if (amount := balance(holder, name))}

    def open_positions(self, market: str) -> list[tuple[Account, Position]]:
        """Every open position in `market` with its account, in account order (deterministic)."""
        out = []
        for account in self.accounts.values():
            position = account.positions.get(market)
            if position is not None and position.qty:
                out.append((account, position))
        return out

    def mark(self, market: str) -> int | None:
        """The mark price in ticks: the last `mark_price`, else the last trade, else None."""
        mark = self.marks.get(market)
        return mark if mark is not None else self.last_prices.get(market)

    def cross_positions(self, account: Account, settle: str) -> list[tuple[Market, Position]]:
        """The account's open cross positions in markets settling in `settle`: they share its wallet."""
        out = []
        for position in account.positions.values():
            if position.qty and position.mode == CROSS:
                market = self.markets[position.market]
                if market.settle.name == settle:
                    out.append((market, position))
        return out

    def transfer(self, debit: str, credit: str, asset: str, amount: int, reason: str, ref: str) -> None:
        self.ledger.transfer(debit, credit, asset, amount, reason, ref, self.now)
        # a trader's money changed: its liquidation triggers are re-armed at the next mark step
        for holder in (debit, credit):
            if holder.startswith("trader:"):
                self.index.touch(holder[7:])
            elif holder.startswith("isolated:"):
                self.index.touch(holder[9:holder.index(":", 9)])
            elif holder.startswith("margin:"):
                _, account, name = holder.split(":", 2)
                self.margin_index.touch((account, name))

    def fund_event(self, name: str, delta: int, reason: str, ref: str) -> None:
        """Record a change of a fund's balance (already booked in the ledger): history entry with its
        chain hash, and a `fund` event."""
        asset = self.assets[self.funds[name]]
        balance = self.ledger.balance(L.fund(name), asset.name)
        entry = self.fund_book.record(name, format_time(self.now), self.now, asset.format(delta), reason, ref,
                                      asset.format(balance), balance)
        self.emit("fund", fund=name, asset=asset.name, delta=entry["delta"], reason=reason, ref=ref,
                  balance_after=entry["balance_after"], hash=entry["hash"])

    def fund_capacity(self, name: str) -> int:
        """What the fund may spend now: balance − floor (SPEC §5), never negative."""
        asset = self.assets[self.funds[name]]
        balance = self.ledger.balance(L.fund(name), asset.name)
        policy = self.policy
        min_units = -((-policy.fund_min_balance.numerator * 10**asset.decimals) // policy.fund_min_balance.denominator)
        peak = 0
        if policy.fund_max_drawdown is not None:
            peak = max(balance, self.fund_book.peak(name, self.now, policy.fund_drawdown_window_s * 1000))
        return max(0, balance - floor_units(peak, min_units, policy.fund_max_drawdown))



def _known(table: dict[str, T], fields: Fields, key: str, kind: str) -> T:
    """The `kind` named by field `key`, or a refusal naming that field."""
    name = fields.text(key)
    found = table.get(name)
    if found is None:
        raise Rejected(key, f"unknown {kind} {name!r}")
    return found
