"""Policy knobs and venue presets (SPEC §8)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from solvent.money import InvalidValue
from solvent.policy import Policy
from solvent.presets import PRESETS, SOURCES


def test_every_venue_named_by_the_spec_has_a_preset_with_sources() -> None:
    assert set(PRESETS) == {"binance", "bybit", "okx", "bitmex", "dydx", "hyperliquid", "drift"}
    for name in PRESETS:
        assert SOURCES[name], name


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_each_preset_is_a_valid_policy(name: str) -> None:
    policy = Policy().updated({"preset": name})
    assert policy.preset == name


@pytest.mark.parametrize(("name", "knob", "value"), [
    ("bitmex", "order_price", "bankruptcy"),
    ("dydx", "surplus", "capped"),
    ("dydx", "surplus_fee_rate", Fraction(15, 1000)),
    ("dydx", "adl_rank", "random_start"),
    ("okx", "adl_price", "mark"),
    ("okx", "fund_max_drawdown", Fraction(3, 10)),
    ("bybit", "adl_fee", "maker"),
    ("hyperliquid", "partial", "fraction"),
    ("hyperliquid", "partial_cooldown_s", 30),
    ("drift", "socialize", "funding"),
    ("binance", "adl_rank", "pnl_leverage"),
])
def test_presets_set_what_their_venue_documents(name: str, knob: str, value: object) -> None:
    assert getattr(Policy().updated({"preset": name}), knob) == value


def test_a_scenario_overrides_any_knob_of_a_preset() -> None:
    policy = Policy().updated({"preset": "dydx", "surplus": "all", "adl_rank": "pro_rata"})
    assert (policy.surplus, policy.adl_rank, policy.preset) == ("all", "pro_rata", "dydx")


@pytest.mark.parametrize(("raw", "field"), [
    ({"preset": "ftx"}, "preset"),
    ({"partial": "half"}, "partial"),
    ({"max_slippage": "-0.1"}, "max_slippage"),
    ({"fund_drawdown_window_s": -1}, "fund_drawdown_window_s"),
    ({"teleport": True}, "teleport"),
    ({"clawback": "1.5"}, "clawback"),
])
def test_bad_knobs_are_refused_by_name(raw: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidValue) as error:
        Policy().updated(raw)
    assert error.value.field == field
