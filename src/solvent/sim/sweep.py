"""Monte Carlo and sweeps: N seeded paths × a grid of knobs, run serially, in local processes or on Dask.

Each task is (seed, overrides) and runs one `Simulation` from nothing: its result depends on nothing
else, so the same tasks give the same results whichever way they are run (and in the order they were
listed, whatever order they finished in).

Per grid point:

* every path runs once with a *probe* fund so large that it never binds; the run records the smallest
  starting fund that would never have bound (`fund_needed`, exact: with any fund at least that large
  the engine takes exactly the same steps, so no ADL is ever needed for want of a fund);
* `P(ADL)` at a fund F is the share of paths whose need exceeds F (or that deleveraged even with the
  probe: the book itself ran out), measured directly at each fund of `sweep.funds`;
* fund drawdown quantiles: VaR_q is the q-quantile of the needs, ES_q the mean of the needs at or
  beyond it;
* the recommended fund is the smallest F with P(ADL) ≤ `adl_target`; with `verify`, every path runs
  again at that fund and P(ADL) there is measured, not inferred.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from solvent.sim.runner import Simulation

#: the summary fields a sweep keeps from each run (all deterministic: no wall time)
KEPT = ("seed", "fund_start", "fund_end", "fund_min", "fund_drawdown", "fund_needed", "liquidations",
        "liquidated_notional", "deficits", "adl_count", "adl_notional", "adl_fired", "socialized_loss", "unclosed",
        "liquidation_digest", "state_hash", "mark_min")

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Task:
    seed: int
    overrides: tuple[tuple[str, Any], ...]


def run_task(config: dict[str, Any], task: Task) -> dict[str, Any]:
    """One run, reduced to its deterministic summary fields."""
    result = Simulation(config, task.seed, dict(task.overrides), record=False).run()
    return {key: result.summary[key] for key in KEPT}


def grid_points(grid: dict[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values (sorted by knob name), or one empty point."""
    names = sorted(grid)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*(grid[name] for name in names))]


def run_tasks(config: dict[str, Any], tasks: list[Task], *, workers: int = 1, dask: str | Any | None = None,
              progress: Progress | None = None) -> list[dict[str, Any]]:
    """Run tasks serially (workers=1), in `workers` local processes, or on a Dask scheduler (`dask` is an
    address or a `distributed.Client`); results in task order."""
    total = len(tasks)
    if dask is not None:
        return _run_dask(config, tasks, dask, progress)
    if workers <= 1:
        out = []
        for done, task in enumerate(tasks, 1):
            out.append(run_task(config, task))
            if progress is not None:
                progress(done, total)
        return out
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run_task, config, task) for task in tasks]
        out = []
        for done, future in enumerate(futures, 1):
            out.append(future.result())
            if progress is not None:
                progress(done, total)
        return out


def _run_dask(config: dict[str, Any], tasks: list[Task], dask: str | Any, progress: Progress | None
              ) -> list[dict[str, Any]]:
    from distributed import Client, as_completed

    client = Client(dask) if isinstance(dask, str) else dask
    try:
        futures = [client.submit(run_task, config, task, pure=False) for task in tasks]
        done = 0
        for _ in as_completed(futures):
            done += 1
            if progress is not None:
                progress(done, len(tasks))
        return list(client.gather(futures))
    finally:
        if isinstance(dask, str):
            client.close()


def sweep(config: dict[str, Any], *, workers: int = 1, dask: str | Any | None = None,
          progress: Progress | None = None) -> dict[str, Any]:
    """The whole sweep of `config["sweep"]`: per grid point, P(ADL), drawdown quantiles, the recommended fund."""
    spec = config["sweep"]
    seeds = [int(config["seed"]) + k for k in range(int(spec["paths"]))]
    points = grid_points(spec.get("grid") or {})
    funds = [str(fund) for fund in (spec.get("funds") or [])]
    probe = str(spec["probe_fund"])
    tasks: list[Task] = []
    for point in points:
        for fund in [probe, *funds]:
            tasks.extend(Task(seed, _key({**point, "fund": fund})) for seed in seeds)
    first = run_tasks(config, tasks, workers=workers, dask=dask, progress=progress)
    by_task = dict(zip(tasks, first, strict=True))
    target = float(spec["adl_target"])
    rows = []
    for point in points:
        probes = [by_task[Task(seed, _key({**point, "fund": probe}))] for seed in seeds]
        needs = [Decimal(run["fund_needed"]) if not run["adl_fired"] else None for run in probes]
        row: dict[str, Any] = {"point": point, "paths": len(seeds), "needs": [_text(n) for n in needs]}
        for level in (0.95, 0.99):
            var, es = value_at_risk(needs, level)
            row[f"var_{round(level * 100)}"] = _text(var)
            row[f"es_{round(level * 100)}"] = _text(es)
        row["recommended_fund"] = _text(recommended_fund(needs, target))
        row["p_adl"] = {fund: sum(by_task[Task(seed, _key({**point, "fund": fund}))]["adl_fired"] for seed in seeds)
                        / len(seeds) for fund in funds}
        row["p_adl_inferred"] = {fund: p_adl_at(needs, Decimal(fund)) for fund in funds}
        row["mean_liquidations"] = sum(run["liquidations"] for run in probes) / len(probes)
        row["mean_deficits"] = str(sum(Decimal(run["deficits"]) for run in probes) / len(probes))
        rows.append(row)
    if spec.get("verify"):
        verify_tasks = [Task(seed, _key({**row["point"], "fund": row["recommended_fund"]}))
                        for row in rows if row["recommended_fund"] is not None for seed in seeds]
        verified = run_tasks(config, verify_tasks, workers=workers, dask=dask, progress=progress)
        fired = dict(zip(verify_tasks, verified, strict=True))
        for row in rows:
            if row["recommended_fund"] is not None:
                runs = [fired[Task(seed, _key({**row["point"], "fund": row["recommended_fund"]}))] for seed in seeds]
                row["p_adl_at_recommended"] = sum(run["adl_fired"] for run in runs) / len(runs)
    return {"seeds": seeds, "adl_target": target, "probe_fund": probe, "funds": funds, "rows": rows,
            "runs": [{"seed": task.seed, "overrides": dict(task.overrides), **result}
                     for task, result in zip(tasks, first, strict=True)]}


def value_at_risk(needs: list[Decimal | None], level: float) -> tuple[Decimal | None, Decimal | None]:
    """(VaR, ES) of the fund drawdowns at `level`: the ceil(level·N)-th smallest need and the mean of the
    needs from it up. A path that deleveraged even with the probe fund counts as unbounded (None)."""
    if not needs:
        return None, None
    ordered = sorted(needs, key=lambda n: (n is None, n or 0))
    k = max(1, math.ceil(level * len(ordered))) - 1
    tail = ordered[k:]
    if any(n is None for n in tail):
        return ordered[k], None
    return ordered[k], sum((n for n in tail if n is not None), Decimal(0)) / len(tail)


def recommended_fund(needs: list[Decimal | None], target: float) -> Decimal | None:
    """The smallest fund F with share(need > F) ≤ target; None if the unbounded paths alone exceed it."""
    allowed = math.floor(target * len(needs) + 1e-9)
    ordered = sorted(needs, key=lambda n: (n is None, n or 0))
    index = len(ordered) - 1 - allowed
    if index < 0:
        return Decimal(0)
    return ordered[index]


def p_adl_at(needs: list[Decimal | None], fund: Decimal) -> float:
    return sum(1 for n in needs if n is None or n > fund) / len(needs) if needs else 0.0


def _key(overrides: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(overrides.items()))


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
