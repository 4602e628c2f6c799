"""Policy knobs (SPEC §8): how a venue liquidates, funds deficits and deleverages.

A `Policy` is an immutable, validated set of knobs. `updated(raw)` applies a preset (if `raw`
names one) and then every override in `raw`, refusing unknown knobs and bad values with the knob's
name. Venue presets live in `solvent.presets` and register themselves in `PRESETS`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from fractions import Fraction
from typing import Any

from solvent.money import InvalidValue, format_fraction, parse_decimal, parse_fraction

_CHOICES: dict[str, tuple[str, ...]] = {
    "partial": ("none", "tier_step", "fraction"),
    "order_price": ("book", "bankruptcy"),
    "surplus": ("all", "capped"),
    "shortfall": ("adl", "socialize"),
    "socialize": ("haircut", "funding"),
    "adl_rank": ("pnl_leverage", "hyperliquid", "random_start", "pro_rata"),
    "adl_price": ("bankruptcy", "mark"),
    "adl_fee": ("none", "maker"),
}
_FRACTIONS_0_1 = ("partial_fraction", "surplus_fee_rate", "fund_max_drawdown", "backstop_ratio", "clawback")
_AMOUNTS = ("partial_min_notional", "fund_min_balance")
_SECONDS = ("partial_cooldown_s", "fund_drawdown_window_s")
_NULLABLE = ("max_slippage", "fund_max_drawdown", "backstop")


@dataclass(frozen=True, slots=True)
class Policy:
    partial: str = "none"
    partial_fraction: Fraction = Fraction(1, 5)
    partial_min_notional: Fraction = Fraction(100000)
    partial_cooldown_s: int = 30
    order_price: str = "book"
    max_slippage: Fraction | None = None
    surplus: str = "all"
    surplus_fee_rate: Fraction = Fraction(15, 1000)
    fund_min_balance: Fraction = Fraction(0)
    fund_max_drawdown: Fraction | None = None
    fund_drawdown_window_s: int = 28800
    backstop: str | None = None
    backstop_ratio: Fraction = Fraction(667, 1000)
    clawback: Fraction = Fraction(0)
    shortfall: str = "adl"
    socialize: str = "haircut"
    adl_rank: str = "pnl_leverage"
    adl_price: str = "bankruptcy"
    adl_fee: str = "none"
    preset: str | None = None

    def updated(self, raw: dict[str, Any]) -> Policy:
        """A new policy: `raw["preset"]` first (if any), then each knob in `raw`."""
        from solvent.presets import PRESETS

        policy = self
        raw = dict(raw)
        preset = raw.pop("preset", None)
        if preset is not None:
            if preset not in PRESETS:
                known = ", ".join(sorted(PRESETS)) or "none yet"
                raise InvalidValue("preset", f"unknown preset {preset!r} (known: {known})")
            policy = Policy().updated(PRESETS[preset])
            policy = replace(policy, preset=preset)
        known_knobs = {f.name for f in fields(Policy)} - {"preset"}
        changes: dict[str, Any] = {}
        for knob, value in raw.items():
            if knob not in known_knobs:
                raise InvalidValue(knob, "unknown policy knob")
            changes[knob] = _parse_knob(knob, value)
        return replace(policy, **changes)

    def describe(self) -> dict[str, Any]:
        """JSON-able view: fractions as decimal strings."""
        out: dict[str, Any] = {}
        for f in fields(Policy):
            value = getattr(self, f.name)
            out[f.name] = format_fraction(value) if isinstance(value, Fraction) else value
        return out


def _parse_knob(knob: str, value: Any) -> Any:
    if value is None:
        if knob in _NULLABLE:
            return None
        raise InvalidValue(knob, "must not be null")
    if knob in _CHOICES:
        if value not in _CHOICES[knob]:
            raise InvalidValue(knob, f"must be one of {', '.join(_CHOICES[knob])}, got {value!r}")
        return value
    if knob in _FRACTIONS_0_1:
        return parse_fraction(knob, value, high=Fraction(1))
    if knob == "max_slippage":
        return parse_fraction(knob, value, high=Fraction(10))
    if knob in _AMOUNTS:
        return parse_fraction(knob, value)
    if knob in _SECONDS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidValue(knob, f"expected a non-negative integer of seconds, got {value!r}")
        return value
    if knob == "backstop":
        if not isinstance(value, str) or not value:
            raise InvalidValue(knob, "expected an account id")
        return value
    parse_decimal(knob, value)  # pragma: no cover - every knob is handled above
    raise InvalidValue(knob, "unknown policy knob")
