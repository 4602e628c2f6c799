"""Bad input is refused with a `rejected` event naming the field and the reason, and changes nothing
(the state hash and the ledger are asserted unchanged by `refused`)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import ok, refused, trade, venue


@pytest.fixture
def engine():  # type: ignore[no-untyped-def]
    engine = venue()
    ok(engine, {"op": "deposit", "account": "a", "asset": "USDT", "amount": "1000"})
    ok(engine, {"op": "deposit", "account": "b", "asset": "USDT", "amount": "100000"})
    ok(engine, {"op": "order", "account": "b", "market": "BTCUSDT", "side": "sell", "price": "7600", "qty": "1",
                "id": "resting"})
    return engine


def order(**fields: Any) -> dict[str, Any]:
    base = {"op": "order", "account": "a", "market": "BTCUSDT", "side": "buy", "type": "limit", "price": "7500",
            "qty": "0.01"}
    base.update(fields)
    return {key: value for key, value in base.items() if value is not ...}


CASES = [
    ("unknown market", order(market="ETHUSDT"), "market", "unknown market"),
    ("unknown account", order(account="zed"), "account", "unknown account"),
    ("unknown op", {"op": "teleport"}, "op", "unknown op"),
    ("negative qty", order(qty="-1"), "qty", "must be positive"),
    ("zero qty", order(qty="0"), "qty", "must not be zero"),
    ("qty off the lot", order(qty="0.0005"), "qty", "not a whole multiple of 0.001"),
    ("price off the tick", order(price="7500.05"), "price", "not a whole multiple of 0.1"),
    ("NaN price", order(price="NaN"), "price", "not a finite number"),
    ("infinite qty", order(qty="Infinity"), "qty", "not a finite number"),
    ("1e400 qty", order(qty="1e400"), "qty", "out of range"),
    ("float price", order(price=7500.0), "price", "float"),
    ("missing price on a limit order", order(price=...), "price", "missing field"),
    ("missing side", order(side=...), "side", "missing field"),
    ("bad side", order(side="up"), "side", "must be one of buy, sell"),
    ("price on a market order", order(type="market"), "price", "takes no price"),
    ("bad time in force", order(tif="day"), "tif", "must be one of"),
    ("leverage above the market maximum", order(leverage=51), "leverage", "at most 50"),
    ("leverage zero", order(leverage=0), "leverage", "at least 1"),
    ("insufficient margin", order(qty="3", leverage=20), "qty", "insufficient margin"),
    ("reduce-only without a position", order(reduce_only=True), "reduce_only", "no position"),
    ("post-only that would take", order(tif="post_only", price="7600"), "tif", "post-only"),
    ("duplicate client order id", order(account="b", id="resting", side="sell", price="7700"), "id",
     "already used"),
    ("withdraw over the free balance", {"op": "withdraw", "account": "a", "asset": "USDT", "amount": "1000.00000001"},
     "amount", "exceeds the free balance"),
    ("withdraw of an unknown asset", {"op": "withdraw", "account": "a", "asset": "DOGE", "amount": "1"}, "asset",
     "unknown asset"),
    ("deposit with too many decimals", {"op": "deposit", "account": "a", "asset": "USDT", "amount": "0.000000001"},
     "amount", "not a whole multiple"),
    ("deposit missing amount", {"op": "deposit", "account": "a", "asset": "USDT"}, "amount", "missing field"),
    ("cancel of an unknown order", {"op": "cancel", "account": "a", "id": "nope"}, "id", "no open order"),
    ("margin without an isolated position", {"op": "margin", "account": "a", "market": "BTCUSDT", "amount": "1"},
     "market", "no isolated position"),
    ("funding rate above 100%", {"op": "funding", "market": "BTCUSDT", "rate": "2"}, "rate", "at most 1"),
    ("time going back", {"op": "mark_price", "market": "BTCUSDT", "price": "7000", "time": 0}, "time", "before"),
    ("time not ISO", {"op": "mark_price", "market": "BTCUSDT", "price": "7000", "time": "yesterday"}, "time",
     "not an ISO-8601"),
    ("market with a bad tier", {"op": "add_market", "market": "X", "base": "BTC", "settle": "USDT",
                                "tick_size": "0.1", "lot_size": "0.001",
                                "tiers": [{"max_notional": "1", "mmr": "1.5", "max_leverage": 1}]},
     "tiers", "mmr"),
    ("fund deposit to an unknown fund", {"op": "fund_deposit", "fund": "nope", "amount": "1"}, "fund", "unknown fund"),
]


@pytest.mark.parametrize(("command", "field", "reason"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_is_refused_and_changes_nothing(engine, command, field, reason) -> None:  # type: ignore[no-untyped-def]
    ok(engine, {"op": "mark_price", "market": "BTCUSDT", "price": "7500", "time": "2024-01-01T00:00:00Z"})
    rejection = refused(engine, command)
    assert rejection["field"] == field
    assert reason in rejection["reason"]


def test_a_refused_order_books_nothing_even_after_matching_was_planned(engine) -> None:  # type: ignore[no-untyped-def]
    # 3 BTC against a 1 BTC ask would fill 1 and rest 2: the whole order needs far more than a's 1,000 USDT,
    # so nothing fills, nothing rests, the ask is intact.
    refused(engine, order(qty="3", price="7600", leverage=10))
    assert engine.state()["accounts"]["b"]["orders"][0]["qty"] == "1"


def test_changing_margin_mode_with_an_open_position_is_refused(engine) -> None:  # type: ignore[no-untyped-def]
    trade(engine, "a", "b", "7500", "0.01")
    rejection = refused(engine, {"op": "leverage", "account": "a", "market": "BTCUSDT", "leverage": 20,
                                 "margin_mode": "isolated"})
    assert rejection["field"] == "margin_mode"


def test_tier_max_leverage_is_enforced_on_the_resulting_notional() -> None:
    # The second tier (50k–250k) allows 20x: a 10 BTC position at 7,500 (75,000) at 50x is refused.
    engine = venue()
    ok(engine, {"op": "deposit", "account": "a", "asset": "USDT", "amount": "100000"})
    rejection = refused(engine, order(qty="10", leverage=50))
    assert rejection["field"] == "leverage"
    assert "20x" in rejection["reason"]
    ok(engine, order(qty="10", leverage=20))
