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
err = Console(stderr=True)


@app.callback()
def _root() -> None:
    """solvent: risk and clearing engine for crypto derivatives venues."""


@app.command()
def replay(
    files: Annotated[list[Path], typer.Argument(help="Scenario files (.json, .toml, .yaml) or folders of them.")],
    check: Annotated[bool, typer.Option("--check", help="Exit 1 if any expect step fails.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print the result JSON.")] = False,
    state_hash: Annotated[bool, typer.Option("--hash", help="Print the final state hash to stderr.")] = False,
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
        for failure in result.failures:
            failed = True
            err.print(f"[red]FAIL[/red] {path} step {failure.step}: {failure.path}\n"
                      f"  expected: {json.dumps(failure.expected)}\n  actual:   {json.dumps(failure.actual)}")
        if check and not result.failures and len(paths) > 1:
            err.print(f"[green]ok[/green] {path}")
    if check and failed:
        raise typer.Exit(1)


def main() -> None:  # pragma: no cover
    app()
