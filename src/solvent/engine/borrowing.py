"""Margin (borrowing) accounts, SPEC §9: transfers in and out, borrow, repay, index prices, the ladder,
the family withdrawal limit, reviews of bankruptcies, and their state.

Values are in USDT at index prices (`index_price` steps; USDT itself is 1), exact as Fractions; what
is booked is integer units. The margin level is total asset value / (debt + interest) value. The
ladder, per kind (`margin_settings`): a transfer out must leave the level above `transfer_out` (2),
a borrow above `no_borrow` (1.3) and within the kind's leverage (liabilities ≤ (L−1)·equity), a
`margin_call` event is emitted at `margin_call` (1.5), and liquidation (`margin_liquidation`) at
`liquidation_level` (1.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from solvent.engine import ledger as L
from solvent.engine.accounts import Account
from solvent.engine.errors import Rejected
from solvent.engine.lending import Loan, MarginAccount, hour_of, hourly_interest, margin_level, value_units
from solvent.engine.state import EngineState
from solvent.margin_settings import KINDS, THRESHOLD_ASSET, VALUATION
from solvent.money import InvalidValue, ceil_fraction, floor_fraction, format_fraction, parse_fraction

if TYPE_CHECKING:
    from solvent.engine.fields import Fields

_DECISIONS = ("approve", "reject")


@dataclass(slots=True)
class Bankruptcy:
    """Debt left in one asset after a margin liquidation sold everything (negative equity)."""

    id: str
    account: str
    margin_account: str
    asset: str
    principal: int
    interest: int
    #: the debt's value in USDT units at the index when the account went bankrupt
    amount_usdt: int
    status: str  # repaid (automatically), pending, approved, rejected
    time: int
    liquidation: str
    reason: str = ""

    @property
    def amount(self) -> int:
        return self.principal + self.interest


def margin_fund(asset: str) -> str:
    """The Margin Insurance Fund keeps one pool per asset (SPEC §10)."""
    return "margin:" + asset


def level_text(level: Fraction | None) -> str | None:
    """A margin level for display, rounded DOWN to 8 decimals (never shown safer than it is)."""
    if level is None:
        return None
    return format_fraction(Fraction(floor_fraction(level * 10**8), 10**8), 8)


class MarginOps(EngineState):
    """Mixin of `Engine`: the margin account operations that do not trade."""

    # ---- lookups -------------------------------------------------------------------------------
    def valuation(self) -> Any:
        asset = self.assets.get(VALUATION)
        if asset is None:
            raise Rejected("asset", f"margin accounts are valued in {VALUATION}: add the {VALUATION} asset first")
        return asset

    def index_of(self, asset: str) -> Fraction | None:
        return Fraction(1) if asset == VALUATION else self.index_prices.get(asset)

    def _margin_account(self, account: Account, fields: Fields, *, create: bool = False) -> MarginAccount:
        name = fields.name("margin_account")
        found = account.margin.get(name)
        if found is not None:
            return found
        kind, _, pair = name.partition(":")
        if kind not in KINDS or (kind == "isolated") != bool(pair):
            raise Rejected("margin_account", f"expected cross, cross_pro or isolated:<PAIR>, got {name!r}")
        if pair:
            market = self.spot_markets.get(pair)
            if market is None:
                raise Rejected("margin_account", f"unknown spot pair {pair!r}")
            if market.quote.name != VALUATION:
                raise Rejected("margin_account", f"isolated margin needs a pair quoted in {VALUATION}")
        if not create:
            raise Rejected("margin_account", f"{account.id} has no {name} margin account: deposit into it first")
        self.valuation()
        return MarginAccount(account.id, name, kind, pair or None)  # the caller attaches it once it commits

    def _margin_asset(self, margin: MarginAccount, fields: Fields) -> Any:
        """The asset named by the command, if this margin account may hold it (priced, in its pair)."""
        asset = self.asset(fields)
        if margin.pair is not None:
            market = self.spot_markets[margin.pair]
            if asset.name not in (market.base.name, market.quote.name):
                raise Rejected("asset", f"{margin.name} holds only {market.base.name} and {market.quote.name}")
        if self.index_of(asset.name) is None:
            raise Rejected("asset", f"no index price for {asset.name}: a margin account holds only assets it can "
                                    f"value (send index_price first)")
        return asset

    # ---- values ----------------------------------------------------------------------------------
    def daily_rate(self, asset: str) -> Fraction:
        return self.margin_settings.interest_daily.get(asset, Fraction(0))

    def owed(self, loan: Loan, asset: str) -> int:
        """Principal plus interest of a loan now."""
        return loan.principal + loan.interest_at(hour_of(self.now), self.daily_rate(asset))

    def margin_values(self, margin: MarginAccount, delta: dict[str, int] | None = None) -> tuple[Fraction, Fraction]:
        """(asset value, liability value) in USDT units, exact, optionally after adding `delta` units of
        assets (negative: taken out). An asset without an index price counts as worth nothing."""
        usdt = self.assets[VALUATION].decimals
        assets = Fraction(0)
        holdings = self.holdings(margin.holder)
        for asset, change in (delta or {}).items():
            holdings[asset] = holdings.get(asset, 0) + change
        for asset, amount in holdings.items():
            index = self.index_of(asset)
            if index is not None and amount:
                assets += value_units(amount, self.assets[asset].decimals, index, usdt)
        liabilities = Fraction(0)
        for asset, loan in margin.loans.items():
            index = self.index_of(asset)
            owed = self.owed(loan, asset)
            if owed:
                if index is None:  # cannot happen: borrowing needs an index price, and one is never removed
                    raise Rejected("asset", f"no index price for the debt in {asset}")
                liabilities += value_units(owed, self.assets[asset].decimals, index, usdt)
        return assets, liabilities

    def level(self, margin: MarginAccount) -> Fraction | None:
        return margin_level(*self.margin_values(margin))

    def spot_reserved(self, account: Account, holder_name: str, asset: str) -> int:
        """What the margin account's open spot orders hold of `asset` (sells their base; buys their quote
        and maker fee)."""
        reserved = 0
        for order in account.spot_orders.values():
            if order.holder_name != holder_name:
                continue
            market = self.spot_markets[order.market]
            if order.side > 0 and market.quote.name == asset:
                notional = market.quote_units(order.qty, order.price)
                reserved += notional + ceil_fraction(notional * market.maker_fee)
            elif order.side < 0 and market.base.name == asset:
                reserved += market.base_units(order.qty)
        return reserved

    def margin_available(self, account: Account, margin: MarginAccount, asset: str) -> int:
        return self.ledger.balance(margin.holder, asset) - self.spot_reserved(account, margin.name, asset)

    # ---- ops ---------------------------------------------------------------------------------------
    def _op_set_margin(self, fields: Fields) -> None:
        raw = {key: value for key, value in fields.raw.items() if key not in ("op", "time")}
        try:
            settings = self.margin_settings.updated(raw)
        except InvalidValue as error:
            raise Rejected(error.field, error.reason) from None
        # the hours begun so far were charged at the old rates: settle them before a rate changes
        hour = hour_of(self.now)
        for account in self.accounts.values():
            for margin in account.margin.values():
                for asset, loan in margin.loans.items():
                    loan.settle_to(hour, self.daily_rate(asset))
        self.margin_settings = settings
        self.margin_index.hour = None  # levels may have moved: check every account at the next index step
        self.emit("margin_settings", **self.margin_settings.describe())

    def _op_index_price(self, fields: Fields) -> None:
        asset = self.asset(fields)
        if asset.name == VALUATION:
            raise Rejected("asset", f"{VALUATION} is the valuation asset: its index price is 1")
        price = parse_fraction("price", fields.require("price"))
        if price <= 0:
            raise Rejected("price", "must be positive")
        self.index_prices[asset.name] = price
        self.emit("index_price", asset=asset.name, price=format_fraction(price, 18))
        self.index_step(asset.name, price)

    def margin_deposit(self, account: Account, fields: Fields) -> None:
        """`deposit` with `margin_account`: from outside straight into that margin account."""
        margin = self._margin_account(account, fields, create=True)
        asset = self._margin_asset(margin, fields)
        amount = asset.units("amount", fields.require("amount"))
        self.accounts.setdefault(account.id, account)
        account.margin.setdefault(margin.name, margin)
        self.transfer(L.EXTERNAL, margin.holder, asset.name, amount, "deposit", account.id)
        self.emit("deposit", account=account.id, margin_account=margin.name, asset=asset.name,
                  amount=asset.format(amount))

    def margin_withdraw(self, account: Account, fields: Fields) -> None:
        """`withdraw` with `margin_account`: a transfer out, so subject to the ladder."""
        margin = self._margin_account(account, fields)
        asset = self.asset(fields)
        amount = asset.units("amount", fields.require("amount"))
        available = self.margin_available(account, margin, asset.name)
        if amount > available:
            raise Rejected("amount", f"exceeds what {margin.name} holds free: {asset.format(max(available, 0))} "
                                     f"{asset.name}")
        assets, liabilities = self.margin_values(margin, {asset.name: -amount})
        if liabilities:
            level = assets / liabilities
            floor = self.margin_settings.ladder[margin.kind]["transfer_out"]
            if level <= floor:
                now = level_text(self.level(margin))
                raise Rejected("amount", f"margin level {now} would fall to {level_text(level)}: a transfer out "
                                         f"must leave it above {format_fraction(floor)}")
        self.check_withdraw_block(account, asset.name, amount)
        self.transfer(margin.holder, L.EXTERNAL, asset.name, amount, "withdraw", account.id)
        self.emit("withdraw", account=account.id, margin_account=margin.name, asset=asset.name,
                  amount=asset.format(amount))

    def _op_borrow(self, fields: Fields) -> None:
        account = self.account(fields)
        margin = self._margin_account(account, fields)
        asset = self._margin_asset(margin, fields)
        amount = asset.units("amount", fields.require("amount"))
        assets, liabilities = self.margin_values(margin)
        equity = assets - liabilities
        rate = self.daily_rate(asset.name)
        first_hour = hourly_interest(amount, rate)  # charged at once: part of the liabilities checked
        index = self.index_of(asset.name) or Fraction(0)
        usdt = self.assets[VALUATION].decimals
        added = value_units(amount, asset.decimals, index, usdt)
        owed_after = liabilities + added + value_units(first_hour, asset.decimals, index, usdt)
        equity_after = assets + added - owed_after
        leverage = self.margin_settings.max_leverage[margin.kind]
        if equity_after <= 0 or owed_after > (leverage - 1) * equity_after:
            room = max(Fraction(0), (leverage - 1) * equity - liabilities)
            most = floor_fraction(room / added * amount) if added else 0
            raise Rejected("amount", f"exceeds the {leverage}x of {margin.name}: at most {asset.format(most)} "
                                     f"{asset.name} more may be borrowed")
        after = margin_level(assets + added, owed_after)
        floor = self.margin_settings.ladder[margin.kind]["no_borrow"]
        if after is not None and after <= floor:
            raise Rejected("amount", f"margin level would fall to {level_text(after)}: borrowing needs it to stay "
                                     f"above {format_fraction(floor)}")
        hour = hour_of(self.now)
        loan = margin.loans.setdefault(asset.name, Loan(hour=hour))
        loan.settle_to(hour, rate)
        loan.principal += amount
        loan.interest += first_hour
        self.transfer(L.LENDING, margin.holder, asset.name, amount, "borrow", account.id)
        self.emit("borrow", account=account.id, margin_account=margin.name, asset=asset.name,
                  amount=asset.format(amount), interest_charged=asset.format(first_hour),
                  level=level_text(self.level(margin)))

    def _op_repay(self, fields: Fields) -> None:
        account = self.account(fields)
        margin = self._margin_account(account, fields)
        asset = self.asset(fields)
        amount = asset.units("amount", fields.require("amount"))
        loan = margin.loans.get(asset.name)
        owed = self.owed(loan, asset.name) if loan is not None else 0
        if amount > owed:
            raise Rejected("amount", f"exceeds the debt of {asset.format(owed)} {asset.name}")
        available = self.margin_available(account, margin, asset.name)
        if amount > available:
            raise Rejected("amount", f"{margin.name} holds only {asset.format(max(available, 0))} {asset.name} free")
        assert loan is not None
        interest, principal = self.pay_loan(margin, asset.name, amount, margin.holder, account.id)
        self.emit("repay", account=account.id, margin_account=margin.name, asset=asset.name,
                  amount=asset.format(amount), interest=asset.format(interest), principal=asset.format(principal),
                  level=level_text(self.level(margin)))

    def pay_loan(self, margin: MarginAccount, asset: str, amount: int, payer: str, ref: str) -> tuple[int, int]:
        """Book a repayment of `amount` of the loan in `asset` from ledger account `payer`: interest first,
        then principal. Returns (interest paid, principal paid)."""
        loan = margin.loans[asset]
        loan.settle_to(hour_of(self.now), self.daily_rate(asset))
        interest = min(amount, loan.interest)
        principal = amount - interest
        loan.interest -= interest
        loan.principal -= principal
        self.transfer(payer, L.INTEREST, asset, interest, "interest", ref)
        self.transfer(payer, L.LENDING, asset, principal, "repay", ref)
        if not loan.open:
            del margin.loans[asset]
        return interest, principal

    # ---- the family withdrawal limit (seed 003 rule 2) -------------------------------------------
    def family_bankrupt_usdt(self, account: Account) -> int:
        """The bankrupt amounts (USDT units) of the account's family: its parent and all the parent's subs."""
        head = account.parent or account.id
        total = 0
        for bankruptcy in self.margin_bankruptcies:
            owner = self.accounts[bankruptcy.account]
            if (owner.parent or owner.id) == head:
                total += bankruptcy.amount_usdt
        for name, fee in self.unpaid_fees.items():
            owner = self.accounts[name]
            if (owner.parent or owner.id) == head:
                total += fee
        return total

    def check_withdraw_block(self, account: Account, asset: str, amount: int) -> None:
        """Above `withdraw_block_usdt` of family bankruptcies, the parent may withdraw only the value it
        holds beyond that total (its wallet plus its margin accounts' equity, at index prices)."""
        if account.parent is not None:
            return
        usdt = self.assets.get(VALUATION)
        if usdt is None:
            return
        total = self.family_bankrupt_usdt(account)
        threshold = self.margin_settings.withdraw_block_usdt * 10**usdt.decimals
        if total <= threshold:
            return
        index = self.index_of(asset)
        if index is None:
            raise Rejected("asset", f"withdrawals are limited by a bankrupt amount of {usdt.format(total)} USDT; "
                                    f"{asset} has no index price to value this one")
        value = ceil_fraction(value_units(amount, self.assets[asset].decimals, index, usdt.decimals))
        held = self.holdings_value(account)
        if held - value < total:
            room = max(0, floor_fraction(held) - total)
            raise Rejected("amount", f"withdrawals are blocked up to the family's bankrupt amount of "
                                     f"{usdt.format(total)} USDT (> {usdt.format(ceil_fraction(threshold))}): at most "
                                     f"{usdt.format(room)} USDT of value may leave")

    def holdings_value(self, account: Account) -> Fraction:
        """USDT units of what the account holds: wallet at index prices plus each margin account's equity."""
        usdt = self.assets[VALUATION].decimals
        total = Fraction(0)
        for asset, amount in self.holdings(L.trader(account.id)).items():
            index = self.index_of(asset)
            if index is not None and amount > 0:
                total += value_units(amount, self.assets[asset].decimals, index, usdt)
        for margin in account.margin.values():
            assets, liabilities = self.margin_values(margin)
            total += max(Fraction(0), assets - liabilities)
        return total

    # ---- reviews of large bankruptcies (seed 003 rule 1) -----------------------------------------
    def _op_review(self, fields: Fields) -> None:
        decision = fields.choice("decision", _DECISIONS)
        wanted = fields.optional_text("id")
        if wanted is not None:
            pending = [b for b in self.margin_bankruptcies if b.id == wanted]
            if not pending:
                raise Rejected("id", f"no margin bankruptcy {wanted!r}")
            if pending[0].status != "pending":
                raise Rejected("id", f"{wanted} is {pending[0].status}, not waiting for review")
        else:
            account = self.account(fields)
            name = fields.name("margin_account")
            pending = [b for b in self.margin_bankruptcies
                       if b.account == account.id and b.margin_account == name and b.status == "pending"]
            if not pending:
                raise Rejected("margin_account", f"no bankruptcy of {account.id} {name} is waiting for review")
        if decision == "approve":
            needed: dict[str, int] = {}
            for bankruptcy in pending:
                needed[bankruptcy.asset] = needed.get(bankruptcy.asset, 0) + bankruptcy.amount
            for asset, amount in sorted(needed.items()):
                fund = margin_fund(asset)
                held = self.ledger.balance(L.fund(fund), asset)
                if held < amount:
                    spec = self.assets[asset]
                    raise Rejected("decision", f"fund {fund} holds {spec.format(held)} {asset}, the repayment needs "
                                               f"{spec.format(amount)}: inject with fund_deposit first")
        for bankruptcy in pending:
            if decision == "approve":
                self.fund_repays(bankruptcy)
            bankruptcy.status = "approved" if decision == "approve" else "rejected"
            self.emit("margin_review", id=bankruptcy.id, account=bankruptcy.account,
                      margin_account=bankruptcy.margin_account, asset=bankruptcy.asset,
                      amount=self.assets[bankruptcy.asset].format(bankruptcy.amount), decision=decision)

    def fund_repays(self, bankruptcy: Bankruptcy) -> None:
        """The Margin Insurance Fund of the debt's asset repays it to the lender (principal) and the
        interest account."""
        fund = margin_fund(bankruptcy.asset)
        self.ensure_margin_fund(bankruptcy.asset)
        self.transfer(L.fund(fund), L.INTEREST, bankruptcy.asset, bankruptcy.interest, "interest", bankruptcy.id)
        self.transfer(L.fund(fund), L.LENDING, bankruptcy.asset, bankruptcy.principal, "bankruptcy_repay",
                      bankruptcy.id)
        self.fund_event(fund, -bankruptcy.amount, "bankruptcy_repay", bankruptcy.id)

    def ensure_margin_fund(self, asset: str) -> str:
        fund = margin_fund(asset)
        if fund not in self.funds:
            self.funds[fund] = asset
            self.emit("fund_added", fund=fund, asset=asset)
        return fund

    # ---- hooks and views -------------------------------------------------------------------------
    def check_margin_accounts(self, accounts: set[str]) -> None:
        """Check these accounts' margin accounts exactly (`margin_liquidation`)."""

    def index_step(self, asset: str, price: Fraction) -> None:
        """Check the margin accounts an index move may have brought to a threshold (`margin_liquidation`)."""

    def margin_view(self, account: Account) -> dict[str, Any]:
        out: dict[str, Any] = {}
        hour = hour_of(self.now)
        for name in sorted(account.margin):
            margin = account.margin[name]
            held = {asset: self.assets[asset].format(amount)
                    for asset, amount in sorted(self.holdings(margin.holder).items())}
            debt, interest = {}, {}
            for asset in sorted(margin.loans):
                loan = margin.loans[asset]
                spec = self.assets[asset]
                debt[asset] = spec.format(loan.principal)
                interest[asset] = spec.format(loan.interest_at(hour, self.daily_rate(asset)))
            out[name] = {"kind": margin.kind, "assets": held, "debt": debt, "interest": interest,
                         "level": level_text(self.level(margin))}
        return out

    def bankruptcy_view(self, bankruptcy: Bankruptcy) -> dict[str, Any]:
        spec = self.assets[bankruptcy.asset]
        return {"id": bankruptcy.id, "account": bankruptcy.account, "margin_account": bankruptcy.margin_account,
                "asset": bankruptcy.asset, "amount": spec.format(bankruptcy.amount),
                "principal": spec.format(bankruptcy.principal), "interest": spec.format(bankruptcy.interest),
                "amount_usdt": self.assets[VALUATION].format(bankruptcy.amount_usdt), "status": bankruptcy.status,
                "liquidation": bankruptcy.liquidation}

    def auto_repay_limit_usdt(self) -> Fraction | None:
        """The automatic-repayment threshold (0.1 BTC) in USDT units, or None without a BTC index price."""
        index = self.index_of(THRESHOLD_ASSET)
        if index is None:
            return None
        return self.margin_settings.auto_repay_btc * index * 10**self.assets[VALUATION].decimals
