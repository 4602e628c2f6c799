"""The `solvent` command."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from solvent import scenario

app = typer.Typer(help="solvent: risk and clearing engine for crypto derivatives venues.",
                  no_args_is_help=True, add_completion=False)
err = Console(stderr=True, soft_wrap=True)


@app.callback()
def _root() -> None:
    """solvent: risk and clearing engine for crypto derivatives venues."""


@app.command()
def replay(
    files: Annotated[list[Path], typer.Argument(help="Scenario files (.json, .toml, .yaml) or folders of them.")],
    check: Annotated[bool, typer.Option("--check", help="Exit 1 if any expect step fails.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print the result JSON.")] = False,
    state_hash: Annotated[bool, typer.Option("--hash", help="Print the final state hash to stderr.")] = False,
    funds_out: Annotated[Path | None, typer.Option("--funds", help="Write every fund's hash-chained history "
                                                                  "to this JSON file (last scenario).")] = None,
) -> None:
    """Replay scenario files through the engine and print {"events": [...], "state": {...}} as JSON."""
    failed = False
    paths = list(scenario.scenario_files(files))
    if not paths:
        err.print("[red]no scenario files found[/red]")
        raise typer.Exit(2)
    for path in paths:
        try:
            document = scenario.load(path)
        except (OSError, scenario.ScenarioError) as error:
            err.print(f"[red]{error}[/red]")
            raise typer.Exit(2) from None
        result = scenario.replay(document)
        if not quiet:
            json.dump(result.output(), sys.stdout, indent=2, sort_keys=False)
            sys.stdout.write("\n")
        if state_hash:
            err.print(f"{path}: state hash {result.engine.state_hash()}")
        if funds_out is not None:
            funds_out.write_text(json.dumps(result.engine.fund_book.history, indent=1) + "\n")
        for failure in result.failures:
            failed = True
            err.print(f"[red]FAIL[/red] {path} step {failure.step}: {failure.path}\n"
                      f"  expected: {json.dumps(failure.expected)}\n  actual:   {json.dumps(failure.actual)}")
        if check and not result.failures and len(paths) > 1:
            err.print(f"[green]ok[/green] {path}")
    if check and failed:
        raise typer.Exit(1)


_ENTRY_KEYS = ("time", "fund", "delta", "reason", "ref", "balance_after", "hash")


@app.command()
def verify(
    file: Annotated[Path, typer.Argument(help="A fund history (JSON list, {fund: [entries]}) or a replay output.")],
    head: Annotated[list[str] | None, typer.Option("--head", help="FUND=HASH: the head hash the venue published "
                                                                   "for that fund; a history cut short fails.")] = None,
) -> None:
    """Re-check fund histories' hash chains and balances; exit 1 naming the first broken entry.

    A chain proves that no entry was rewritten or removed before the last one; that the last ones are
    all there needs the published head (`--head`, or `funds.<name>.head` in the state)."""
    from solvent.engine.funds import load_history, verify_chain

    try:
        document = json.loads(file.read_text(encoding="utf-8"))
        if isinstance(document, dict) and isinstance(document.get("events"), list):
            document = [{key: event[key] for key in _ENTRY_KEYS if key in event}
                        for event in document["events"] if isinstance(event, dict) and event.get("type") == "fund"]
        histories = load_history(document)
    except (OSError, ValueError) as error:
        err.print(f"[red]{file}: {error}[/red]")
        raise typer.Exit(2) from None
    published: dict[str, str] = {}
    for item in head or []:
        fund_name, _, digest = item.partition("=")
        if not digest:
            err.print(f"[red]--head {item!r}: expected FUND=HASH[/red]")
            raise typer.Exit(2)
        published[fund_name] = digest
    broken = False
    for fund_name in sorted(set(published) - set(histories)):
        broken = True
        err.print(f"[red]BROKEN[/red] {fund_name}: a head was published but the history has no entries")
    for fund, entries in histories.items():
        problem = verify_chain(entries)
        if problem is None and fund in published and (not entries or entries[-1].get("hash") != published[fund]):
            broken = True
            err.print(f"[red]BROKEN[/red] {fund}: the last entry is not the published head {published[fund]} "
                      f"(entries missing at the end?)")
        elif problem is None:
            last = entries[-1].get("hash") if entries else "-"
            err.print(f"[green]ok[/green] {fund}: {len(entries)} entries, head {last}")
        else:
            broken = True
            err.print(f"[red]BROKEN[/red] {fund}: entry {problem.index}: {problem.reason}")
    if broken:
        raise typer.Exit(1)


@app.command()
def report(
    file: Annotated[Path, typer.Argument(help="A scenario file to replay.")],
) -> None:
    """Replay a scenario and print each fund's daily report and each market's health signals as JSON."""
    from solvent.engine.reports import fund_daily_reports, health

    try:
        document = scenario.load(file)
    except (OSError, scenario.ScenarioError) as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    engine = scenario.replay(document).engine
    json.dump({"daily": fund_daily_reports(engine), "health": health(engine)}, sys.stdout, indent=2)
    sys.stdout.write("\n")


@app.command()
def serve(
    db: Annotated[str, typer.Option("--db", help="SQLite file, or postgresql://user@host/db[?schema=NAME].")]
    = "solvent.db",
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    master_key_file: Annotated[Path | None, typer.Option("--master-key-file", help="Hex master key all API key "
                                                         "secrets derive from (created if missing); env "
                                                         "SOLVENT_MASTER_KEY wins. Default: DB file + .key")] = None,
    rate_limit: Annotated[float, typer.Option("--rate-limit", help="Requests/s per key (burst twice that).")] = 200.0,
    snapshot_every: Annotated[int, typer.Option("--snapshot-every", help="Commands between snapshots.")] = 100_000,
) -> None:
    """Run the HTTP service (journal, writer, public/trader/operator APIs)."""
    import uvicorn

    from solvent.service.app import create_app
    from solvent.service.auth import ROOT_KEY, derive_secret, load_master_key

    if master_key_file is None and not db.startswith(("postgresql://", "postgres://")):
        master_key_file = Path(db.removeprefix("sqlite:///") + ".key")
    import os

    existed = "SOLVENT_MASTER_KEY" in os.environ or (master_key_file is not None and master_key_file.exists())
    try:
        master = load_master_key(master_key_file)
    except ValueError as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    if master_key_file is not None and not existed:
        err.print(f"new master key in {master_key_file}; operator key {ROOT_KEY!r}, secret "
                  f"{derive_secret(master, ROOT_KEY)}")
    service = create_app(db, master, rate_limit=rate_limit, snapshot_every=snapshot_every, manage_gc=True)
    uvicorn.run(service, host=host, port=port, loop="uvloop", http="httptools", log_level="warning",
                access_log=False, timeout_graceful_shutdown=10)


@app.command()
def demo(
    db: Annotated[str, typer.Option("--db", help="SQLite file of the demo venue (replaced unless --keep).")]
    = "solvent-demo.db",
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    speed: Annotated[float, typer.Option("--speed", help="Mark-price steps per second.")] = 4.0,
    keep: Annotated[bool, typer.Option("--keep", help="Reopen an existing demo journal instead of starting over.")]
    = False,
    exit_after: Annotated[bool, typer.Option("--exit", help="Stop once the crash has been replayed.")] = False,
) -> None:
    """Serve a demo venue and replay the June 2019 BTC crash into it live: open the page at / and watch
    liquidations, the insurance fund and ADL."""
    import asyncio

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from solvent import demo as demo_venue

    if not keep:
        for suffix in ("", "-wal", "-shm", ".key"):
            Path(db + suffix).unlink(missing_ok=True)
    total = demo_venue.mark_steps()
    columns = (TextColumn("[bold]crash replay"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err) as progress:
        task = progress.add_task("replay", total=total)
        err.print(f"solvent demo: open http://{host}:{port}/ (API docs at /docs); Ctrl-C to stop")
        try:
            asyncio.run(demo_venue.serve_demo(db, host, port, speed, exit_after,
                                              on_step=lambda: progress.advance(task)))
        except KeyboardInterrupt:
            pass
# ---- the stress simulator (issue 7): thin wrappers over solvent.sim.commands -------------------------
def _sim_config(config_file: Path, settings: list[str] | None) -> dict:
    from solvent.sim.config import ConfigError, load_config, with_overrides

    try:
        config = load_config(config_file)
        overrides = {}
        for item in settings or []:
            key, _, value = item.partition("=")
            overrides[key] = _setting_value(value)
        return with_overrides(config, overrides)
    except (OSError, ValueError, ConfigError) as error:
        err.print(f"[red]{config_file}: {error}[/red]")
        raise typer.Exit(2) from None


def _setting_value(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return text


_SET_HELP = "KEY=VALUE: fund, preset, a policy knob or section.key (repeatable)."


@app.command()
def simulate(
    config_file: Annotated[Path, typer.Argument(help="Simulation config (.toml, .yaml, .json).")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder (default: outputs.dir).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed (default: the config's).")] = None,
    settings: Annotated[list[str] | None, typer.Option("--set", help=_SET_HELP)] = None,
) -> None:
    """Run one stress simulation on the engine: series CSV/Parquet, summary JSON, scenario, report."""
    from solvent.sim.commands import simulate as run

    config = _sim_config(config_file, settings)
    folder = out or Path(config["outputs"]["dir"])
    result = run(config, folder, seed=seed)
    json.dump(result.summary, sys.stdout, indent=2)
    sys.stdout.write("\n")
    err.print(f"outputs in {folder}")


@app.command()
def compare(
    config_file: Annotated[Path, typer.Argument(help="Simulation config (.toml, .yaml, .json).")],
    policies: Annotated[str | None, typer.Option(
        "--policies", help="Comma-separated presets (default: the config's compare.policies).")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o")] = None,
    settings: Annotated[list[str] | None, typer.Option("--set", help=_SET_HELP)] = None,
) -> None:
    """One scenario under several presets/knobs side by side (table and charts)."""
    from solvent.sim.commands import compare as run
    from solvent.sim.report import SUMMARY_COLUMNS

    config = _sim_config(config_file, settings)
    folder = out or Path(config["outputs"]["dir"]) / "compare"
    chosen = policies.split(",") if policies else None
    results = run(config, folder, chosen)
    rows = [{"label": label, **result.summary} for label, result in results.items()]
    json.dump([{key: row[key] for key in SUMMARY_COLUMNS} for row in rows], sys.stdout, indent=2)
    sys.stdout.write("\n")
    err.print(f"outputs in {folder}")


@app.command()
def sweep(
    config_file: Annotated[Path, typer.Argument(help="Simulation config with a [sweep] section.")],
    workers: Annotated[int, typer.Option("--workers", "-j", help="Local processes (1 = serial).")] = 1,
    dask: Annotated[str | None, typer.Option("--dask", help="Dask scheduler ADDRESS to run on.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o")] = None,
    settings: Annotated[list[str] | None, typer.Option("--set", help=_SET_HELP)] = None,
) -> None:
    """Monte Carlo and knob grid: P(ADL), fund drawdown VaR/ES, the smallest fund meeting the ADL target."""
    from solvent.sim.commands import run_sweep

    config = _sim_config(config_file, settings)
    folder = out or Path(config["outputs"]["dir"]) / "sweep"
    result = run_sweep(config, folder, workers=workers, dask=dask)
    json.dump({"rows": result["rows"], "contrast": result.get("contrast")}, sys.stdout, indent=2)
    sys.stdout.write("\n")
    err.print(f"outputs in {folder}")


def main() -> None:  # pragma: no cover
    app()
