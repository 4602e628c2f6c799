"""The demo venue (`solvent.demo`): a real crash on the real engine shows what the page is for."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from solvent import demo
from solvent.engine import ledger as L
from solvent.engine.core import Engine
from tests.helpers import ok, venue


def run() -> tuple[Engine, Counter[str]]:
    engine = Engine()
    kinds: Counter[str] = Counter()
    for command in demo.setup_commands() + list(demo.steps()):
        for event in engine.apply(command):
            kinds[event["type"]] += 1
    return engine, kinds


def test_the_demo_crash_liquidates_drains_the_fund_and_deleverages() -> None:
    engine, kinds = run()
    assert kinds["liquidation"] >= 20
    assert kinds["adl"] >= 1
    history = engine.fund_book.history[demo.FUND]
    balances = [Decimal(entry["balance_after"]) for entry in history]
    assert max(balances) >= 1500 and balances[-1] < 500  # started at 1,500 and was drained
    assert kinds["rejected"] < kinds["order"] // 20  # the stream is mostly valid commands
    totals = engine.ledger.totals()
    assert all(total == -engine.ledger.balance(L.EXTERNAL, asset) for asset, total in totals.items())


def test_the_demo_is_deterministic() -> None:
    assert run()[0].state_hash() == run()[0].state_hash()


def test_the_demo_path_is_the_june_2019_candles() -> None:
    candles = demo.candles()
    assert len(candles) == 96 and candles[0].time == "2019-06-25T00:00:00Z"
    assert max(c.high for c in candles) == Decimal("13868.44")
    path = demo.intrahour(candles[0])
    assert path[0] == candles[0].open and path[-1] == candles[0].close
    assert {candles[0].high, candles[0].low} <= set(path)


def test_cancel_all_cancels_every_open_order_of_the_market_and_nothing_else() -> None:
    engine = venue()
    ok(engine, {"op": "deposit", "account": "a", "asset": "USDT", "amount": "100000"})
    for index, price in enumerate(("7000", "7100", "7200")):
        ok(engine, {"op": "order", "account": "a", "market": "BTCUSDT", "side": "buy", "price": price, "qty": "0.1",
                    "id": f"o{index}"})
    events = ok(engine, {"op": "cancel_all", "account": "a", "market": "BTCUSDT"})
    assert [event["id"] for event in events] == ["o0", "o1", "o2"]
    assert engine.state()["accounts"]["a"]["orders"] == []
    assert ok(engine, {"op": "cancel_all", "account": "a"}) == []  # nothing open: no error, no event
    rejection = engine.apply({"op": "cancel_all", "account": "a", "market": "XYZ"})[0]
    assert (rejection["type"], rejection["field"]) == ("rejected", "market")
