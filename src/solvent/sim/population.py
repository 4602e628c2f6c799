"""Trader populations: sampled from distributions (side, size, leverage, margin mode, entry price) or read
from a CSV of positions, and the engine commands that open them.

The positions open through ordinary `deposit` and `order` commands against one `house` account that
rests the other side (it is the rest of the market: a well-capitalized 1x cross account). To give
entries a spread without one resting order per trader, entries are bucketed into price levels; at each
level the house rests exactly the quantity the traders of that level take, so nothing is left over.
Commands: 2 per trader (deposit, order) + 2 per level.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from solvent.markets import Market, Tier
from solvent.sim.paths import rng_for

HOUSE = "house"


@dataclass(frozen=True)
class Trader:
    name: str
    side: int  # +1 long, −1 short
    lots: int
    leverage: int
    mode: str  # isolated | cross
    entry_ticks: int
    deposit: str  # decimal text, settle asset


def sample_traders(spec: dict[str, Any], market: Market, start_price: float, seed: int) -> list[Trader]:
    """`spec["traders"]` traders drawn from the population distributions (seeded)."""
    if spec.get("positions_csv"):
        return traders_from_csv(Path(str(spec["positions_csv"])), market, start_price)
    rng = rng_for(seed, 2)
    n = int(spec["traders"])
    sides = np.where(rng.random(n) < float(spec["long_share"]), 1, -1)
    sizes = np.minimum(float(spec["size_median"]) * np.exp(float(spec["size_sigma"]) * rng.standard_normal(n)),
                       float(spec["size_max"]))
    leverages = np.asarray(spec["leverage"], dtype=np.int64)
    weights = np.asarray(spec.get("leverage_weights") or [1] * len(leverages), dtype=float)
    if len(weights) != len(leverages):
        raise ValueError(f"population: {len(leverages)} leverages but {len(weights)} leverage_weights")
    chosen = rng.choice(leverages, size=n, p=weights / weights.sum())
    cross = rng.random(n) < float(spec["cross_share"])
    buffers = rng.uniform(0, float(spec["cross_buffer"]), n)
    levels = max(1, int(spec["entry_levels"]))
    spread = float(spec["entry_spread"])
    offsets = np.clip(np.round(rng.standard_normal(n) * (levels - 1) / 6), -(levels // 2), levels // 2)
    step = spread * 6 / max(levels - 1, 1)  # ±3 sd over the levels
    lot = float(market.lot_size)
    tick = float(market.tick_size)
    out = []
    for i in range(n):
        lots = max(1, round(sizes[i] / lot))
        entry = round(start_price * (1 + offsets[i] * step) / tick)
        out.append(_trader(f"t{i}", int(sides[i]), lots, int(chosen[i]), "cross" if cross[i] else "isolated",
                           entry, float(buffers[i]), market, start_price))
    return out


def traders_from_csv(path: Path, market: Market, start_price: float) -> list[Trader]:
    """Positions from a CSV with a header: account, side (long/short/buy/sell), qty, leverage, and optional
    margin_mode (default isolated), entry_price (default the path's start), deposit (default: enough)."""
    out = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            side = 1 if row["side"].strip().lower() in ("long", "buy") else -1
            lots = max(1, round(float(row["qty"]) / float(market.lot_size)))
            entry_text = (row.get("entry_price") or "").strip()
            entry = round((float(entry_text) if entry_text else start_price) / float(market.tick_size))
            trader = _trader(row["account"].strip(), side, lots, int(row["leverage"]),
                             (row.get("margin_mode") or "isolated").strip(), entry, 0.0, market, start_price)
            deposit = (row.get("deposit") or "").strip()
            out.append(trader if not deposit else Trader(**{**trader.__dict__, "deposit": deposit}))
    return out


def _trader(name: str, side: int, lots: int, leverage: int, mode: str, entry: int, buffer: float, market: Market,
            start_price: float) -> Trader:
    notional = market.notional_units(lots, entry)
    tier = _tier_at(market, notional)
    leverage = min(leverage, tier.max_leverage)
    # a position opened at a worse price than the start must not begin life underwater: keep at least
    # half its initial margin after the adverse move and the maintenance margin
    start_ticks_exact = start_price / float(market.tick_size)
    adverse_fraction = max(0.0, side * (entry - start_ticks_exact) / entry)
    mmr = float(tier.mmr)
    leverage = max(1, min(leverage, int(0.5 / (adverse_fraction + mmr))))
    scale = Decimal(10) ** market.settle.decimals
    notional_human = Decimal(int(notional)) / scale
    initial = notional_human / leverage
    fee = notional_human * Decimal(str(market.taker_fee.numerator)) / Decimal(market.taker_fee.denominator)
    start_ticks = round(start_price / float(market.tick_size))
    adverse = Decimal(max(0, side * (entry - start_ticks))) * market.tick_size * lots * market.lot_size
    extra = initial * Decimal(str(round(buffer, 6))) if mode == "cross" else Decimal(0)
    deposit = (initial * Decimal("1.001") + fee + adverse + extra + Decimal("0.01")).quantize(
        Decimal("0.01"), rounding=ROUND_CEILING)
    return Trader(name, side, lots, leverage, mode, entry, str(deposit))


def _tier_at(market: Market, notional: int | Fraction) -> Tier:
    """`market.tier_at` with the tier bounds computed once per market (they are hashed on every engine call)."""
    bounds = _BOUNDS.get(market.name)
    if bounds is None or bounds[0] is not market:
        bounds = _BOUNDS[market.name] = (market, market.tier_bounds)
    for index, bound in enumerate(bounds[1]):
        if notional <= bound:
            return market.tiers[index]
    return market.tiers[-1]


_BOUNDS: dict[str, tuple[Market, tuple[int | Fraction, ...]]] = {}


def opening_commands(traders: list[Trader], market: Market, time_ms: int) -> list[dict[str, Any]]:
    """Deposit, house quote and order commands that open every trader's position at its entry."""
    total = sum(t.lots * t.entry_ticks for t in traders) * float(market.tick_size) * float(market.lot_size)
    capital = Decimal(max(10**9, math.ceil(total * 4))).quantize(Decimal(1))
    name = market.name
    settle = market.settle.name
    commands: list[dict[str, Any]] = [
        {"op": "deposit", "account": HOUSE, "asset": settle, "amount": str(capital), "time": time_ms}]
    by_level: dict[tuple[int, int], list[Trader]] = {}
    for trader in traders:
        by_level.setdefault((trader.entry_ticks, trader.side), []).append(trader)
    for trader in traders:
        commands.append({"op": "deposit", "account": trader.name, "asset": settle, "amount": trader.deposit,
                         "time": time_ms})
    for (entry, side), group in sorted(by_level.items()):
        price = market.format_price(entry)
        commands.append({"op": "order", "account": HOUSE, "market": name, "side": "sell" if side > 0 else "buy",
                         "type": "limit", "price": price, "qty": market.format_qty(sum(t.lots for t in group)),
                         "margin_mode": "cross", "leverage": 1, "time": time_ms})
        for trader in group:
            commands.append({"op": "order", "account": trader.name, "market": name,
                             "side": "buy" if side > 0 else "sell", "type": "limit", "price": price,
                             "qty": market.format_qty(trader.lots), "margin_mode": trader.mode,
                             "leverage": trader.leverage, "tif": "ioc", "time": time_ms})
    return commands
