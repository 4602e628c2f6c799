"""Margin (borrowing) accounts and the Margin Insurance Fund (SPEC §9, seed 003): refusals, spot
orders, interest arithmetic, settings, histories and the fund's public hash-chained history.

The worked examples of seed 003 (fee rates, the 0.1 BTC threshold, review, the family withdrawal
limit, interest, the ladder) are scenario files in `scenarios/margin/`, replayed by
tests/test_scenarios.py; random streams are tests/test_margin_properties.py.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from solvent.engine import ledger as L
from solvent.engine.core import Engine
from solvent.engine.funds import verify_chain
from solvent.engine.lending import Loan, hourly_interest
from solvent.margin_settings import MarginSettings
from solvent.money import InvalidValue
from solvent.scenario import load, replay
from tests.helpers import ok, refused

SPOT = {"op": "add_market", "market": "BTCUSDT", "type": "spot", "base": "BTC", "quote": "USDT",
        "tick_size": "0.01", "lot_size": "0.00001", "taker_fee": "0.001", "maker_fee": "0.0005"}


def margin_venue() -> Engine:
    engine = Engine()
    for asset in ("USDT", "BTC", "ETH"):
        ok(engine, {"op": "add_asset", "asset": asset, "decimals": 8})
    ok(engine, SPOT)
    ok(engine, {"op": "index_price", "asset": "BTC", "price": "10000", "time": "2024-01-01T00:00:00Z"})
    ok(engine, {"op": "deposit", "account": "mm", "asset": "BTC", "amount": "5", "margin_account": "cross"})
    ok(engine, {"op": "deposit", "account": "mm", "asset": "USDT", "amount": "50000", "margin_account": "cross"})
    ok(engine, {"op": "deposit", "account": "t", "asset": "USDT", "amount": "1000", "margin_account": "cross"})
    return engine


def spot(**fields: Any) -> dict[str, Any]:
    base = {"op": "order", "account": "t", "market": "BTCUSDT", "margin_account": "cross", "side": "buy",
            "type": "limit", "price": "9000", "qty": "0.01"}
    base.update(fields)
    return {key: value for key, value in base.items() if value is not ...}


REFUSALS = [
    ("unknown margin kind", {"op": "borrow", "account": "t", "asset": "USDT", "amount": "1",
                             "margin_account": "crossed"}, "margin_account", "expected cross"),
    ("borrow without the margin account", {"op": "borrow", "account": "t", "asset": "USDT", "amount": "1",
                                           "margin_account": "cross_pro"}, "margin_account", "deposit into it"),
    ("isolated on an unknown pair", {"op": "deposit", "account": "t", "asset": "USDT", "amount": "1",
                                     "margin_account": "isolated:ETHUSDT"}, "margin_account", "unknown spot pair"),
    ("isolated holds only its pair", {"op": "deposit", "account": "t", "asset": "ETH", "amount": "1",
                                      "margin_account": "isolated:BTCUSDT"}, "asset", "holds only BTC and USDT"),
    ("an asset without index price", {"op": "deposit", "account": "t", "asset": "ETH", "amount": "1",
                                      "margin_account": "cross"}, "asset", "no index price for ETH"),
    ("borrow beyond 3x", {"op": "borrow", "account": "t", "asset": "USDT", "amount": "2000.00000001",
                          "margin_account": "cross"}, "amount", "exceeds the 3x"),
    ("borrow off the unit", {"op": "borrow", "account": "t", "asset": "USDT", "amount": "0.000000001",
                             "margin_account": "cross"}, "amount", "not a whole multiple"),
    ("repay without a debt", {"op": "repay", "account": "t", "asset": "USDT", "amount": "1",
                              "margin_account": "cross"}, "amount", "exceeds the debt of 0"),
    ("transfer out more than held", {"op": "withdraw", "account": "t", "asset": "USDT", "amount": "1000.01",
                                     "margin_account": "cross"}, "amount", "exceeds what cross holds"),
    ("index price of USDT", {"op": "index_price", "asset": "USDT", "price": "1"}, "asset", "valuation asset"),
    ("negative index price", {"op": "index_price", "asset": "BTC", "price": "-1"}, "price", "negative"),
    ("zero index price", {"op": "index_price", "asset": "BTC", "price": "0"}, "price", "positive"),
    ("spot order without margin account", spot(margin_account=...), "margin_account", "missing field"),
    ("spot order with leverage", spot(leverage=5), "leverage", "give margin_account"),
    ("spot order beyond what is held", spot(qty="0.2", price="10000"), "qty", "borrow first"),
    ("spot sell of what is not held", spot(side="sell"), "qty", "holds 0 BTC free"),
    ("spot price off the tick", spot(price="9000.001"), "price", "not a whole multiple"),
    ("market order with a price", spot(type="market"), "price", "takes no price"),
    ("review of nothing", {"op": "review", "account": "t", "margin_account": "cross", "decision": "approve"},
     "margin_account", "waiting for review"),
    ("review with a bad decision", {"op": "review", "id": "MB1", "decision": "maybe"}, "decision", "must be one of"),
    ("bad margin setting", {"op": "set_margin", "slippage": "0.9"}, "margin.slippage", "at most"),
    ("unknown margin setting", {"op": "set_margin", "interest": {}}, "margin.interest", "unknown setting"),
    ("unordered ladder", {"op": "set_margin", "ladder": {"cross": {"no_borrow": "1.05"}}},
     "margin.ladder.cross.no_borrow", "must not be below liquidation_level"),
]


@pytest.mark.parametrize(("command", "field", "reason"), [case[1:] for case in REFUSALS],
                         ids=[case[0] for case in REFUSALS])
def test_refused_margin_commands_change_nothing(command: dict[str, Any], field: str, reason: str) -> None:
    engine = margin_venue()
    rejection = refused(engine, command)
    assert rejection["field"] == field
    assert reason in rejection["reason"]


def test_a_refused_deposit_does_not_open_the_margin_account() -> None:
    engine = margin_venue()
    refused(engine, {"op": "deposit", "account": "t", "asset": "ETH", "amount": "1", "margin_account": "cross_pro"})
    assert "cross_pro" not in engine.accounts["t"].margin


def test_spot_fill_moves_base_and_quote_and_charges_both_fees_in_quote() -> None:
    engine = margin_venue()
    ok(engine, spot(account="mm", side="sell", price="10000", qty="0.05", id="ask"))
    events = ok(engine, spot(type="market", price=..., qty="0.03"))
    trade = next(event for event in events if event["type"] == "trade")
    # notional 300 USDT; taker 0.1% = 0.3, maker 0.05% = 0.15
    assert (trade["taker_fee"], trade["maker_fee"]) == ("0.3", "0.15")
    state = engine.state()
    assert state["accounts"]["t"]["margin"]["cross"]["assets"] == {"USDT": "699.7", "BTC": "0.03"}
    assert state["accounts"]["mm"]["margin"]["cross"]["assets"] == {"USDT": "50299.85", "BTC": "4.97"}
    assert state["fees"]["USDT"] == "0.45"
    assert state["accounts"]["mm"]["spot_orders"] == [
        {"id": "ask", "market": "BTCUSDT", "margin_account": "cross", "side": "sell", "price": "10000", "qty": "0.02"}]


def test_resting_spot_buy_holds_its_notional_and_maker_fee_until_cancelled() -> None:
    engine = margin_venue()
    ok(engine, spot(price="9990", qty="0.1", id="bid"))  # 999 + 0.4995 maker fee reserved of 1000
    rejection = refused(engine, {"op": "withdraw", "account": "t", "asset": "USDT", "amount": "0.5006",
                                 "margin_account": "cross"})
    assert "holds free: 0.5005" in rejection["reason"]
    ok(engine, {"op": "cancel", "account": "t", "id": "bid"})
    ok(engine, {"op": "withdraw", "account": "t", "asset": "USDT", "amount": "1000", "margin_account": "cross"})
    assert engine.ledger.balance("margin:t:cross", "USDT") == 0


def test_spot_order_id_is_unique_per_account_like_futures() -> None:
    engine = margin_venue()
    ok(engine, spot(id="x1"))
    ok(engine, {"op": "cancel", "account": "t", "id": "x1"})
    assert refused(engine, spot(id="x1"))["field"] == "id"


def test_hourly_interest_rounds_up_per_hour() -> None:
    # 1000 USDT at 0.02%/day: 0.2/24 = 0.008333… USDT an hour → 833334 units (1e-8 USDT)
    assert hourly_interest(1000 * 10**8, Fraction(2, 10000)) == 833334
    assert hourly_interest(24, Fraction(1, 1)) == 1
    assert hourly_interest(25, Fraction(1, 1)) == 2
    assert hourly_interest(0, Fraction(1, 10)) == 0
    loan = Loan(principal=1000 * 10**8, interest=833334, hour=10)
    assert loan.interest_at(10, Fraction(2, 10000)) == 833334
    assert loan.interest_at(12, Fraction(2, 10000)) == 3 * 833334
    assert loan.interest_at(9, Fraction(2, 10000)) == 833334  # never backwards


def test_interest_is_lazy_so_a_refused_command_later_changes_nothing() -> None:
    engine = margin_venue()
    ok(engine, {"op": "set_margin", "interest_daily": {"USDT": "0.001"}})
    ok(engine, {"op": "borrow", "account": "t", "asset": "USDT", "amount": "100", "margin_account": "cross"})
    before = engine.state_hash()
    rejection = engine.apply({"op": "repay", "account": "t", "asset": "USDT", "amount": "1000000",
                              "margin_account": "cross", "time": "2024-02-01T00:00:00Z"})
    assert rejection[0]["type"] == "rejected"
    assert engine.state_hash() == before


def test_margin_settings_defaults_are_seed_003() -> None:
    settings = MarginSettings()
    assert settings.clearance_fee == {"cross": Fraction(2, 100), "cross_pro": Fraction(3, 100),
                                      "isolated": Fraction(2, 100)}
    assert settings.auto_repay_btc == Fraction(1, 10)
    assert settings.withdraw_block_usdt == 10_000
    assert settings.liquidation_level == {"cross": Fraction(11, 10), "cross_pro": Fraction(11, 10),
                                          "isolated": Fraction(11, 10)}
    assert settings.max_leverage == {"cross": 3, "cross_pro": 10, "isolated": 10}
    assert settings.ladder["cross"] == {"transfer_out": 2, "margin_call": Fraction(3, 2),
                                        "no_borrow": Fraction(13, 10)}


def test_margin_settings_accept_one_level_or_one_per_kind() -> None:
    one = MarginSettings().updated({"liquidation_level": "1.05"})
    assert set(one.liquidation_level.values()) == {Fraction(105, 100)}
    per_kind = MarginSettings().updated({"liquidation_level": {"cross_pro": "1.0"}, "clearance_fee": {"cross": "0.01"}})
    assert per_kind.liquidation_level["cross_pro"] == 1 and per_kind.liquidation_level["cross"] == Fraction(11, 10)
    assert per_kind.clearance_fee["cross"] == Fraction(1, 100)
    with pytest.raises(InvalidValue) as error:
        MarginSettings().updated({"liquidation_level": {"spot": "1.1"}})
    assert error.value.field == "margin.liquidation_level.spot"


def test_histories_and_the_margin_fund_chain() -> None:
    result = replay(load("scenarios/margin/withdrawal_limit_family_10001_blocked_up_to_amount.json"))
    engine = result.engine
    assert not result.failures
    history = engine.margin_liquidation_history("s1")
    assert [event["id"] for event in history] == ["ML1"]
    assert history[0]["snapshot"] == {"BTC": "3"} and history[0]["bankrupt_usdt"] == "5000"
    fees = engine.clearance_fee_history("s2")
    assert fees == [{"time": "2020-03-12T00:00:00Z", "liquidation": "ML2", "margin_account": "cross", "rate": "0.02",
                     "assets_value": "15000", "fee": "300", "unpaid": "0"}]
    assert engine.clearance_fee_history("parent") == []
    entries = engine.fund_book.history["margin:USDT"]
    assert [entry["reason"] for entry in entries] == ["clearance_fee", "clearance_fee", "injection", "bankruptcy_repay"]
    assert verify_chain(entries, decimals=8) is None
    assert engine.state()["funds"]["margin:USDT"]["head"] == entries[-1]["hash"]


def test_conservation_with_lending_desk_and_interest_accounts() -> None:
    for path in ("bankruptcy_above_0_1_btc_waits_then_rejected", "interest_accrues_hourly_over_days",
                 "clearance_fee_isolated_2pct_book_then_desk", "ladder_3x_cross"):
        engine = replay(load(f"scenarios/margin/{path}.json")).engine
        totals = engine.ledger.totals()
        for asset, total in totals.items():
            assert total == -engine.ledger.balance(L.EXTERNAL, asset), (path, asset)
        for asset in engine.assets:
            outstanding = sum(margin.loans[asset].principal for account in engine.accounts.values()
                              for margin in account.margin.values() if asset in margin.loans)
            unpaid = sum(b.principal for b in engine.margin_bankruptcies
                         if b.asset == asset and b.status in ("pending", "rejected"))
            assert engine.ledger.balance(L.LENDING, asset) == -(outstanding + unpaid), (path, asset)


def test_margin_calls_are_emitted_again_after_a_recovery() -> None:
    engine = replay(load("scenarios/margin/ladder_3x_cross.json")).engine
    calls = [event["level"] for event in engine.events if event["type"] == "margin_call"]
    assert calls == ["1.5", "1.4"]


@pytest.mark.parametrize("seed", range(4))
def test_margin_index_finds_every_account_a_full_scan_would(seed: int) -> None:
    """Random long/short BTC and ETH margin accounts under random index walks and hours passing: after
    every step no account with loans is at or below its liquidation level (`verify_index` scans all),
    and the index checked far fewer accounts than a scan would."""
    import random

    rng = random.Random(seed)
    engine = Engine()
    engine.verify_index = True
    for asset in ("USDT", "BTC", "ETH"):
        ok(engine, {"op": "add_asset", "asset": asset, "decimals": 8})
    ok(engine, {"op": "set_margin", "interest_daily": {"USDT": "0.01", "BTC": "0.02", "ETH": "0.005"}})
    prices = {"BTC": 10_000.0, "ETH": 500.0}
    for asset, price in prices.items():
        ok(engine, {"op": "index_price", "asset": asset, "price": str(int(price)), "time": 0})
        ok(engine, {"op": "add_market", "market": f"{asset}USDT", "type": "spot", "base": asset, "quote": "USDT",
                    "tick_size": "0.01", "lot_size": "0.0001"})
        ok(engine, {"op": "deposit", "account": "mm", "asset": asset, "amount": "1000", "margin_account": "cross"})
        ok(engine, {"op": "order", "account": "mm", "market": f"{asset}USDT", "margin_account": "cross",
                    "side": "sell", "price": str(int(price)), "qty": "1000"})
    ok(engine, {"op": "deposit", "account": "mm", "asset": "USDT", "amount": "100000000", "margin_account": "cross"})
    for asset, price in prices.items():
        ok(engine, {"op": "order", "account": "mm", "market": f"{asset}USDT", "margin_account": "cross",
                    "side": "buy", "price": str(int(price)), "qty": "1000"})
    for i in range(150):
        name, kind = f"t{i}", rng.choice(["cross", "cross_pro"])
        collateral = rng.choice(["USDT", "BTC", "ETH"])
        amount = {"USDT": "1000", "BTC": "0.1", "ETH": "2"}[collateral]
        ok(engine, {"op": "deposit", "account": name, "asset": collateral, "amount": amount, "margin_account": kind})
        for debt in rng.sample(["USDT", "BTC", "ETH"], rng.randint(1, 2)):
            size = {"USDT": "1500", "BTC": "0.12", "ETH": "2.5"}[debt]
            engine.apply({"op": "borrow", "account": name, "asset": debt, "amount": size, "margin_account": kind})
            # lever up: sell what was borrowed, or buy the collateral with borrowed USDT
            if debt != "USDT":
                engine.apply({"op": "order", "account": name, "market": f"{debt}USDT", "margin_account": kind,
                              "side": "sell", "type": "market", "qty": size})
            elif collateral != "USDT":
                qty = f"{1400 / prices[collateral]:.4f}"
                engine.apply({"op": "order", "account": name, "market": f"{collateral}USDT", "margin_account": kind,
                              "side": "buy", "type": "market", "qty": qty})
    liquidated = 0
    now = 0
    for step in range(300):
        asset = rng.choice(["BTC", "ETH"])
        # a crash, then a squeeze: longs and shorts both get liquidated
        prices[asset] *= rng.uniform(0.86, 1.08) if step < 150 else rng.uniform(0.95, 1.18)
        now += rng.choice([1_000, 60_000, 600_000])
        events = ok(engine, {"op": "index_price", "asset": asset, "price": f"{prices[asset]:.4f}", "time": now})
        liquidated += sum(event["type"] == "margin_liquidation" for event in events)
        totals = engine.ledger.totals()
        assert all(total == -engine.ledger.balance(L.EXTERNAL, name) for name, total in totals.items())
    assert liquidated > 10  # the walk is rough enough to liquidate, so the index was exercised
