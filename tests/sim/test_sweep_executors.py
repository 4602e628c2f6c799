"""A sweep gives identical results for the same seeds serially, in local processes and on Dask."""

from __future__ import annotations

from decimal import Decimal

import pytest

from solvent.sim.sweep import p_adl_at, recommended_fund, sweep, value_at_risk


def test_serial_processes_and_dask_local_cluster_agree(crash_config) -> None:
    distributed = pytest.importorskip("distributed")
    crash_config["sweep"].update({"paths": 2, "grid": {"preset": ["binance", "dydx"]}, "funds": [], "verify": False})
    crash_config["path"]["step_s"] = 240
    serial = sweep(crash_config)
    local = sweep(crash_config, workers=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        on_dask = sweep(crash_config, dask=client)
    assert serial == local == on_dask
    # and the results are not trivially equal: runs differ by seed and by preset
    digests = {run["liquidation_digest"] for run in serial["runs"]}
    assert len(digests) == len(serial["runs"]) == 2 * 2
    assert [row["point"] for row in serial["rows"]] == [{"preset": "binance"}, {"preset": "dydx"}]


def test_quantiles_and_the_recommended_fund_by_hand() -> None:
    needs = [Decimal(v) for v in ("10", "40", "20", "30")] + [None]  # None: ADL even with the probe fund
    # VaR 50%: ceil(0.5·5) = 3rd smallest = 30; ES: mean of 30, 40 and an unbounded path → None
    assert value_at_risk(needs, 0.5) == (Decimal(30), None)
    assert value_at_risk(needs[:4], 0.5) == (Decimal(20), Decimal(30))  # 2nd smallest; mean(20, 30, 40)
    assert recommended_fund(needs[:4], 0.0) == Decimal(40)
    assert recommended_fund(needs[:4], 0.25) == Decimal(30)  # one path in four may exceed
    assert recommended_fund(needs, 0.0) is None  # no fund prevents a book that ran out
    assert p_adl_at(needs, Decimal(25)) == 3 / 5
