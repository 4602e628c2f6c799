"""Margin arithmetic on engine state: initial margin, unrealized PnL, free balance.

Pure reads: nothing here changes state. All results are integer units of the settle asset,
rounded against the trader (a requirement up, a credit down).
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

from solvent.engine.accounts import Account, Position
from solvent.money import ceil_fraction, ceil_over, floor_fraction

if TYPE_CHECKING:
    from solvent.engine.state import EngineState
    from solvent.markets import Market


def upnl_exact(market: Market, position: Position, mark: int | None) -> Fraction:
    """Unrealized PnL at the mark price, exact, in settle units (0 without a mark price)."""
    if position.qty == 0 or mark is None:
        return Fraction(0)
    side = 1 if position.qty > 0 else -1
    return market.direction * side * market.scale * (market.value(abs(position.qty), mark) - position.cost)


def fill_loss_units(market: Market, side: int, lots: int, price: int, mark: int | None) -> int:
    """What opening `lots` at `price` loses at once against the mark (buying above it, selling below).

    Counted as a requirement at order time (Binance's "open loss"), rounded up.
    """
    if mark is None:
        return 0
    if market.scale_int:
        loss = side * (price - mark) * lots * market.scale_int
        return loss if loss > 0 else 0
    upnl = market.direction * side * market.scale * (market.value(lots, mark) - market.value(lots, price))
    return ceil_fraction(-upnl) if upnl < 0 else 0


def initial_margin_units(market: Market, lots: int, price: int, leverage: int) -> int:
    """IM = notional / leverage, rounded up (a requirement)."""
    return ceil_over(market.notional_units(lots, price), leverage)


def maintenance_margin_exact(market: Market, position: Position, mark: int | None) -> Fraction:
    """MM = notional·mmr − cum of the notional's tier (SPEC §2) at the mark (without one, at the entry
    rounded to a tick), in settle units, exact; never negative (a tier's cum can exceed notional·mmr)."""
    price = mark if mark is not None else entry_ticks(market, position)
    if position.qty == 0 or price is None:
        return Fraction(0)
    return max(Fraction(0), market.maintenance_units(market.notional_units(position.qty, round_ticks(price))))


def entry_ticks(market: Market, position: Position) -> Fraction | None:
    """Exact entry price in ticks: linear cost/|q|, inverse |q|/cost."""
    if position.qty == 0:
        return None
    if market.direction == 1:
        return Fraction(position.cost) / abs(position.qty)
    return abs(position.qty) / Fraction(position.cost)


def round_ticks(price: Fraction | int) -> int:
    """Nearest whole tick (ties to even) for valuing at an exact entry price; display/valuation only."""
    return round(price)


def free_units(engine: EngineState, account: Account, asset: str) -> int:
    """What the account may commit to new orders or withdraw, in `asset` units.

    free = wallet + min(0, Σ cross uPnL) − Σ cross IM at mark − Σ margin reserved by open orders.
    Unrealized profit is not counted (it is not yet money), unrealized loss is.
    """
    wallet = engine.ledger.balance("trader:" + account.id, asset)
    upnl = Fraction(0)
    initial = 0
    for market, position in engine.cross_positions(account, asset):
        mark = engine.mark(market.name)
        upnl += upnl_exact(market, position, mark)
        valuation = mark if mark is not None else round_ticks(entry_ticks(market, position) or 0)
        initial += initial_margin_units(market, position.qty, valuation, position.leverage)
    reserved = 0
    for order in account.orders.values():
        if engine.markets[order.market].settle.name == asset:
            reserved += order.reserved
    loss = floor_fraction(upnl) if upnl < 0 else 0
    return wallet + loss - initial - reserved
