"""Fixed-point money: integer units of assets, integer ticks of prices, integer lots of quantities.

Everything booked is a Python int. Decimal strings are converted at the boundary with
`decimal.Decimal` (never through float) and a value that is not a whole number of the unit is
refused, not rounded: a client that sends 0.00000000001 BTC made a mistake we must name.

Rounding helpers say their direction in their names: `ceil_div` rounds up, `floor_div` down.
Where a formula yields a fraction of a unit, the engine rounds against the party the amount is
computed for (a trader's credit down, a trader's debit up) and books the residue to the
`rounding` account (SPEC §1).
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

_CONTEXT = decimal.Context(prec=80, traps=[decimal.InvalidOperation, decimal.Overflow])

#: Largest magnitude accepted for any amount, price or quantity in units: 2**96 keeps every product we
#: form far from anything surprising while allowing 10**20 whole coins at 8 decimals.
MAX_UNITS = 2**96


class InvalidValue(ValueError):
    """A value from outside the engine that cannot be used; `field` names the offending input."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def parse_decimal(field: str, raw: object) -> Decimal:
    """Parse a decimal from a string or int (floats are refused: they are not exact)."""
    if isinstance(raw, bool) or raw is None:
        raise InvalidValue(field, f"expected a decimal string, got {raw!r}")
    if isinstance(raw, float):
        raise InvalidValue(field, f"expected a decimal string, got the float {raw!r}; send \"{raw!r}\"")
    if isinstance(raw, int):
        value = Decimal(raw)
    elif isinstance(raw, str):
        text = raw.strip()
        if not text or len(text) > 100:
            raise InvalidValue(field, f"not a decimal number: {raw!r}")
        try:
            value = _CONTEXT.create_decimal(text)
        except (decimal.InvalidOperation, decimal.Overflow, ValueError):
            raise InvalidValue(field, f"not a decimal number: {raw!r}") from None
    else:
        raise InvalidValue(field, f"expected a decimal string, got {type(raw).__name__}")
    if not value.is_finite():
        raise InvalidValue(field, f"not a finite number: {raw!r}")
    if value.adjusted() > 40:
        raise InvalidValue(field, f"out of range: {raw!r}")
    return value


@lru_cache(maxsize=256)
def decimal_places(step: Decimal) -> int | None:
    """k when `step` is exactly 10^-k (k >= 0), else None: the common case gets integer fast paths."""
    for places in range(0, 19):
        if step == Decimal(1).scaleb(-places):
            return places
    return None


def _fast_units(raw: str, places: int) -> int | None:
    """Plain decimal text ("123", "-0.5") to units of 10^-places by integer arithmetic; None if not plain."""
    text = raw[1:] if raw[:1] == "-" else raw
    whole, dot, fraction = text.partition(".")
    if not whole.isdigit() or len(whole) > 30 or (dot and not fraction.isdigit()):
        return None
    if len(fraction) > places:
        if fraction[places:].strip("0"):
            return None
        fraction = fraction[:places]
    units = int(whole + fraction.ljust(places, "0"))
    return -units if raw[:1] == "-" else units


def to_units(field: str, raw: object, step: Decimal, *, allow_zero: bool = False,
             allow_negative: bool = False) -> int:
    """Convert a decimal (string) to a whole number of `step`s, refusing anything else.

    `step` is the unit's size: 1e-8 for an asset with 8 decimals, the tick size for a price, the
    lot size for a quantity. Nothing is rounded: 7000.05 with a tick of 0.1 is an error.
    """
    places = decimal_places(step)
    if places is not None and type(raw) is str:
        units = _fast_units(raw, places)
        if units is not None and 0 < units <= MAX_UNITS:
            return units
    value = parse_decimal(field, raw)
    quotient = _CONTEXT.divide(value, step)
    if quotient != quotient.to_integral_value():
        raise InvalidValue(field, f"{raw!r} is not a whole multiple of {format_decimal(step)}")
    units = int(quotient)
    if units == 0 and not allow_zero:
        raise InvalidValue(field, "must not be zero")
    if units < 0 and not allow_negative:
        raise InvalidValue(field, f"must be positive, got {raw!r}")
    if abs(units) > MAX_UNITS:
        raise InvalidValue(field, f"out of range: {raw!r}")
    return units


def parse_fraction(field: str, raw: object, *, low: Fraction | None = None, high: Fraction | None = None,
                   allow_negative: bool = False) -> Fraction:
    """Parse a rate or ratio (fee rate, mmr, funding rate) exactly as a Fraction."""
    value = Fraction(parse_decimal(field, raw))
    if value < 0 and not allow_negative:
        raise InvalidValue(field, f"must not be negative, got {raw!r}")
    if low is not None and value < low:
        raise InvalidValue(field, f"must be at least {format_fraction(low)}, got {raw!r}")
    if high is not None and value > high:
        raise InvalidValue(field, f"must be at most {format_fraction(high)}, got {raw!r}")
    return value


@lru_cache(maxsize=64)
def unit_step(decimals: int) -> Decimal:
    """The size of one unit of an asset with `decimals` decimals, e.g. 8 → 0.00000001."""
    return Decimal(1).scaleb(-decimals)


def format_decimal(value: Decimal) -> str:
    """Plain decimal text without exponent and without trailing zeros: 7000, 0.001, -12.5."""
    if value == 0:
        return "0"
    text = format(value.normalize(_CONTEXT), "f")
    return text


def format_units(units: int, step: Decimal) -> str:
    """Units of `step` as plain decimal text (exact)."""
    places = decimal_places(step)
    if places is None:
        return format_decimal(_CONTEXT.multiply(Decimal(units), step))
    if places == 0:
        return str(units)
    whole, fraction = divmod(abs(units), 10**places)
    text = f"{whole}.{fraction:0{places}d}".rstrip("0").rstrip(".")
    return "-" + text if units < 0 else text


def format_fraction(value: Fraction, places: int = 12) -> str:
    """A Fraction as decimal text: exact when it terminates within `places` decimals, else rounded
    half-even to `places` decimals (display only, never booked)."""
    quotient = _CONTEXT.divide(Decimal(value.numerator), Decimal(value.denominator))
    exponent = Decimal(1).scaleb(-places)
    rounded = quotient.quantize(exponent, rounding=decimal.ROUND_HALF_EVEN, context=_CONTEXT)
    return format_decimal(rounded)


def ceil_div(numerator: int, denominator: int) -> int:
    """⌈n/d⌉ for d > 0: a trader's debit (fee, margin) rounds up."""
    return -((-numerator) // denominator)


def floor_div(numerator: int, denominator: int) -> int:
    """⌊n/d⌋ for d > 0: a trader's credit rounds down."""
    return numerator // denominator


def floor_fraction(value: Fraction) -> int:
    """⌊value⌋: the credit rounding (negative values round away from zero, i.e. a debit rounds up)."""
    return value.numerator // value.denominator


def ceil_fraction(value: Fraction) -> int:
    """⌈value⌉."""
    return -((-value.numerator) // value.denominator)


def ceil_times(amount: int | Fraction, rate: Fraction) -> int:
    """⌈amount·rate⌉ with an integer fast path: fees and other debits of a trader."""
    if type(amount) is int:
        return -((-amount * rate.numerator) // rate.denominator)
    return ceil_fraction(amount * rate)


def ceil_over(amount: int | Fraction, divisor: int) -> int:
    """⌈amount/divisor⌉ for divisor > 0 (initial margin = notional / leverage, rounded up)."""
    if type(amount) is int:
        return -((-amount) // divisor)
    return ceil_fraction(Fraction(amount) / divisor)
