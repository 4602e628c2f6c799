"""Simulator benchmarks.

1. A one-day crash at 1-second steps (86,400 steps; the 10 Oct 2025 reconstruction, 121.5k → 102k)
   with 100,000 trader accounts opened through engine commands, two market makers re-quoting, feedback on:
   wall time (goal ≤ 60 s on this 2-core machine), split into set-up (200k+ commands) and the walk.
   Against it, per-account Python loops doing the same check, equity ≤ MM for every account at every
   mark step, timed on the full population for a few marks and multiplied by the mark steps the run sent:
   (a) the engine's own full scan (`underwater_scopes`: the exact check the index replaces) and
   (b) a lean loop over plain Python ints (a lower bound for any per-account loop). Goal ≥ 20×.
2. A sweep (8 seeded crash paths) on a Dask LocalCluster with 2 workers vs 1 worker, one thread each:
   speed-up (goal ≥ 1.8×), results asserted identical; alternating rounds, median, and beside it the
   speed-up of a pure-Python CPU loop on the same clusters (what the machine gives two processes).

    python bench/bench_sim.py [--traders 100000] [--paths 8] [--rounds 3] [--skip-day] [--skip-sweep]

The machine is shared with other work; the load average before and after each part is recorded.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from solvent.engine import ledger as L
from solvent.engine.core import Engine
from solvent.sim.commands import progress_bar
from solvent.sim.config import merged
from solvent.sim.paths import PricePath
from solvent.sim.runner import Simulation
from solvent.sim.sweep import sweep

RESULTS = Path(__file__).resolve().parent / "results"

DAY = {
    "name": "bench-day",
    "seed": 1,
    "fund": "10000000",
    "path": {"kind": "reconstruction", "event": "2025-10-10", "step_s": 1},
    "population": {"traders": 100_000, "size_median": 0.01, "leverage": [2, 3, 5, 10, 20, 50],
                   "leverage_weights": [0.2, 0.2, 0.25, 0.2, 0.1, 0.05], "entry_spread": 0.01, "entry_levels": 41},
    "makers": {"depth": 2, "stub_depth": 500},
    "run": {"funding_every_s": 0},
}

SWEEP = {
    "name": "bench-sweep",
    "seed": 1,
    "fund": "20000",
    "path": {"kind": "reconstruction", "event": "2020-03-12", "step_s": 30},
    "population": {"traders": 400, "size_median": 0.3, "leverage": [5, 10, 20, 25, 50, 100],
                   "leverage_weights": [0.1, 0.3, 0.3, 0.1, 0.15, 0.05], "entry_spread": 0.02, "entry_levels": 41},
    "makers": {"levels": 5, "depth": 0.5, "thinning": 1.5, "calm_vol": 0.5, "stub_offset": 0.06, "stub_depth": 200},
    "feedback": {"impact": 0.5, "max_impact": 0.05},
    "sweep": {"paths": 8, "adl_target": 0.0, "funds": [], "grid": {}, "verify": False},
}


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def lean_arrays(engine: Engine, market_name: str) -> tuple[list[int], list[int], list[int]]:
    """Per account: signed lots, cost (lots·entry ticks) and margin (isolated) or wallet (cross), in units."""
    qty, cost, money = [], [], []
    settle = engine.markets[market_name].settle.name
    for account, position in engine.open_positions(market_name):
        if account.id.startswith("t"):
            holder = L.isolated(account.id, market_name) if position.mode == "isolated" else L.trader(account.id)
            qty.append(position.qty)
            cost.append(int(position.cost))
            money.append(engine.ledger.balance(holder, settle))
    return qty, cost, money


def lean_scan(qty: list[int], cost: list[int], money: list[int], mark: int, scale: int, mmr_num: int,
              mmr_den: int) -> int:
    """The plain loop: equity ≤ MM per account, exact ints (uPnL = s·(|q|·mark − cost), MM = |q|·mark·mmr)."""
    under = 0
    for q, c, m in zip(qty, cost, money, strict=True):
        equity = m + ((q * mark - c) if q > 0 else (c + q * mark)) * scale
        if equity * mmr_den <= abs(q) * mark * scale * mmr_num:
            under += 1
    return under


def day(traders: int, console: Console) -> dict[str, Any]:
    config = merged({**DAY, "population": {**DAY["population"], "traders": traders}})
    baseline: dict[str, Any] = {}

    def scan(engine: Engine, path: PricePath) -> None:
        market = engine.markets["BTCUSDT"]
        marks = [round(float(path.prices[k]) / float(market.tick_size)) for k in (0, 10, 20)]
        started = time.perf_counter()
        engine.marks[market.name] = marks[1]
        assert engine.underwater_scopes(market) == []  # one step: at 1e5 accounts it takes seconds
        baseline["engine_scan_s_per_step"] = time.perf_counter() - started
        engine.marks[market.name] = marks[0]
        qty, cost, money = lean_arrays(engine, market.name)
        tier = market.tiers[0]
        started = time.perf_counter()
        for mark in marks:
            assert lean_scan(qty, cost, money, mark, int(market.scale_int), tier.mmr.numerator,
                             tier.mmr.denominator) == 0
        baseline["lean_scan_s_per_step"] = (time.perf_counter() - started) / len(marks)
        baseline["accounts_scanned"] = len(qty)

    before = load()
    simulation = Simulation(config, record=False, hash_state=False)
    cpu_started = time.process_time()
    started = time.perf_counter()
    with progress_bar(console, f"one day, 1 s steps, {traders:,} traders") as update:
        result = simulation.run(update, on_ready=scan)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    summary = result.summary
    assert summary["steps"] == 86_400 and summary["traders"] == traders and summary["rejected"] == 0
    assert summary["liquidations"] > traders // 10, summary["liquidations"]
    wall -= baseline["engine_scan_s_per_step"] + baseline["lean_scan_s_per_step"] * 3  # the hook's own time
    steps = summary["mark_steps"]
    cpu -= baseline["engine_scan_s_per_step"] + baseline["lean_scan_s_per_step"] * 3
    out = {"traders": traders, "steps": summary["steps"], "mark_steps": steps, "wall_s": round(wall, 2),
           "cpu_s": round(cpu, 2),
           "setup_s": round(simulation.timings["setup_s"], 2), "walk_s": round(simulation.timings["loop_s"], 2),
           "liquidations": summary["liquidations"], "adl_count": summary["adl_count"],
           "fund_start": summary["fund_start"], "fund_end": summary["fund_end"],
           "engine_scan_ms_per_step": round(baseline["engine_scan_s_per_step"] * 1e3, 2),
           "lean_scan_ms_per_step": round(baseline["lean_scan_s_per_step"] * 1e3, 2),
           "accounts_scanned": baseline["accounts_scanned"], "load_before": before, "load_after": load()}
    out["engine_scan_total_s"] = round(baseline["engine_scan_s_per_step"] * steps, 1)
    out["lean_scan_total_s"] = round(baseline["lean_scan_s_per_step"] * steps, 1)
    out["ratio_vs_engine_scan"] = round(out["engine_scan_total_s"] / wall, 1)
    out["ratio_vs_lean_loop"] = round(out["lean_scan_total_s"] / wall, 1)
    return out


def spin(n: int) -> int:
    """Pure-Python CPU work: what two workers can gain on this machine at best."""
    total = 0
    for i in range(n):
        total += i * i
    return total


def sweep_speedup(paths: int, rounds: int, console: Console) -> dict[str, Any]:
    """Both clusters stay up; each round runs the sweep (and a pure CPU loop) on 1 worker then on 2, so a
    change of the machine's load hits both sides alike. Median over the rounds."""
    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.CRITICAL)  # shutdown chatter of the local clusters
    config = merged({**SWEEP, "sweep": {**SWEEP["sweep"], "paths": paths}})
    out: dict[str, Any] = {"paths": paths, "rounds": [], "load_before": load()}
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as one, \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as two, \
            Client(one) as client_1, Client(two) as client_2:
        reference = None
        for round_number in range(rounds):
            row: dict[str, Any] = {}
            for workers, client in ((1, client_1), (2, client_2)):
                started = time.perf_counter()
                client.gather(client.map(spin, [6_000_000] * 8, pure=False))
                row[f"cpu_loop_{workers}_s"] = round(time.perf_counter() - started, 2)
                with progress_bar(console, f"round {round_number + 1}: sweep of {paths} paths on {workers} "
                                           f"Dask worker(s)") as update:
                    started = time.perf_counter()
                    result = sweep(config, dask=client, progress=update)
                    row[f"sweep_{workers}_s"] = round(time.perf_counter() - started, 2)
                reference = reference or result
                assert result == reference
            row["speedup"] = round(row["sweep_1_s"] / row["sweep_2_s"], 2)
            row["cpu_loop_speedup"] = round(row["cpu_loop_1_s"] / row["cpu_loop_2_s"], 2)
            out["rounds"].append(row)
    serial_started = time.perf_counter()
    assert sweep(config) == reference
    out["serial_s"] = round(time.perf_counter() - serial_started, 2)
    out["speedup_2_vs_1"] = statistics.median(row["speedup"] for row in out["rounds"])
    out["cpu_loop_speedup_2_vs_1"] = statistics.median(row["cpu_loop_speedup"] for row in out["rounds"])
    out["load_after"] = load()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--traders", type=int, default=100_000)
    parser.add_argument("--paths", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-day", action="store_true")
    parser.add_argument("--skip-sweep", action="store_true")
    args = parser.parse_args()
    console = Console()
    file = RESULTS / "sim.json"
    result: dict[str, Any] = json.loads(file.read_text()) if file.exists() else {}
    if not args.skip_day:
        result["day"] = day(args.traders, console)
        d = result["day"]
        table = Table(title="one-day crash, 86,400 one-second steps")
        table.add_column("measure")
        table.add_column("value", justify="right")
        for key, value in d.items():
            table.add_row(key, str(value))
        console.print(table)
    if not args.skip_sweep:
        result["sweep"] = sweep_speedup(args.paths, args.rounds, console)
        s = result["sweep"]
        for row in s["rounds"]:
            console.print(f"sweep of {s['paths']} paths: 1 worker {row['sweep_1_s']} s, 2 workers {row['sweep_2_s']} s "
                          f"= {row['speedup']}x; pure CPU loop {row['cpu_loop_speedup']}x")
        console.print(f"median: sweep {s['speedup_2_vs_1']}x, pure CPU loop {s['cpu_loop_speedup_2_vs_1']}x "
                      f"(serial in-process {s['serial_s']} s)")
    RESULTS.mkdir(exist_ok=True)
    file.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
