"""The engine's state as the JSON of SPEC §10, with liquidation and bankruptcy prices per position.

Prices shown are rounded to whole ticks as SPEC §1 asks: a long's liquidation price rounds down
and a short's up (so `mark ≤ LP` ⇔ liquidated holds exactly for whole-tick marks); a long's
bankruptcy price rounds up and a short's down (closing at or beyond it never needs the fund).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from solvent import formulas
from solvent.engine import ledger as L
from solvent.engine.accounts import CROSS, Account, Position
from solvent.engine.margin import (
    entry_ticks,
    initial_margin_units,
    maintenance_margin_exact,
    round_ticks,
    upnl_exact,
)
from solvent.engine.state import EngineState
from solvent.engine.timefmt import format_time
from solvent.money import ceil_fraction, floor_fraction, format_fraction

if TYPE_CHECKING:
    from solvent.markets import Market


class PositionRisk:
    """Exact risk figures of one position (human units, Fractions): what the views and the
    liquidation check share."""

    __slots__ = ("market", "position", "side", "mark", "entry", "upnl", "mm", "liquidation", "bankruptcy")

    def __init__(self, market: Market, position: Position, mark: Fraction, entry: Fraction, upnl: Fraction,
                 mm: Fraction) -> None:
        self.market = market
        self.position = position
        self.side = 1 if position.qty > 0 else -1
        self.mark = mark
        self.entry = entry
        self.upnl = upnl
        self.mm = mm
        self.liquidation: Fraction | None = None
        self.bankruptcy: Fraction | None = None


class StateViews(EngineState):
    """Mixin of `Engine`: read-only views."""

    def valuation_mark(self, market: Market, position: Position) -> int:
        mark = self.mark(market.name)
        return mark if mark is not None else round_ticks(entry_ticks(market, position) or 0)

    def cross_slack(self, account: Account, settle: str) -> tuple[Fraction, int]:
        """(equity − MM, number of positions) of the account's cross positions in `settle`, in units,
        exact; the account is underwater when there are positions and the slack is ≤ 0."""
        slack = Fraction(self.ledger.balance(L.trader(account.id), settle))
        positions = self.cross_positions(account, settle)
        for market, position in positions:
            mark = self.valuation_mark(market, position)
            slack += upnl_exact(market, position, mark) - maintenance_margin_exact(market, position, mark)
        return slack, len(positions)

    def risk(self, account: Account, settle: str | None = None) -> list[PositionRisk]:
        """Risk figures of an account's open positions (optionally of one settle asset), with LP and BP."""
        risks: list[PositionRisk] = []
        for position in account.positions.values():
            if position.qty == 0:
                continue
            market = self.markets[position.market]
            if settle is not None and market.settle.name != settle:
                continue
            mark_ticks = self.valuation_mark(market, position)
            settle_asset = market.settle
            risks.append(PositionRisk(
                market, position, market.price_human(mark_ticks),
                market.price_human(entry_ticks(market, position) or 0),
                settle_asset.human(upnl_exact(market, position, mark_ticks)),
                settle_asset.human(maintenance_margin_exact(market, position, mark_ticks)),
            ))
        for risk in risks:
            self._liquidation_and_bankruptcy(account, risk, risks)
        return risks

    def _liquidation_and_bankruptcy(self, account: Account, risk: PositionRisk,
                                    risks: list[PositionRisk]) -> None:
        market, position = risk.market, risk.position
        settle = market.settle
        lots = abs(position.qty)
        liquidation_price: Callable[..., Fraction | None]
        bankruptcy_price: Callable[..., Fraction | None]
        cross_bankruptcy: Callable[..., Fraction | None]
        if market.direction == 1:
            size = Fraction(lots) * Fraction(market.lot_size)
            liquidation_price, bankruptcy_price = formulas.linear_liquidation_price, formulas.linear_bankruptcy_price
            cross_bankruptcy = formulas.cross_bankruptcy_price
        else:
            size = Fraction(lots) * Fraction(market.lot_size) * Fraction(market.contract_size)
            liquidation_price, bankruptcy_price = formulas.inverse_liquidation_price, formulas.inverse_bankruptcy_price
            cross_bankruptcy = formulas.inverse_cross_bankruptcy_price
        tiers = market.tiers
        if position.mode == CROSS:
            wallet = settle.human(self.ledger.balance(L.trader(account.id), settle.name))
            others = [other for other in risks if other is not risk and other.position.mode == CROSS
                      and other.market.settle.name == settle.name]
            other_mm = sum((other.mm for other in others), Fraction(0))
            other_upnl = sum((other.upnl for other in others), Fraction(0))
            risk.liquidation = liquidation_price(risk.side, size, risk.entry, wallet, tiers, other_mm, other_upnl)
            total_mm = other_mm + risk.mm
            equity = wallet + other_upnl + risk.upnl
            if total_mm > 0:
                risk.bankruptcy = cross_bankruptcy(risk.side, size, risk.mark, equity, risk.mm, total_mm)
            else:
                risk.bankruptcy = bankruptcy_price(risk.side, size, risk.entry, wallet + other_upnl)
        else:
            margin = settle.human(self.ledger.balance(L.isolated(account.id, market.name), settle.name))
            risk.liquidation = liquidation_price(risk.side, size, risk.entry, margin, tiers)
            risk.bankruptcy = bankruptcy_price(risk.side, size, risk.entry, margin)
        # MM is never negative: where a tier's cum exceeds notional·mmr, MM is 0 and a position that
        # stands alone (isolated, or the only cross position) is liquidated only at equity 0, i.e. at
        # its bankruptcy price, not at the formula's price. A cross leg's dYdX bankruptcy price is a
        # share of the account's equity, not that bound, so it never moves the leg's LP.
        alone = position.mode != CROSS or not any(
            other is not risk and other.position.mode == CROSS and other.market.settle.name == settle.name
            for other in risks)
        if alone and risk.bankruptcy is not None:
            if risk.liquidation is None:
                risk.liquidation = risk.bankruptcy
            elif risk.side > 0:
                risk.liquidation = max(risk.liquidation, risk.bankruptcy)
            else:
                risk.liquidation = min(risk.liquidation, risk.bankruptcy)

    def adl_quantiles(self) -> dict[tuple[str, str], int]:
        """(account, market) → ADL quantile 0–4; the liquidation mixin ranks (SPEC §6)."""
        return {}

    def state(self) -> dict[str, Any]:
        """The whole state as JSON-able data (SPEC §10), amounts as decimal strings."""
        self._quantiles = self.adl_quantiles()
        accounts: dict[str, Any] = {}
        balances_of: dict[str, dict[str, str]] = {}
        for (holder, asset), amount in self.ledger.balances.items():
            if holder.startswith("trader:"):
                balances_of.setdefault(holder[7:], {})[asset] = self.assets[asset].format(amount)
        for account in self.accounts.values():
            accounts[account.id] = {
                "parent": account.parent,
                "balances": balances_of.get(account.id, {}),
                "positions": {risk.market.name: self._position_view(account, risk) for risk in self.risk(account)},
                "orders": [self._order_view(order) for order in sorted(account.orders.values(), key=_by_seq)],
            }
            if account.margin:
                accounts[account.id]["margin"] = self.margin_view(account)
                accounts[account.id]["spot_orders"] = [self._spot_order_view(order) for order in
                                                       sorted(account.spot_orders.values(), key=_by_seq)]
        funds = {name: {"asset": asset, "balance": self.assets[asset].format(self.ledger.balance(L.fund(name), asset)),
                        "head": self.fund_book.head(name)}
                 for name, asset in self.funds.items()}
        totals: dict[str, dict[str, str]] = {"fees": {}, "rounding": {}}
        for holder in ("fees", "rounding"):
            for spec in self.assets.values():
                totals[holder][spec.name] = spec.format(self.ledger.balance(holder, spec.name))
        markets: dict[str, Any] = {}
        clearing: dict[str, str] = {}
        for market in self.markets.values():
            mark = self.marks.get(market.name)
            last = self.last_prices.get(market.name)
            markets[market.name] = {
                "fund": market.fund,
                "mark_price": None if mark is None else market.format_price(mark),
                "last_price": None if last is None else market.format_price(last),
                "open_interest": market.format_qty(self.open_interest[market.name]),
            }
            clearing[market.name] = market.settle.format(self.ledger.balance(L.clearing(market.name),
                                                                                 market.settle.name))
        for pair in self.spot_markets.values():
            last = self.last_prices.get(pair.name)
            markets[pair.name] = {"type": "spot", "base": pair.base.name, "quote": pair.quote.name,
                                  "last_price": None if last is None else pair.format_price(last)}
        out = {
            "time": format_time(self.now),
            "accounts": accounts,
            "funds": funds,
            "fees": totals["fees"],
            "rounding": totals["rounding"],
            "clearing": clearing,
            "markets": markets,
            "margin_reviews": [self.bankruptcy_view(b) for b in self.margin_bankruptcies if b.status != "repaid"],
        }
        if self.margin_bankruptcies:
            out["margin_bankruptcies"] = [self.bankruptcy_view(b) for b in self.margin_bankruptcies]
        if self.index_prices:
            out["index_prices"] = {asset: format_fraction(price, 18)
                                   for asset, price in sorted(self.index_prices.items())}
        for holder in ("lending", "interest", "desk"):
            held = {asset: self.assets[asset].format(amount) for asset, amount in self.holdings(holder).items()}
            if held:
                out[holder] = held
        return out

    def _spot_order_view(self, order: Any) -> dict[str, Any]:
        pair = self.spot_markets[order.market]
        return {"id": order.oid, "market": order.market, "margin_account": order.holder_name,
                "side": "buy" if order.side > 0 else "sell", "price": pair.format_price(order.price),
                "qty": pair.format_qty(order.qty)}

    def _position_view(self, account: Account, risk: PositionRisk) -> dict[str, Any]:
        market, position = risk.market, risk.position
        settle = market.settle
        if position.mode == CROSS:
            margin = initial_margin_units(market, position.qty, self.valuation_mark(market, position),
                                          position.leverage)
        else:
            margin = self.ledger.balance(L.isolated(account.id, market.name), settle.name)
        upnl_units = floor_fraction(risk.upnl * 10**settle.decimals)
        mm_units = ceil_fraction(risk.mm * 10**settle.decimals)
        long = risk.side == 1
        return {
            "qty": market.format_qty(position.qty),
            "entry_price": format_fraction(risk.entry),
            "margin_mode": position.mode,
            "leverage": position.leverage,
            "margin": settle.format(margin),
            "upnl": settle.format(upnl_units),
            "maintenance_margin": settle.format(mm_units),
            "liquidation_price": _price_text(market, risk.liquidation, up=not long),
            "bankruptcy_price": _price_text(market, risk.bankruptcy, up=long),
            "adl_quantile": self._quantiles.get((account.id, market.name), 0),
        }

    def _order_view(self, order: Any) -> dict[str, Any]:
        market = self.markets[order.market]
        return {"id": order.oid, "market": order.market, "side": "buy" if order.side > 0 else "sell",
                "price": market.format_price(order.price), "qty": market.format_qty(order.qty),
                "reduce_only": order.reduce_only, "margin_mode": order.margin_mode, "leverage": order.leverage,
                "reserved": market.settle.format(order.reserved)}


def _by_seq(order: Any) -> int:
    return int(order.seq)


def _price_text(market: Market, price: Fraction | None, *, up: bool) -> str | None:
    if price is None:
        return None
    ticks = market.ticks_from_human(price)
    whole = ceil_fraction(ticks) if up else floor_fraction(ticks)
    if whole <= 0:
        return None
    return market.format_price(whole)
