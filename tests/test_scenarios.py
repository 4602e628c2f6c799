"""Every scenario file under scenarios/ replays with `solvent replay --check` and passes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from solvent import scenario
from solvent.cli import app

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted(scenario.scenario_files([ROOT / "scenarios"]))


def test_there_are_scenarios_in_every_format() -> None:
    assert {path.suffix for path in FILES} >= {".json", ".toml", ".yaml"}


@pytest.mark.parametrize("path", FILES, ids=[str(path.relative_to(ROOT)) for path in FILES])
def test_scenario_replays_with_check(path: Path) -> None:
    result = CliRunner().invoke(app, ["replay", "--check", str(path)])
    assert result.exit_code == 0, result.output
    output = json.loads(result.stdout)
    assert set(output) == {"events", "state"}
    assert [event["seq"] for event in output["events"]] == list(range(1, len(output["events"]) + 1))


def test_a_failed_expect_exits_1_with_path_expected_and_actual(tmp_path: Path) -> None:
    document = {"assets": {"USDT": 8},
                "steps": [{"op": "deposit", "account": "a", "asset": "USDT", "amount": "10"},
                          {"op": "expect", "path": "accounts.a.balances.USDT", "equals": "11"}]}
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps(document))
    result = CliRunner().invoke(app, ["replay", "--check", "--quiet", str(path)])
    assert result.exit_code == 1
    assert "accounts.a.balances.USDT" in result.output
    assert '"11"' in result.output and '"10"' in result.output


def test_rejected_steps_carry_their_index_and_replay_goes_on() -> None:
    document = {"assets": {"USDT": 8},
                "steps": [{"op": "deposit", "account": "a", "asset": "USDT", "amount": "-1"},
                          {"op": "deposit", "account": "a", "asset": "USDT", "amount": "1"}]}
    result = scenario.replay(document)
    rejected = [event for event in result.engine.events if event["type"] == "rejected"]
    assert rejected == [{"seq": rejected[0]["seq"], "time": "1970-01-01T00:00:00Z", "type": "rejected",
                         "op": "deposit", "field": "amount", "reason": "must be positive, got '-1'", "step": 0}]
    assert result.engine.state()["accounts"]["a"]["balances"]["USDT"] == "1"


def test_same_file_same_bytes() -> None:
    path = ROOT / "scenarios" / "engine" / "spec4_isolated_long_lp_7000_bp_6950.json"
    first = json.dumps(scenario.replay(scenario.load(path)).output(), sort_keys=True)
    second = json.dumps(scenario.replay(scenario.load(path)).output(), sort_keys=True)
    assert first == second
