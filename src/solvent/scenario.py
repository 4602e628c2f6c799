"""Scenario files (SPEC §10): load JSON, TOML or YAML, turn them into engine commands, replay.

A scenario's top-level sections (`assets`, `funds`, `markets`, `accounts`, `margin`, `preset`,
`policy`) become set-up commands (`add_asset`, `add_fund`, `fund_deposit`, `add_market`,
`add_account`, `set_margin`, `set_policy`), so a replay, the service's journal and the simulator
all speak the same commands.
`expect` steps are checked by the replay, not by the engine.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from solvent.engine.core import Engine

_SETUP_KEYS = ("preset", "policy", "assets", "funds", "markets", "accounts", "margin", "steps")


class ScenarioError(ValueError):
    """The file itself is unusable (syntax, shape); step-level problems are `rejected` events instead."""


def load(path: str | Path) -> dict[str, Any]:
    """Read a scenario file; the format follows the extension (.json, .toml, .yaml/.yml)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            document = json.loads(text)
        elif suffix == ".toml":
            document = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            document = yaml.safe_load(text)
        else:
            raise ScenarioError(f"{path}: unknown scenario format {suffix!r} (use .json, .toml, .yaml)")
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, yaml.YAMLError) as error:
        raise ScenarioError(f"{path}: {error}") from None
    if not isinstance(document, dict):
        raise ScenarioError(f"{path}: a scenario is an object with `steps`")
    unknown = sorted(set(document) - set(_SETUP_KEYS))
    if unknown:
        raise ScenarioError(f"{path}: unknown top-level keys {unknown}")
    if not isinstance(document.get("steps", []), list):
        raise ScenarioError(f"{path}: `steps` must be a list")
    return document


def setup_commands(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The commands that build a scenario's venue before its steps run."""
    steps = document.get("steps") or []
    first_time = next((step.get("time") for step in steps if isinstance(step, dict) and "time" in step), None)
    stamp = {"time": first_time} if first_time is not None else {}
    commands: list[dict[str, Any]] = []
    assets = dict(document.get("assets") or {})
    markets = document.get("markets") or {}
    funds = document.get("funds") or {}
    for spec in markets.values():
        if isinstance(spec, dict):
            for key in ("base", "settle"):
                if isinstance(spec.get(key), str):
                    assets.setdefault(spec[key], 8)
    for spec in funds.values():
        if isinstance(spec, dict) and isinstance(spec.get("asset"), str):
            assets.setdefault(spec["asset"], 8)
    for name, decimals in assets.items():
        commands.append({"op": "add_asset", "asset": name, "decimals": decimals, **stamp})
    for name, spec in funds.items():
        spec = spec if isinstance(spec, dict) else {}
        commands.append({"op": "add_fund", "fund": name, "asset": spec.get("asset"), **stamp})
        if spec.get("balance") not in (None, "0", 0):
            commands.append({"op": "fund_deposit", "fund": name, "amount": spec["balance"], **stamp})
    for name, spec in markets.items():
        commands.append({"op": "add_market", "market": name, **(spec if isinstance(spec, dict) else {}), **stamp})
    accounts = document.get("accounts") or {}
    for name, spec in sorted(accounts.items(), key=lambda item: (isinstance(item[1], dict)
                                                                 and item[1].get("parent") is not None, item[0])):
        parent = spec.get("parent") if isinstance(spec, dict) else None
        commands.append({"op": "add_account", "account": name, "parent": parent, **stamp})
    margin = document.get("margin")
    if margin is not None:
        commands.append({"op": "set_margin", **(margin if isinstance(margin, dict) else {"margin": margin}), **stamp})
    policy = dict(document.get("policy") or {})
    if document.get("preset") is not None:
        policy["preset"] = document["preset"]
    if policy:
        commands.append({"op": "set_policy", **policy, **stamp})
    return commands


@dataclass
class Failure:
    step: int
    path: str
    expected: Any
    actual: Any


@dataclass
class Replay:
    engine: Engine
    failures: list[Failure] = field(default_factory=list)

    def output(self) -> dict[str, Any]:
        return {"events": self.engine.events, "state": self.engine.state()}


def replay(document: dict[str, Any], engine: Engine | None = None) -> Replay:
    """Run a scenario through a fresh engine, checking its `expect` steps."""
    engine = engine if engine is not None else Engine()
    result = Replay(engine)
    for command in setup_commands(document):
        for event in engine.apply(command):
            if event["type"] == "rejected":
                event["step"] = "setup"
    for index, step in enumerate(document.get("steps") or []):
        if isinstance(step, dict) and step.get("op") == "expect":
            failure = check_expect(engine, index, step)
            if failure is not None:
                result.failures.append(failure)
            continue
        for event in engine.apply(step):
            if event["type"] == "rejected":
                event["step"] = index
    return result


def check_expect(engine: Engine, index: int, step: dict[str, Any]) -> Failure | None:
    path = step.get("path")
    if not isinstance(path, str) or "equals" not in step:
        return Failure(index, str(path), step.get("equals"), "expect needs `path` and `equals`")
    actual = lookup(engine.state(), path)
    if values_equal(step["equals"], actual, step.get("tolerance")):
        return None
    return Failure(index, path, step["equals"], actual)


_ABSENT = "<absent>"


def lookup(state: Any, path: str) -> Any:
    """Follow a dotted path into the state; list elements by index. Missing → '<absent>'."""
    node = state
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _ABSENT
    return node


def values_equal(expected: Any, actual: Any, tolerance: Any = None) -> bool:
    """Decimals compare by value (\"7000\" equals \"7000.0\"), within `tolerance` if given."""
    left, right = _as_decimal(expected), _as_decimal(actual)
    if left is not None and right is not None:
        allowed = _as_decimal(tolerance) if tolerance is not None else Decimal(0)
        return abs(left - right) <= (allowed or Decimal(0))
    return bool(expected == actual)


def _as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def scenario_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    for path in paths:
        path = Path(path)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix.lower() in (".json", ".toml", ".yaml", ".yml"))
        else:
            yield path
