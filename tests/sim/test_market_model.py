"""Makers thin with volatility, liquidations move the mark (feedback), the population opens as sampled,
and configs refuse what they do not know."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from solvent.cli import app
from solvent.engine.core import Engine
from solvent.sim.config import ConfigError, merged, with_overrides
from solvent.sim.makers import Makers, ewma_volatility
from solvent.sim.population import sample_traders
from solvent.sim.runner import Simulation, venue_document


def _market():
    engine = Engine()
    engine.apply({"op": "add_asset", "asset": "USDT"})
    engine.apply({"op": "add_asset", "asset": "BTC"})
    market = dict(merged({})["market"])
    market.pop("name")
    engine.apply({"op": "add_market", "market": "BTCUSDT", **market})
    return engine.markets["BTCUSDT"]


def _resting_lots(commands: list[dict]) -> float:
    return sum(float(c["qty"]) for c in commands if c["op"] == "order" and c["side"] == "buy")


def test_makers_rest_less_and_wider_when_volatility_rises() -> None:
    spec = merged({})["makers"]
    calm = Makers(spec, _market()).requote(100_000, 0.3, 0)
    storm = Makers(spec, _market()).requote(100_000, 2.4, 0)
    stub = 2 * spec["stub_depth"]
    assert _resting_lots(storm) - stub < (_resting_lots(calm) - stub) / 3
    best_bid = lambda commands: max(float(c["price"]) for c in commands if c["side"] == "buy")  # noqa: E731
    assert best_bid(storm) < best_bid(calm) < 10_000


def test_requote_cancels_what_is_still_resting() -> None:
    makers = Makers(merged({})["makers"], _market())
    first = makers.requote(100_000, 0.3, 0)
    second = makers.requote(100_100, 0.3, 1000)
    cancels = [c for c in second if c["op"] == "cancel"]
    assert len(cancels) == sum(1 for c in first if c["op"] == "order")


def test_ewma_volatility_rises_after_a_jump() -> None:
    prices = np.full(600, 100.0)
    prices[300:] = 90.0
    vol = ewma_volatility(prices, 1, 60, 0.5)
    assert vol[299] < 0.5 < vol[301]


def test_feedback_drags_the_mark_below_the_path_and_adds_liquidations(crash_config) -> None:
    with_feedback = Simulation(crash_config, overrides={"fund": "1000000000"}, record=False).run()
    without = Simulation(crash_config, overrides={"fund": "1000000000", "feedback.impact": 0}, record=False).run()
    assert without.summary["max_impact_bps"] == 0
    assert np.allclose(without.series["mark"], without.series["price"], rtol=1e-4)
    assert with_feedback.summary["max_impact_bps"] > 50
    assert float((with_feedback.series["mark"] / with_feedback.series["price"]).min()) < 0.995
    assert with_feedback.summary["liquidations"] >= without.summary["liquidations"]
    assert float(with_feedback.summary["deficits"]) > float(without.summary["deficits"])


def test_population_follows_its_distributions(crash_config) -> None:
    spec = {**crash_config["population"], "traders": 4000, "long_share": 0.8, "cross_share": 0.25}
    traders = sample_traders(spec, _market(), 8000.0, 1)
    assert len(traders) == 4000
    assert sum(t.side > 0 for t in traders) / 4000 == pytest.approx(0.8, abs=0.03)
    assert sum(t.mode == "cross" for t in traders) / 4000 == pytest.approx(0.25, abs=0.03)
    assert {t.leverage for t in traders} <= {5, 10, 20, 25, 50, 100} | set(range(1, 100))
    assert sample_traders(spec, _market(), 8000.0, 1) == traders


def test_positions_csv_population(tmp_path: Path, crash_config) -> None:
    csv_file = tmp_path / "positions.csv"
    csv_file.write_text("account,side,qty,leverage,margin_mode,entry_price\n"
                        "whale,long,5,20,cross,7900\nsmall,short,0.01,10,isolated,\n")
    config = with_overrides(crash_config, {"population.positions_csv": str(csv_file), "makers.count": 1})
    simulation = Simulation(config, overrides={"fund": "1000000000"})
    result = simulation.run()
    state = simulation.engine.state()
    # the whale's 20x long from 7,900 is liquidated on the way to 4,644; the short survives
    assert any(event["account"] == "whale" for event in result.liquidations)
    assert state["accounts"]["small"]["positions"]["BTCUSDT"]["qty"] == "-0.01"


def test_config_refuses_unknown_keys_and_knobs() -> None:
    with pytest.raises(ConfigError, match="unknown config key"):
        merged({"pathh": {}})
    with pytest.raises(ConfigError, match="unknown keys"):
        merged({"makers": {"dept": 1}})
    with pytest.raises(ConfigError, match="unknown knobs"):
        merged({"policy": {"adl_ranking": "x"}})
    with pytest.raises(ConfigError, match="linear markets only"):
        merged({"market": {"type": "inverse"}})
    config = with_overrides(merged({}), {"fund": 5, "preset": "dydx", "max_slippage": "0.05", "makers.depth": 1})
    assert venue_document(config)["funds"]["BTCUSDT"]["balance"] == "5"
    assert config["policy"] == {"preset": "dydx", "max_slippage": "0.05"} and config["makers"]["depth"] == 1


def test_cli_simulate_writes_every_output_and_the_scenario_replays(tmp_path: Path) -> None:
    from tests.sim.conftest import CRASH

    config_file = tmp_path / "crash.json"
    config_file.write_text(json.dumps({**CRASH, "path": {**CRASH["path"], "step_s": 120}}))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["simulate", str(config_file), "-o", str(out), "--set", "fund=3000"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["fund_start"] == "3000"
    for name in ("series.csv", "series.parquet", "scenario.json", "report.html", "plots.png"):
        assert (out / name).stat().st_size > 0
    import pyarrow.parquet as pq

    table = pq.read_table(out / "series.parquet")
    assert table.num_rows == len((out / "series.csv").read_text().splitlines()) - 1
    assert "fund" in table.column_names and "adl_count" in table.column_names
    replayed = CliRunner().invoke(app, ["replay", "-q", "--hash", str(out / "scenario.json")])
    assert replayed.exit_code == 0 and summary["state_hash"] in replayed.output


def test_cli_compare_puts_policies_side_by_side(tmp_path: Path) -> None:
    from tests.sim.conftest import CRASH

    config_file = tmp_path / "crash.json"
    config_file.write_text(json.dumps({**CRASH, "fund": "3000", "path": {**CRASH["path"], "step_s": 120}}))
    out = tmp_path / "cmp"
    result = CliRunner().invoke(app, ["compare", str(config_file), "--policies", "binance,drift", "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = json.loads((out / "compare.json").read_text())
    assert [row["label"] for row in rows] == ["binance", "drift"]
    # drift socializes what the fund cannot pay instead of deleveraging
    assert rows[0]["adl_count"] > 0 and rows[1]["adl_count"] == 0
    assert float(rows[1]["socialized_loss"]) > 0 and float(rows[0]["socialized_loss"]) == 0
    import pyarrow.parquet as pq

    assert set(pq.read_table(out / "compare_series.parquet").column("label").to_pylist()) == {"binance", "drift"}
    report = (out / "report.html").read_text()
    assert "binance" in report and "drift" in report and report.count("data:image/png") == 2


@pytest.mark.parametrize("name", ["black_thursday.toml", "oct10_2025.yaml", "hourly_candles.json",
                                  "monte_carlo_jumps.toml"])
def test_example_configs_load_and_build_their_paths(name: str) -> None:
    from solvent.sim.config import load_config
    from solvent.sim.paths import build_path

    config = load_config(Path(__file__).resolve().parents[2] / "examples" / "sim" / name)
    path = build_path(config["path"], int(config["seed"]), Path(config["_base_dir"]))
    assert path.seconds >= 86_400 - config["path"]["step_s"] and np.all(path.prices > 0)


def test_population_tier_lookup_matches_the_engines() -> None:
    from solvent.sim.population import _tier_at

    market = _market()
    for notional in (0, 5 * 10**12, 5 * 10**12 + 1, 10**14, 6 * 10**16, 10**20):
        assert _tier_at(market, notional) is market.tier_at(notional)
