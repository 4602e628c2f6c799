"""Settings of the margin (borrowing) product, SPEC §9 and the scenario's top-level `margin` section.

Every threshold and rate of seed 003 is here, with its default:

* `interest_daily`: per asset, the daily interest rate on borrowed amounts (none means 0); interest
  accrues hourly at `rate/24`, rounded up per hour (a trader's debit);
* `liquidation_level`: forced liquidation at margin level ≤ this (one value, or one per kind);
* `clearance_fee`: per kind, the share of the liquidated assets' value charged for the Margin
  Insurance Fund (cross 2%, cross_pro 3%, isolated 2%);
* `max_leverage`: per kind; borrowing keeps liabilities ≤ (leverage − 1)·equity;
* `auto_repay_btc`: a bankruptcy up to this many BTC (at the BTC index) is repaid by the fund at once;
  a larger one waits for an operator's review;
* `withdraw_block_usdt`: a family's total bankrupt amount above this blocks the parent's withdrawals
  up to that amount;
* `slippage`: the discount (sales) or premium (purchases) on the index price when a liquidation
  converts an asset that has no spot book, or more than its book holds;
* `ladder` (our addition, per kind): the margin levels of the ladder other than liquidation:
  `transfer_out` (after a transfer out the level must stay above it), `margin_call` (a `margin_call`
  event when the level falls to it), `no_borrow` (after a borrow the level must stay above it).
  Defaults: cross 2 / 1.5 / 1.3 (Binance 3x); cross_pro and isolated 2 / 1.15 / 1.1, because at 10x
  the most a trader can borrow already leaves the level at 10/9 ≈ 1.11.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from solvent.money import InvalidValue, parse_fraction

KINDS = ("cross", "cross_pro", "isolated")
LADDER_KEYS = ("transfer_out", "margin_call", "no_borrow")
#: the asset every value is measured in: index prices are quoted in it
VALUATION = "USDT"
#: the asset of the automatic-repayment threshold
THRESHOLD_ASSET = "BTC"


def _per_kind(value: Any) -> dict[str, Any]:
    return {kind: value for kind in KINDS}


_LADDER_3X = {"transfer_out": Fraction(2), "margin_call": Fraction(3, 2), "no_borrow": Fraction(13, 10)}
_LADDER_10X = {"transfer_out": Fraction(2), "margin_call": Fraction(115, 100), "no_borrow": Fraction(11, 10)}


@dataclass(frozen=True)
class MarginSettings:
    interest_daily: dict[str, Fraction] = field(default_factory=dict)
    liquidation_level: dict[str, Fraction] = field(default_factory=lambda: _per_kind(Fraction(11, 10)))
    clearance_fee: dict[str, Fraction] = field(default_factory=lambda: {
        "cross": Fraction(2, 100), "cross_pro": Fraction(3, 100), "isolated": Fraction(2, 100)})
    max_leverage: dict[str, int] = field(default_factory=lambda: {"cross": 3, "cross_pro": 10, "isolated": 10})
    auto_repay_btc: Fraction = Fraction(1, 10)
    withdraw_block_usdt: Fraction = Fraction(10_000)
    slippage: Fraction = Fraction(1, 100)
    ladder: dict[str, dict[str, Fraction]] = field(default_factory=lambda: {
        "cross": dict(_LADDER_3X), "cross_pro": dict(_LADDER_10X), "isolated": dict(_LADDER_10X)})

    def updated(self, raw: dict[str, Any]) -> MarginSettings:
        """These settings with the keys of `raw` (a scenario's `margin` section) applied, validated."""
        known = {"interest_daily", "liquidation_level", "clearance_fee", "max_leverage", "auto_repay_btc",
                 "withdraw_block_usdt", "slippage", "ladder"}
        for key in raw:
            if key not in known:
                raise InvalidValue(f"margin.{key}", f"unknown setting; known: {', '.join(sorted(known))}")
        out = self
        if "interest_daily" in raw:
            rates = raw["interest_daily"]
            if not isinstance(rates, dict):
                raise InvalidValue("margin.interest_daily", "expected an object of asset: daily rate")
            parsed = {str(asset): parse_fraction(f"margin.interest_daily.{asset}", rate, high=Fraction(1))
                      for asset, rate in rates.items()}
            out = replace(out, interest_daily={**out.interest_daily, **parsed})
        if "liquidation_level" in raw:
            out = replace(out, liquidation_level=_kinds("margin.liquidation_level", raw["liquidation_level"],
                                                        out.liquidation_level, _level))
        if "clearance_fee" in raw:
            out = replace(out, clearance_fee=_kinds("margin.clearance_fee", raw["clearance_fee"], out.clearance_fee,
                                                    lambda f, v: parse_fraction(f, v, high=Fraction(1, 2))))
        if "max_leverage" in raw:
            out = replace(out, max_leverage=_kinds("margin.max_leverage", raw["max_leverage"], out.max_leverage,
                                                   _leverage))
        if "auto_repay_btc" in raw:
            out = replace(out, auto_repay_btc=parse_fraction("margin.auto_repay_btc", raw["auto_repay_btc"]))
        if "withdraw_block_usdt" in raw:
            out = replace(out, withdraw_block_usdt=parse_fraction("margin.withdraw_block_usdt",
                                                                  raw["withdraw_block_usdt"]))
        if "slippage" in raw:
            out = replace(out, slippage=parse_fraction("margin.slippage", raw["slippage"], high=Fraction(1, 2)))
        if "ladder" in raw:
            ladder = raw["ladder"]
            if not isinstance(ladder, dict):
                raise InvalidValue("margin.ladder", "expected an object of kind: {transfer_out, margin_call, "
                                                    "no_borrow}")
            merged = {kind: dict(levels) for kind, levels in out.ladder.items()}
            for kind, levels in ladder.items():
                where = f"margin.ladder.{kind}"
                if kind not in KINDS:
                    raise InvalidValue(where, f"unknown kind; one of {', '.join(KINDS)}")
                if not isinstance(levels, dict):
                    raise InvalidValue(where, "expected an object of transfer_out, margin_call, no_borrow")
                for key, value in levels.items():
                    if key not in LADDER_KEYS:
                        raise InvalidValue(f"{where}.{key}", f"unknown level; one of {', '.join(LADDER_KEYS)}")
                    merged[kind][key] = _level(f"{where}.{key}", value)
            out = replace(out, ladder=merged)
        out.validate()
        return out

    def validate(self) -> None:
        """Each kind's ladder must be ordered: liquidation ≤ no_borrow ≤ margin_call ≤ transfer_out."""
        for kind in KINDS:
            steps = self.ladder[kind]
            order = [("liquidation_level", self.liquidation_level[kind]), ("no_borrow", steps["no_borrow"]),
                     ("margin_call", steps["margin_call"]), ("transfer_out", steps["transfer_out"])]
            for (low_name, low), (high_name, high) in zip(order, order[1:], strict=False):
                if low > high:
                    raise InvalidValue(f"margin.ladder.{kind}.{high_name}",
                                       f"must not be below {low_name} ({float(low):g}) for {kind}")

    def describe(self) -> dict[str, Any]:
        def text(value: Fraction) -> str:
            from solvent.money import format_fraction
            return format_fraction(value)

        return {
            "interest_daily": {asset: text(rate) for asset, rate in sorted(self.interest_daily.items())},
            "liquidation_level": {kind: text(value) for kind, value in self.liquidation_level.items()},
            "clearance_fee": {kind: text(value) for kind, value in self.clearance_fee.items()},
            "max_leverage": dict(self.max_leverage),
            "auto_repay_btc": text(self.auto_repay_btc),
            "withdraw_block_usdt": text(self.withdraw_block_usdt),
            "slippage": text(self.slippage),
            "ladder": {kind: {key: text(value) for key, value in levels.items()}
                       for kind, levels in self.ladder.items()},
        }


def _level(where: str, value: Any) -> Fraction:
    level = parse_fraction(where, value, high=Fraction(100))
    if level < 1:
        raise InvalidValue(where, "a margin level below 1 would let an account lose more than it holds")
    return level


def _leverage(where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= 125:
        raise InvalidValue(where, f"expected an integer from 2 to 125, got {value!r}")
    return value


def _kinds(where: str, raw: Any, current: dict[str, Any], parse: Any) -> dict[str, Any]:
    """One value for every kind, or an object of kind: value (the kinds not named keep theirs)."""
    if isinstance(raw, dict):
        out = dict(current)
        for kind, value in raw.items():
            if kind not in KINDS:
                raise InvalidValue(f"{where}.{kind}", f"unknown kind; one of {', '.join(KINDS)}")
            out[kind] = parse(f"{where}.{kind}", value)
        return out
    value = parse(where, raw)
    return {kind: value for kind in KINDS}
