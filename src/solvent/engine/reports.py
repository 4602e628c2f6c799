"""Daily fund reports and per-market health signals (SPEC §5). Pure reads of engine state.

Figures that are booked (balances, inflows, outflows) are exact decimal strings computed from the
fund history; notionals of liquidations and ADL are exact products of the event's quantity and
price; coverage is a screening statistic (a percentage found by bisection) and may be a float.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from solvent.engine import ledger as L
from solvent.money import format_decimal

if TYPE_CHECKING:
    from solvent.engine.liquidation import LiquidationOps
    from solvent.markets import Market

#: coverage at or above this (a % instant move) is low ADL risk, below the second high
ADL_RISK_LOW_COVERAGE = 20.0
ADL_RISK_HIGH_COVERAGE = 5.0


def _day(time_text: str) -> str:
    return time_text[:10]


def fund_daily_reports(engine: LiquidationOps) -> dict[str, list[dict[str, Any]]]:
    """Per fund and UTC day: opening/closing balance, inflow, outflow, net, liquidations (count and
    notional), deficits covered, ADL (count and notional). For the Margin Insurance Fund, liquidations
    are margin liquidations (notional: the liquidated assets' snapshot value) and deficits covered
    are the bankruptcies it repaid."""
    market_fund = {market.name: market.fund for market in engine.markets.values()}
    reports: dict[str, dict[str, dict[str, Any]]] = {}
    for fund, entries in engine.fund_book.history.items():
        days = reports.setdefault(fund, {})
        balance = Decimal(0)
        for entry in entries:
            row = days.get(_day(entry["time"]))
            if row is None:
                row = days[_day(entry["time"])] = _empty_row(_day(entry["time"]), balance)
            delta = Decimal(entry["delta"])
            if delta > 0:
                row["inflow"] += delta
            else:
                row["outflow"] -= delta
                if "deficit" in entry["reason"] or entry["reason"] == "bankruptcy_repay":
                    row["deficits_covered"] += -delta
            balance = Decimal(entry["balance_after"])
            row["closing_balance"] = balance
    for event in engine.events:
        kind = event["type"]
        if kind not in ("liquidation", "adl", "margin_liquidation"):
            continue
        # a margin liquidation counts for the Margin Insurance Fund its clearance fee goes to
        event_fund = "margin:USDT" if kind == "margin_liquidation" else market_fund.get(event["market"])
        if event_fund is None:
            continue
        days = reports.setdefault(event_fund, {})
        day = _day(event["time"])
        if day not in days:
            previous = [row for key, row in sorted(days.items()) if key < day]
            days[day] = _empty_row(day, previous[-1]["closing_balance"] if previous else Decimal(0))
        row = days[day]
        if kind == "liquidation":
            row["liquidations"] += 1
            row["liquidation_notional"] += Decimal(event["qty"]) * Decimal(event["mark_price"])
        elif kind == "margin_liquidation":
            row["liquidations"] += 1
            row["liquidation_notional"] += Decimal(event["assets_value"])
        else:
            row["adl_count"] += 1
            row["adl_notional"] += Decimal(event["qty"]) * Decimal(event["price"])
    out: dict[str, list[dict[str, Any]]] = {}
    for fund, days in reports.items():
        rows = []
        for _, row in sorted(days.items()):
            row["net"] = row["inflow"] - row["outflow"]
            rows.append({key: format_decimal(value) if isinstance(value, Decimal) else value
                         for key, value in row.items()})
        out[fund] = rows
    return out


def _empty_row(day: str, opening: Decimal) -> dict[str, Any]:
    return {"day": day, "opening_balance": opening, "closing_balance": opening, "inflow": Decimal(0),
            "outflow": Decimal(0), "net": Decimal(0), "liquidations": 0, "liquidation_notional": Decimal(0),
            "deficits_covered": Decimal(0), "adl_count": 0, "adl_notional": Decimal(0)}


# ---- health -------------------------------------------------------------------------------------------
def _deficit_after_move(engine: LiquidationOps, market: Market, move: Fraction, with_depth: bool) -> Fraction:
    """Σ of what bankruptcies would cost the fund if the mark moved by `move` (−0.1 = a 10% fall) at
    once and every bankrupt position closed at the moved price (or walked the moved book)."""
    mark = engine.mark(market.name)
    if mark is None:
        return Fraction(0)
    moved = Fraction(mark) * (1 + move)
    if moved <= 0:
        moved = Fraction(1, 10**9)
    deficit = Fraction(0)
    bankrupt_lots = 0
    for account, position in engine.open_positions(market.name):
        side = 1 if position.qty > 0 else -1
        if (move < 0) != (side > 0):
            continue  # this move makes that side money
        risk = next((r for r in engine.risk(account, market.settle.name) if r.market is market), None)
        if risk is None or risk.bankruptcy is None:
            continue
        bankruptcy = market.ticks_from_human(risk.bankruptcy)
        if (side > 0 and moved < bankruptcy) or (side < 0 and moved > bankruptcy):
            deficit += -engine._fund_delta(market, side, abs(position.qty), moved, bankruptcy)
            bankrupt_lots += abs(position.qty)
    if with_depth and bankrupt_lots:
        deficit += _slippage(engine, market, moved, bankrupt_lots, selling=move < 0)
    return deficit


def _slippage(engine: LiquidationOps, market: Market, moved: Fraction, lots: int, selling: bool) -> Fraction:
    """Extra cost of walking the book (shifted with the mark) for `lots` instead of closing at the mark."""
    mark = engine.mark(market.name) or 1
    bids, asks = engine.books[market.name].depth(10_000)
    levels = bids if selling else asks
    shift = moved / mark
    cost = Fraction(0)
    left = lots
    for price, size in levels:
        take = min(left, size)
        fill = Fraction(price) * shift
        gap = (moved - fill) if selling else (fill - moved)
        cost += max(Fraction(0), gap) * take
        left -= take
        if left == 0:
            break
    if left:  # no book left: count the rest as lost at the last price or the whole move
        cost += moved * left
    return cost * market.scale if market.direction == 1 else cost * market.scale / (moved * moved)


def coverage(engine: LiquidationOps, market: Market, with_depth: bool) -> float:
    """Largest instant mark move (in %, either direction) whose bankruptcies the fund can pay now."""
    capacity = engine.fund_capacity(market.fund)
    best = 100.0
    for direction in (-1, 1):
        def covered(percent: float, direction: int = direction) -> bool:
            move = Fraction(direction) * Fraction(percent) / 100
            return _deficit_after_move(engine, market, move, with_depth) <= capacity

        low, high = 0.0, 99.0 if direction < 0 else 1000.0
        if covered(high):
            best = min(best, high)
            continue
        for _ in range(30):
            middle = (low + high) / 2
            if covered(middle):
                low = middle
            else:
                high = middle
        best = min(best, low)
    return round(best, 2)


def health(engine: LiquidationOps, window_s: int = 8 * 3600) -> dict[str, dict[str, Any]]:
    """Per market: open interest, last funding rate, fund balance and its change over 8 h, coverage
    with and without book depth, and an ADL risk level."""
    out: dict[str, dict[str, Any]] = {}
    for market in engine.markets.values():
        asset = market.settle
        balance = engine.ledger.balance(L.fund(market.fund), asset.name)
        then = 0  # a fund with no entry before the window held nothing then
        for time_ms, value in reversed(engine.fund_book.balances.get(market.fund, [])):
            if time_ms <= engine.now - window_s * 1000:
                then = value
                break
        covered = coverage(engine, market, with_depth=False)
        covered_depth = coverage(engine, market, with_depth=True)
        level = ("low" if covered_depth >= ADL_RISK_LOW_COVERAGE else
                 "medium" if covered_depth >= ADL_RISK_HIGH_COVERAGE else "high")
        out[market.name] = {
            "open_interest": market.format_qty(engine.open_interest[market.name]),
            "last_funding_rate": engine.last_funding.get(market.name),
            "fund": market.fund,
            "fund_balance": asset.format(balance),
            "fund_change_8h": asset.format(balance - then),
            "coverage_pct": covered,
            "coverage_with_depth_pct": covered_depth,
            "adl_risk": level,
        }
    return out
