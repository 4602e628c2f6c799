"""The issue's Black-Thursday showcase: on the reconstruction of 12 Mar 2020 the fund falls; with the fund
the sweep recommends ADL stays off, with a tenth of it ADL fires; both are in the report."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from solvent.sim.commands import run_sweep
from solvent.sim.runner import Simulation


def test_recommended_fund_keeps_adl_off_and_a_tenth_of_it_does_not(crash_config, tmp_path: Path) -> None:
    result = run_sweep(crash_config, tmp_path, show_progress=False)
    row = result["rows"][0]
    recommended = Decimal(row["recommended_fund"])
    needs = [Decimal(n) for n in row["needs"]]
    # target 0: the recommendation covers the worst of the paths, and the runs there confirm it
    assert recommended == max(needs) > 0
    assert row["p_adl_at_recommended"] == 0.0
    assert row["p_adl"]["1000"] == 1.0  # a much smaller fund: every path deleverages
    contrast = result["contrast"]
    at_recommended, at_tenth = contrast.values()
    assert Decimal(at_recommended["fund_start"]) == recommended
    assert result["contrast_seed"] == result["seeds"][needs.index(max(needs))]  # the worst path
    assert Decimal(at_recommended["fund_min"]) == 0  # the fund falls all the way, exactly ...
    assert at_recommended["adl_count"] == 0  # ... but ADL stays off
    assert at_tenth["adl_count"] > 0 and at_tenth["adl_notional"] > 0
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "RECONSTRUCTION of 12 Mar 2020" in report
    for label in contrast:
        assert label in report
    assert report.count("data:image/png;base64,") == 2
    assert (tmp_path / "contrast_series.png").stat().st_size > 10_000
    import pyarrow.parquet as pq

    runs = pq.read_table(tmp_path / "sweep_runs.parquet").to_pylist()
    assert len(runs) == 3 * 2 and {run["seed"] for run in runs} == {1, 2, 3}


def test_a_fund_one_unit_below_a_paths_need_deleverages_and_at_the_need_does_not(crash_config) -> None:
    probe = Simulation(crash_config, overrides={"fund": "1000000000"}, record=False).run().summary
    need = Decimal(probe["fund_needed"])
    assert probe["adl_count"] == 0 and need > 0
    at_need = Simulation(crash_config, overrides={"fund": str(need)}, record=False).run().summary
    below = Simulation(crash_config, overrides={"fund": str(need - Decimal("0.01"))}, record=False).run().summary
    assert at_need["adl_count"] == 0
    assert Decimal(at_need["fund_min"]) == 0  # exactly used up
    assert below["adl_count"] > 0
    # below the need the engine takes the same liquidations until the fund binds
    assert at_need["liquidations"] == probe["liquidations"]
