"""What `solvent simulate`, `solvent compare` and `solvent sweep` do (the CLI only parses arguments)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from solvent.sim.config import with_overrides
from solvent.sim.report import write_comparison, write_run_outputs, write_sweep
from solvent.sim.runner import Result, Simulation
from solvent.sim.sweep import sweep


@contextmanager
def progress_bar(console: Console, description: str, enabled: bool = True) -> Iterator[Any]:
    """A rich progress bar; yields `update(done, total)`."""
    if not enabled:
        yield lambda done, total: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def simulate(config: dict[str, Any], out: Path, *, seed: int | None = None, overrides: dict[str, Any] | None = None,
             console: Console | None = None, show_progress: bool = True) -> Result:
    console = console or Console(stderr=True)
    simulation = Simulation(config, seed, overrides)
    with progress_bar(console, f"simulating {config['name']}", show_progress) as update:
        result = simulation.run(update)
    outputs = config["outputs"]
    write_run_outputs(result, out, parquet=bool(outputs["parquet"]), report=bool(outputs["report"]),
                      scenario=bool(outputs["scenario"]))
    return result


def compare(config: dict[str, Any], out: Path, policies: list[Any] | None = None, *, seed: int | None = None,
            console: Console | None = None, show_progress: bool = True) -> dict[str, Result]:
    """One path and population under each policy: a preset name or a table of overrides (with `label`)."""
    console = console or Console(stderr=True)
    chosen = policies if policies is not None else (config["compare"].get("policies") or [])
    if not chosen:
        chosen = ["binance", "bybit", "okx", "bitmex", "dydx", "hyperliquid", "drift"]
    results: dict[str, Result] = {}
    for item in chosen:
        overrides = {"preset": item} if isinstance(item, str) else {k: v for k, v in item.items() if k != "label"}
        label = item if isinstance(item, str) else str(item.get("label") or overrides)
        with progress_bar(console, f"policy {label}", show_progress) as update:
            results[label] = Simulation(config, seed, overrides, record=False).run(update)
    write_comparison(results, out, f"solvent policy comparison: {config['name']}")
    return results


def run_sweep(config: dict[str, Any], out: Path, *, workers: int = 1, dask: str | None = None,
              contrast_factor: float = 10.0, console: Console | None = None, show_progress: bool = True
              ) -> dict[str, Any]:
    """The sweep, then (first grid point) its worst path (the one whose need set the recommendation) at the
    recommended fund and at recommended/factor."""
    console = console or Console(stderr=True)
    with progress_bar(console, f"sweep {config['name']}", show_progress) as update:
        result = sweep(config, workers=workers, dask=dask, progress=update)
    contrast: dict[str, Result] = {}
    first = result["rows"][0] if result["rows"] else None
    if first is not None and first["recommended_fund"] not in (None, "0"):
        recommended = Decimal(first["recommended_fund"])
        smaller = (recommended / Decimal(str(contrast_factor))).quantize(Decimal("0.01"))
        point_config = with_overrides(config, first["point"])
        bounded = [(Decimal(need), seed) for need, seed in zip(first["needs"], result["seeds"], strict=True)
                   if need is not None and Decimal(need) <= recommended]
        worst_seed = max(bounded)[1] if bounded else int(config["seed"])
        for label, fund in ((f"recommended fund {recommended:,.2f}", recommended),
                            (f"fund / {contrast_factor:g} = {smaller:,.2f}", smaller)):
            with progress_bar(console, label, show_progress) as update:
                contrast[label] = Simulation(point_config, worst_seed, {"fund": str(fund)},
                                             record=False).run(update)
        result["contrast_seed"] = worst_seed
        result["contrast"] = {label: {key: run.summary[key] for key in ("fund_start", "fund_end", "fund_min",
                                                                          "adl_count", "adl_notional", "liquidations")}
                              for label, run in contrast.items()}
    write_sweep(result, out, f"solvent sweep: {config['name']}", contrast)
    return result


def summary_table(rows: list[dict[str, Any]], columns: list[str], title: str) -> Table:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(*(str(row.get(column, "")) for column in columns))
    return table
