"""Insurance funds (SPEC §5): hash-chained history and verify, capacity with the drawdown rule,
daily reports and health signals, with worked numbers."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

from typer.testing import CliRunner

from solvent import scenario
from solvent.cli import app
from solvent.engine.funds import GENESIS, chain_hash, floor_units, verify_chain
from solvent.engine.reports import coverage, fund_daily_reports, health
from tests.helpers import ok, trade, venue

ROOT = Path(__file__).resolve().parent.parent
SEED004_MINUS_20 = ROOT / "scenarios" / "liquidation" / "seed004_long_closes_at_6930_fund_minus_20.json"


def history_of(path: Path) -> dict[str, list[dict[str, object]]]:
    return scenario.replay(scenario.load(path)).engine.fund_book.history


def test_each_entry_hashes_the_previous_hash_and_its_canonical_json() -> None:
    entries = history_of(SEED004_MINUS_20)["BTCUSDT"]
    previous = GENESIS
    for entry in entries:
        body = {key: value for key, value in entry.items() if key != "hash"}
        assert entry["hash"] == chain_hash(previous, body)
        previous = str(entry["hash"])
    assert [entry["reason"] for entry in entries] == ["injection", "liquidation_deficit"]
    assert verify_chain(entries) is None


def test_verify_finds_a_rewritten_delta_even_with_its_own_hash_recomputed() -> None:
    entries = [dict(entry) for entry in history_of(SEED004_MINUS_20)["BTCUSDT"]]
    entries[1]["delta"] = "-2"  # hide most of the deficit
    broken = verify_chain(entries)
    assert broken is not None and broken.index == 1 and "hash" in broken.reason
    entries[1]["hash"] = chain_hash(str(entries[0]["hash"]), entries[1])  # a careful forger
    broken = verify_chain(entries)
    assert broken is not None and broken.index == 1 and "balance_after" in broken.reason


def test_solvent_verify_accepts_the_published_history_and_rejects_a_tampered_one(tmp_path: Path) -> None:
    published = tmp_path / "funds.json"
    runner = CliRunner()
    result = runner.invoke(app, ["replay", "-q", "--funds", str(published), str(SEED004_MINUS_20)])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["verify", str(published)]).exit_code == 0
    document = json.loads(published.read_text())
    document["BTCUSDT"][0]["balance_after"] = "200000"
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(document))
    result = runner.invoke(app, ["verify", str(tampered)])
    assert result.exit_code == 1
    assert "BROKEN BTCUSDT: entry 0" in result.output


def test_floor_is_the_larger_of_min_balance_and_the_drawdown_floor() -> None:
    # peak 1,000 with a 30% drawdown rule: the fund may spend down to 700 (rounded up for the fund).
    assert floor_units(1000, 0, Fraction(3, 10)) == 700
    assert floor_units(1000, 800, Fraction(3, 10)) == 800
    assert floor_units(1001, 0, Fraction(3, 10)) == 701  # 700.7 → 701
    assert floor_units(1000, 50, None) == 50


def test_drawdown_window_peak_is_the_highest_balance_held_in_the_window() -> None:
    # 1,000 injected at t=0, +500 at 1 h (peak 1,500), −900 deficit... capacity is against 70% of 1,500.
    engine = venue(fund_balance="1000")
    ok(engine, {"op": "set_policy", "fund_max_drawdown": "0.3", "fund_drawdown_window_s": 28800})
    ok(engine, {"op": "fund_deposit", "fund": "BTCUSDT", "amount": "500", "time": 3_600_000})
    assert engine.fund_capacity("BTCUSDT") == 450 * 10**8  # 1,500 − 1,050
    # 9 h later the 1,000-then-1,500 history is out of the window but the balance itself is the peak
    ok(engine, {"op": "mark_price", "market": "BTCUSDT", "price": "7000", "time": 3_600_000 + 9 * 3_600_000})
    assert engine.fund_capacity("BTCUSDT") == 450 * 10**8


def test_daily_report_of_seed004_deficit() -> None:
    engine = scenario.replay(scenario.load(SEED004_MINUS_20)).engine
    [day] = fund_daily_reports(engine)["BTCUSDT"]
    assert day == {"day": "2020-03-12", "opening_balance": "0", "closing_balance": "99980", "inflow": "100000",
                   "outflow": "20", "net": "99980", "liquidations": 1, "liquidation_notional": "7000",
                   "deficits_covered": "20", "adl_count": 0, "adl_notional": "0"}


def test_coverage_is_the_largest_move_whose_bankruptcies_the_fund_pays() -> None:
    # One isolated long of 1 BTC at 7,500 with 550 margin: BP 6,950. Mark 7,000, fund 20 USDT:
    # a fall to P costs the fund 6,950 − P, so it covers P ≥ 6,930: a move of 1 − 6,930/7,000 = 1%.
    engine = venue(fund_balance="20", maker_fee="0", taker_fee="0")
    ok(engine, {"op": "deposit", "account": "a", "asset": "USDT", "amount": "1000"})
    ok(engine, {"op": "deposit", "account": "b", "asset": "USDT", "amount": "100000"})
    trade(engine, "a", "b", "7500", "1", buyer_order={"margin_mode": "isolated", "leverage": 20})
    ok(engine, {"op": "margin", "account": "a", "market": "BTCUSDT", "amount": "175"})
    ok(engine, {"op": "mark_price", "market": "BTCUSDT", "price": "7001"})
    market = engine.markets["BTCUSDT"]
    # from 7,001: 6,930/7,001 = 0.98986 → 1.0141%
    assert abs(coverage(engine, market, with_depth=False) - 1.01) < 0.01
    # with no bids at all, every lot closes at nothing: any move that bankrupts costs all of it
    assert coverage(engine, market, with_depth=True) <= coverage(engine, market, with_depth=False)
    signals = health(engine)["BTCUSDT"]
    assert signals["adl_risk"] == "high" and signals["open_interest"] == "1"


def test_verify_with_the_published_head_catches_a_history_cut_short(tmp_path: Path) -> None:
    # The chain alone cannot see that its last entries were dropped; the venue's published head can.
    published = tmp_path / "funds.json"
    runner = CliRunner()
    assert runner.invoke(app, ["replay", "-q", "--funds", str(published), str(SEED004_MINUS_20)]).exit_code == 0
    document = json.loads(published.read_text())
    head = document["BTCUSDT"][-1]["hash"]
    assert runner.invoke(app, ["verify", str(published), "--head", f"BTCUSDT={head}"]).exit_code == 0
    document["BTCUSDT"].pop()
    cut = tmp_path / "cut.json"
    cut.write_text(json.dumps(document))
    assert runner.invoke(app, ["verify", str(cut)]).exit_code == 0  # the chain itself still holds
    result = runner.invoke(app, ["verify", str(cut), "--head", f"BTCUSDT={head}"])
    assert result.exit_code == 1
    assert "not the published head" in result.output
