"""Simulation configs: TOML, YAML or JSON documents, merged over `DEFAULTS`, with overrides.

Sections (every key optional; see `examples/sim/` and the README's "Simulator" section):

* `name`, `seed`, `fund` (the insurance fund's starting balance, decimal text);
* `market`: the perpetual (SPEC §10 market fields; default a BTCUSDT linear with Binance's tiers);
* `path`: `kind` = candles | reconstruction | waypoints | gbm | jump | garch, `step_s`, and the kind's knobs;
* `population`: traders (count, long share, size and leverage distributions, cross share, entry spread)
  or `positions_csv`;
* `makers`: market makers' ladder and how it thins with volatility;
* `feedback`: how liquidation fills move the mark;
* `policy`: `preset` and any SPEC §8 knob;
* `run`: sampling and mark-step emission; `sweep`, `compare`, `outputs`.

An override is `{"fund": "1e6", "preset": "bybit", "max_slippage": "0.05", "makers.depth": 2}`: a bare
name is `fund`, `preset` or a policy knob; a dotted name sets that key of that section.
"""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from typing import Any

import yaml

from solvent.policy import Policy

BINANCE_BTCUSDT_TIERS = [
    {"max_notional": "50000", "mmr": "0.004", "max_leverage": 125},
    {"max_notional": "250000", "mmr": "0.005", "max_leverage": 100},
    {"max_notional": "1000000", "mmr": "0.01", "max_leverage": 50},
    {"max_notional": "10000000", "mmr": "0.025", "max_leverage": 20},
    {"max_notional": "20000000", "mmr": "0.05", "max_leverage": 10},
    {"max_notional": "50000000", "mmr": "0.1", "max_leverage": 5},
    {"max_notional": "100000000", "mmr": "0.125", "max_leverage": 4},
    {"max_notional": "200000000", "mmr": "0.15", "max_leverage": 3},
    {"max_notional": "300000000", "mmr": "0.25", "max_leverage": 2},
    {"max_notional": "500000000", "mmr": "0.5", "max_leverage": 1},
]

DEFAULTS: dict[str, Any] = {
    "name": "simulation",
    "seed": 1,
    "fund": "1000000",
    "market": {"name": "BTCUSDT", "type": "linear", "base": "BTC", "settle": "USDT", "tick_size": "0.1",
               "lot_size": "0.001", "maker_fee": "0.0002", "taker_fee": "0.0004", "tiers": BINANCE_BTCUSDT_TIERS},
    "path": {"kind": "gbm", "step_s": 1, "hours": 24, "start_price": 10000, "sigma": 0.8},
    "population": {"traders": 1000, "long_share": 0.7, "size_median": 0.05, "size_sigma": 1.0, "size_max": 20,
                   "leverage": [5, 10, 20, 50, 100], "leverage_weights": [0.25, 0.3, 0.25, 0.15, 0.05],
                   "cross_share": 0.2, "cross_buffer": 0.5, "entry_spread": 0.003, "entry_levels": 21,
                   "positions_csv": None},
    "makers": {"count": 2, "levels": 10, "spacing_bps": 5, "depth": 2.0, "stub_offset": 0.1, "stub_depth": 50.0,
               "calm_vol": 0.6, "thinning": 1.0, "widening": 0.5, "vol_halflife_s": 300, "requote_s": 300,
               "requote_min_s": 5, "requote_move": 0.002, "capital": "10000000000"},
    "feedback": {"impact": 0.5, "decay_s": 120, "max_impact": 0.3, "rounds": 3},
    "policy": {"preset": "binance"},
    "run": {"sample_s": 60, "min_move_ticks": 1, "funding_every_s": 28800, "funding_rate": "0.0001"},
    "sweep": {"paths": 8, "grid": {}, "funds": [], "adl_target": 0.05, "probe_fund": "1000000000000", "verify": True},
    "compare": {"policies": []},
    "outputs": {"dir": "sim-out", "parquet": True, "report": True, "scenario": True},
}

_POLICY_KNOBS = {name for name in Policy.__dataclass_fields__ if name != "preset"}


class ConfigError(ValueError):
    """The config cannot be used; the message names the key."""


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a config file (.toml, .yaml/.yml, .json) and merge it over the defaults."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    if suffix == ".toml":
        raw = tomllib.loads(text)
    elif suffix in (".yaml", ".yml"):
        raw = yaml.safe_load(text)
    elif suffix == ".json":
        raw = json.loads(text)
    else:
        raise ConfigError(f"{path}: unknown config format {suffix!r} (use .toml, .yaml, .json)")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a config is a table of sections")
    config = merged(raw)
    config["_base_dir"] = str(path.resolve().parent)
    return config


def merged(raw: dict[str, Any]) -> dict[str, Any]:
    """`raw` over `DEFAULTS`, section by section; unknown sections or keys are refused."""
    config = copy.deepcopy(DEFAULTS)
    for key, value in raw.items():
        if key.startswith("_"):
            config[key] = value
            continue
        if key not in DEFAULTS:
            raise ConfigError(f"unknown config key {key!r} (known: {', '.join(DEFAULTS)})")
        if isinstance(DEFAULTS[key], dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{key}: expected a table")
            if key not in ("policy", "market") and not key.startswith("_"):
                unknown = set(value) - set(DEFAULTS[key]) - _KIND_KEYS.get(key, set())
                if unknown:
                    raise ConfigError(f"{key}: unknown keys {sorted(unknown)}")
            if key == "path":
                config[key] = {**({"step_s": 1} if "kind" in value else DEFAULTS[key]), **value}
            else:
                config[key].update(copy.deepcopy(value))
            if key == "population" and "leverage" in value and "leverage_weights" not in value:
                config[key]["leverage_weights"] = None  # uniform over the leverages given
        else:
            config[key] = value
    unknown_knobs = set(config["policy"]) - _POLICY_KNOBS - {"preset"}
    if unknown_knobs:
        raise ConfigError(f"policy: unknown knobs {sorted(unknown_knobs)}")
    if config["market"].get("type", "linear") != "linear":
        raise ConfigError("market: the simulator's population and makers are written for linear markets only")
    config["fund"] = str(config["fund"])
    return config


_KIND_KEYS = {"path": {"kind", "event", "noise_vol", "file", "start", "end", "extremes_at", "waypoints", "label",
                       "mu", "jumps_per_day", "jump_mean", "jump_sd", "alpha", "beta", "drift"}}


def with_overrides(config: dict[str, Any], overrides: dict[str, Any] | None) -> dict[str, Any]:
    """A copy of `config` with each override applied (see the module docstring)."""
    if not overrides:
        return config
    out = copy.deepcopy(config)
    for key, value in overrides.items():
        if key == "fund":
            out["fund"] = str(value)
        elif key == "preset":
            out["policy"] = {"preset": value}
        elif key in _POLICY_KNOBS:
            out["policy"][key] = value
        elif "." in key:
            section, _, name = key.partition(".")
            if section not in out or not isinstance(out[section], dict):
                raise ConfigError(f"override {key!r}: unknown section {section!r}")
            out[section][name] = value
        else:
            raise ConfigError(f"override {key!r}: not fund, preset, a policy knob or section.key")
    return out
