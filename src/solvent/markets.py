"""Market specifications: linear and inverse perpetuals, risk tiers, fees, fund assignment.

A market converts between the integers the engine books (lots, ticks, units of the settle asset)
and the exact human quantities the formulas use (base units, quote per base, settle asset).

Both contract types share one shape so the engine has no branch per type:

* `value(q, p)` is what a position accumulates as its exact cost: `q·p` for linear (lots·ticks),
  `q/p` for inverse (lots per tick).
* `scale` turns a value into settle-asset units: linear `tick·lot·10^dec`, inverse
  `lot·contract_size·10^dec / tick`.
* `direction` is +1 for linear and −1 for inverse, so the PnL of closing `x` lots of a position of
  side `s` at price `F` is always `direction·s·scale·(value(x, F) − cost_part)`:
  linear `s·x·(F − E)`, inverse `s·x·cs·(1/E − 1/F)` (SPEC §2).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from solvent.formulas import Tier, build_tiers
from solvent.money import InvalidValue, format_units, parse_decimal, parse_fraction, to_units, unit_step

MARKET_TYPES = ("linear", "inverse", "spot")


@dataclass(frozen=True, slots=True)
class Asset:
    name: str
    decimals: int

    @property
    def step(self) -> Decimal:
        return unit_step(self.decimals)

    def units(self, field: str, raw: object, *, allow_zero: bool = False, allow_negative: bool = False) -> int:
        return to_units(field, raw, self.step, allow_zero=allow_zero, allow_negative=allow_negative)

    def format(self, units: int) -> str:
        return format_units(units, self.step)

    def human(self, units: int | Fraction) -> Fraction:
        return Fraction(units) / (10**self.decimals)


@dataclass(frozen=True, slots=True)
class Market:
    name: str
    type: str
    base: str
    quote: str
    settle: Asset
    tick_size: Decimal
    lot_size: Decimal
    contract_size: Decimal
    maker_fee: Fraction
    taker_fee: Fraction
    tiers: tuple[Tier, ...]
    fund: str
    fund_fee_share: Fraction
    scale: Fraction
    direction: int
    #: `scale` as an int for linear markets whose tick·lot is a whole number of units, else 0
    scale_int: int = 0
    #: each tier's upper bound in settle units, computed once (hashing the tiers per lookup cost more
    #: than the lookup itself)
    tier_bounds: tuple[int | Fraction, ...] = ()

    # ---- conversions -------------------------------------------------------------------------
    def price_ticks(self, field: str, raw: object) -> int:
        return to_units(field, raw, self.tick_size)

    def qty_lots(self, field: str, raw: object) -> int:
        return to_units(field, raw, self.lot_size)

    def format_price(self, ticks: int) -> str:
        return format_units(ticks, self.tick_size)

    def format_qty(self, lots: int) -> str:
        return format_units(lots, self.lot_size)

    def price_human(self, ticks: int | Fraction) -> Fraction:
        return Fraction(ticks) * Fraction(self.tick_size)

    def ticks_from_human(self, price: Fraction) -> Fraction:
        return price / Fraction(self.tick_size)

    # ---- value and money ---------------------------------------------------------------------
    def value(self, lots: int, ticks: int) -> int | Fraction:
        """The exact cost contribution of `lots` at `ticks` (see module docstring)."""
        if self.direction == 1:
            return lots * ticks
        return Fraction(lots, ticks)

    def notional_units(self, lots: int, ticks: int) -> int | Fraction:
        """|notional| in settle-asset units, exact (linear |q|·P, inverse |q|·cs/P); an int whenever
        the market's scale is whole (every usual linear market), so the hot path avoids Fractions."""
        if self.scale_int:
            return abs(lots) * ticks * self.scale_int
        return self.scale * self.value(abs(lots), ticks)

    def tier_at(self, notional_units: int | Fraction) -> Tier:
        """The tier whose band holds the notional (in settle units); compared in units, no conversion."""
        bounds = self.tier_bounds or _tier_bounds(self.tiers, self.settle.decimals)
        for index, bound in enumerate(bounds):
            if notional_units <= bound:
                return self.tiers[index]
        return self.tiers[-1]

    def maintenance_units(self, notional_units: int | Fraction) -> Fraction:
        """MM = notional·mmr − cum of the tier the notional falls in, in settle units, exact."""
        tier = self.tier_at(notional_units)
        return notional_units * tier.mmr - tier.cum * (10**self.settle.decimals)

    @property
    def max_leverage(self) -> int:
        return self.tiers[0].max_leverage


def _tier_bounds(tiers: tuple[Tier, ...], decimals: int) -> tuple[int | Fraction, ...]:
    """Each tier's max notional in settle units (ints when whole): the hot path compares against these."""
    bounds: list[int | Fraction] = []
    for tier in tiers:
        bound = tier.max_notional * 10**decimals
        bounds.append(bound.numerator if bound.denominator == 1 else bound)
    return tuple(bounds)


def _get(spec: dict[str, Any], key: str, field: str) -> Any:
    if key not in spec:
        raise InvalidValue(f"{field}.{key}", "missing field")
    return spec[key]


def parse_tiers(field: str, raw: object) -> tuple[Tier, ...]:
    if not isinstance(raw, list) or not raw:
        raise InvalidValue(field, "expected a non-empty list of tiers")
    rows: list[tuple[Fraction, Fraction, int, Fraction | None]] = []
    for index, tier in enumerate(raw):
        where = f"{field}[{index}]"
        if not isinstance(tier, dict):
            raise InvalidValue(where, "expected an object")
        max_notional = Fraction(parse_decimal(f"{where}.max_notional", _get(tier, "max_notional", where)))
        mmr = parse_fraction(f"{where}.mmr", _get(tier, "mmr", where))
        leverage = _get(tier, "max_leverage", where)
        if isinstance(leverage, bool) or not isinstance(leverage, int):
            raise InvalidValue(f"{where}.max_leverage", "expected an integer")
        cum_raw = tier.get("cum")
        cum = None if cum_raw is None else parse_fraction(f"{where}.cum", cum_raw)
        rows.append((max_notional, mmr, leverage, cum))
    try:
        return build_tiers(rows)
    except ValueError as error:
        raise InvalidValue(field, str(error)) from None


def parse_market(name: str, spec: object, assets: dict[str, Asset]) -> Market:
    """Build a market from its scenario/API description, refusing anything inconsistent."""
    field = f"markets.{name}"
    if not isinstance(spec, dict):
        raise InvalidValue(field, "expected an object")
    kind = spec.get("type", "linear")
    if kind not in MARKET_TYPES or kind == "spot":
        raise InvalidValue(f"{field}.type", f"must be one of linear, inverse, got {kind!r}")
    base = _get(spec, "base", field)
    default_settle = "USDT" if kind == "linear" else base
    settle_name = spec.get("settle", default_settle)
    quote = spec.get("quote", settle_name if kind == "linear" else "USD")
    if settle_name not in assets:
        raise InvalidValue(f"{field}.settle", f"unknown asset {settle_name!r}")
    if kind == "inverse" and settle_name != base:
        raise InvalidValue(f"{field}.settle", "an inverse market settles in its base coin")
    settle = assets[settle_name]
    tick = parse_decimal(f"{field}.tick_size", _get(spec, "tick_size", field))
    lot = parse_decimal(f"{field}.lot_size", _get(spec, "lot_size", field))
    for key, step in (("tick_size", tick), ("lot_size", lot)):
        if step <= 0:
            raise InvalidValue(f"{field}.{key}", "must be positive")
    contract = parse_decimal(f"{field}.contract_size", spec.get("contract_size", "1"))
    if contract <= 0:
        raise InvalidValue(f"{field}.contract_size", "must be positive")
    maker = parse_fraction(f"{field}.maker_fee", spec.get("maker_fee", "0"), allow_negative=True,
                           low=Fraction(-1, 100), high=Fraction(1, 10))
    taker = parse_fraction(f"{field}.taker_fee", spec.get("taker_fee", "0"), high=Fraction(1, 10))
    if maker + taker < 0:
        raise InvalidValue(f"{field}.maker_fee", "a maker rebate larger than the taker fee pays out money")
    share = parse_fraction(f"{field}.fund_fee_share", spec.get("fund_fee_share", "0"), high=Fraction(1))
    tiers = parse_tiers(f"{field}.tiers", _get(spec, "tiers", field))
    units_per_coin = 10**settle.decimals
    if kind == "linear":
        scale = Fraction(tick) * Fraction(lot) * units_per_coin
        direction = 1
    else:
        scale = Fraction(lot) * Fraction(contract) * units_per_coin / Fraction(tick)
        direction = -1
    fund = spec.get("fund", name)
    if not isinstance(fund, str) or not fund:
        raise InvalidValue(f"{field}.fund", "expected a fund name")
    return Market(name=name, type=kind, base=str(base), quote=str(quote), settle=settle, tick_size=tick, lot_size=lot,
                  contract_size=contract, maker_fee=maker, taker_fee=taker, tiers=tiers, fund=fund,
                  fund_fee_share=share, scale=scale, direction=direction,
                  scale_int=scale.numerator if direction == 1 and scale.denominator == 1 else 0,
                  tier_bounds=_tier_bounds(tiers, settle.decimals))


@dataclass(frozen=True, slots=True)
class SpotMarket:
    """A spot pair (SPEC §9): lots of `base` traded for `quote` at ticks of quote per base.

    A fill of `q` lots at `p` ticks moves `q·base_per_lot` base units one way and
    `q·p·quote_per_lot_tick` quote units the other, both whole numbers by construction (a pair whose
    lot or lot·tick is finer than its assets' units is refused), so a spot fill never rounds.
    Fees are charged in the quote asset on the notional, rounded up.
    """

    name: str
    base: Asset
    quote: Asset
    tick_size: Decimal
    lot_size: Decimal
    maker_fee: Fraction
    taker_fee: Fraction
    base_per_lot: int
    quote_per_lot_tick: int
    type: str = "spot"

    def price_ticks(self, field: str, raw: object) -> int:
        return to_units(field, raw, self.tick_size)

    def qty_lots(self, field: str, raw: object) -> int:
        return to_units(field, raw, self.lot_size)

    def format_price(self, ticks: int) -> str:
        return format_units(ticks, self.tick_size)

    def format_qty(self, lots: int) -> str:
        return format_units(lots, self.lot_size)

    def quote_units(self, lots: int, ticks: int) -> int:
        return lots * ticks * self.quote_per_lot_tick

    def base_units(self, lots: int) -> int:
        return lots * self.base_per_lot


def parse_spot_market(name: str, spec: object, assets: dict[str, Asset]) -> SpotMarket:
    """Build a spot pair from its scenario/API description (`"type": "spot"`, `base`, `quote`)."""
    field = f"markets.{name}"
    if not isinstance(spec, dict):
        raise InvalidValue(field, "expected an object")
    pair: dict[str, Asset] = {}
    for key, default in (("base", None), ("quote", "USDT")):
        asset_name = spec.get(key, default)
        if asset_name is None:
            raise InvalidValue(f"{field}.{key}", "missing field")
        if asset_name not in assets:
            raise InvalidValue(f"{field}.{key}", f"unknown asset {asset_name!r}")
        pair[key] = assets[asset_name]
    base, quote = pair["base"], pair["quote"]
    if base.name == quote.name:
        raise InvalidValue(f"{field}.quote", "a pair needs two different assets")
    tick = parse_decimal(f"{field}.tick_size", _get(spec, "tick_size", field))
    lot = parse_decimal(f"{field}.lot_size", _get(spec, "lot_size", field))
    for key, step in (("tick_size", tick), ("lot_size", lot)):
        if step <= 0:
            raise InvalidValue(f"{field}.{key}", "must be positive")
    base_per_lot = Fraction(lot) * 10**base.decimals
    if base_per_lot.denominator != 1:
        raise InvalidValue(f"{field}.lot_size", f"finer than one unit of {base.name} ({base.step})")
    quote_per = Fraction(lot) * Fraction(tick) * 10**quote.decimals
    if quote_per.denominator != 1:
        raise InvalidValue(f"{field}.tick_size", f"one lot times one tick is finer than one unit of {quote.name} "
                                                 f"({quote.step}); use a coarser tick or lot")
    maker = parse_fraction(f"{field}.maker_fee", spec.get("maker_fee", "0"), high=Fraction(1, 10))
    taker = parse_fraction(f"{field}.taker_fee", spec.get("taker_fee", "0"), high=Fraction(1, 10))
    return SpotMarket(name=name, base=base, quote=quote, tick_size=tick, lot_size=lot, maker_fee=maker,
                      taker_fee=taker, base_per_lot=base_per_lot.numerator, quote_per_lot_tick=quote_per.numerator)
