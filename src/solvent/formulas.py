"""Pure exact maths of margin and liquidation (Fractions, never floats)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True, slots=True)
class Tier:
    max_notional: Fraction
    mmr: Fraction
    max_leverage: int
    cum: Fraction


def build_tiers(rows: Sequence[tuple[Fraction, Fraction, int, Fraction | None]]) -> tuple[Tier, ...]:
    if not rows:
        raise ValueError("at least one tier is needed")
    tiers: list[Tier] = []
    for index, (max_notional, mmr, leverage, cum) in enumerate(rows):
        if max_notional <= 0:
            raise ValueError(f"tier {index}: max_notional must be positive")
        if not 0 < mmr < 1:
            raise ValueError(f"tier {index}: mmr must be between 0 and 1")
        if leverage < 1:
            raise ValueError(f"tier {index}: max_leverage must be at least 1")
        if tiers:
            previous = tiers[-1]
            if max_notional <= previous.max_notional:
                raise ValueError(f"tier {index}: max_notional must increase")
            if mmr < previous.mmr:
                raise ValueError(f"tier {index}: mmr must not decrease")
            if leverage > previous.max_leverage:
                raise ValueError(f"tier {index}: max_leverage must not increase")
            derived = previous.max_notional * (mmr - previous.mmr) + previous.cum
        else:
            derived = Fraction(0)
        tiers.append(Tier(Fraction(max_notional), Fraction(mmr), leverage, Fraction(derived if cum is None else cum)))
    return tuple(tiers)


def tier_for(tiers: Sequence[Tier], notional: Fraction) -> Tier:
    for tier in tiers:
        if notional <= tier.max_notional:
            return tier
    return tiers[-1]


def maintenance_margin(tiers: Sequence[Tier], notional: Fraction) -> Fraction:
    tier = tier_for(tiers, notional)
    return notional * tier.mmr - tier.cum


def linear_pnl(qty: Fraction, entry: Fraction, price: Fraction) -> Fraction:
    return qty * (price - entry)


def inverse_pnl(value: Fraction, entry: Fraction, price: Fraction) -> Fraction:
    return value * (1 / entry - 1 / price)


def linear_liquidation_price(side: int, size: Fraction, entry: Fraction, wallet: Fraction, tiers: Sequence[Tier],
                             other_mm: Fraction = Fraction(0), other_upnl: Fraction = Fraction(0)) -> Fraction | None:
    for tier in tiers:
        denominator = size * tier.mmr - side * size
        if denominator == 0:
            continue
        price = (wallet - other_mm + other_upnl + tier.cum - side * size * entry) / denominator
        if price <= 0:
            continue
        if tier_for(tiers, size * price) is tier:
            return price
    return None


def linear_bankruptcy_price(side: int, size: Fraction, entry: Fraction, margin: Fraction) -> Fraction | None:
    price = entry - side * margin / size
    return price if price > 0 else None


def cross_bankruptcy_price(side: int, size: Fraction, mark: Fraction, equity: Fraction, mm: Fraction,
                           total_mm: Fraction) -> Fraction | None:
    price = mark - side * (equity * mm / total_mm) / size
    return price if price > 0 else None


def inverse_liquidation_price(side: int, value: Fraction, entry: Fraction, wallet: Fraction, tiers: Sequence[Tier],
                              other_mm: Fraction = Fraction(0), other_upnl: Fraction = Fraction(0)) -> Fraction | None:
    for tier in tiers:
        denominator = wallet - other_mm + other_upnl + tier.cum + side * value / entry
        if denominator == 0:
            continue
        price = value * (tier.mmr + side) / denominator
        if price <= 0:
            continue
        if tier_for(tiers, value / price) is tier:
            return price
    return None


def inverse_bankruptcy_price(side: int, value: Fraction, entry: Fraction, margin: Fraction) -> Fraction | None:
    denominator = margin + side * value / entry
    if denominator == 0:
        return None
    price = side * value / denominator
    return price if price > 0 else None


def inverse_cross_bankruptcy_price(side: int, value: Fraction, mark: Fraction, equity: Fraction, mm: Fraction,
                                   total_mm: Fraction) -> Fraction | None:
    share = equity * mm / total_mm
    inverse = 1 / mark + side * share / value
    return 1 / inverse if inverse > 0 else None


def linear_fund_delta(side: int, size: Fraction, fill: Fraction, bankruptcy: Fraction) -> Fraction:
    return side * size * (fill - bankruptcy)


def inverse_fund_delta(side: int, value: Fraction, fill: Fraction, bankruptcy: Fraction) -> Fraction:
    return side * value * (1 / bankruptcy - 1 / fill)


def round_price_to_tick(price: Fraction, tick: Fraction, up: bool) -> Fraction:
    steps = price / tick
    whole = -((-steps.numerator) // steps.denominator) if up else steps.numerator // steps.denominator
    return whole * tick
