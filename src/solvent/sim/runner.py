"""One simulation: a price path, a population and market makers driving the real engine.

Everything the engine does is `Engine.apply(command)`; the runner only decides which commands to send
and reads the events that come back. The commands are recorded, so a run exports as a scenario file
(SPEC §10) that `solvent replay` reproduces event for event.

Feedback (how a cascade happens): the mark is the path's price times exp(I), where I is the impact of
liquidations. After every step whose liquidation orders filled, I moves by `impact`·ln(P_fill/mark),
P_fill the volume-weighted liquidation fill price (the depth they consumed), so a liquidation sold
into a thin book drags the mark down; I decays toward 0 with time constant `decay_s` (arbitrage pulls
the mark back to the index) and is bounded by ±`max_impact`. Within the same second, up to `rounds`
extra mark steps follow (makers re-quote first), so one step's liquidations can set off the next.

Funding steps (rate `run.funding_rate`) every `run.funding_every_s` seconds (0: none) charge funding
and, under Drift's `socialize: funding`, the pending socialized loss.

Mark steps are sent only when the price moved by at least `min_move_ticks` ticks: most one-second
steps of a quiet path change nothing the engine could see.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from solvent.engine import ledger as L
from solvent.engine.core import Engine
from solvent.scenario import setup_commands
from solvent.sim.config import with_overrides
from solvent.sim.makers import Makers, ewma_volatility
from solvent.sim.paths import PricePath, build_path
from solvent.sim.population import opening_commands, sample_traders

SERIES = ("time_s", "price", "mark", "fund", "open_interest", "open_interest_notional", "liquidations",
          "liquidated_notional", "deficits", "adl_count", "adl_notional", "socialized_loss", "impact_bps",
          "book_depth")


class SimulationError(RuntimeError):
    """The simulation could not set up its venue (a set-up command was refused)."""


@dataclass
class Result:
    config: dict[str, Any]
    seed: int
    path: PricePath
    series: dict[str, np.ndarray]
    summary: dict[str, Any]
    document: dict[str, Any]
    commands: list[dict[str, Any]] = field(default_factory=list)
    liquidations: list[dict[str, Any]] = field(default_factory=list)

    def scenario(self) -> dict[str, Any]:
        """The run as a scenario file (SPEC §10): the venue's sections and every command as a step."""
        return {**self.document, "steps": self.commands}

    def write_scenario(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.scenario(), separators=(",", ":")) + "\n", encoding="utf-8")
        return path


def venue_document(config: dict[str, Any]) -> dict[str, Any]:
    """The scenario sections that build the venue: assets, market, fund with its balance, preset, policy."""
    market = dict(config["market"])
    name = market.pop("name", "BTCUSDT")
    market.setdefault("fund", name)
    settle = market.get("settle", "USDT")
    policy = dict(config["policy"])
    preset = policy.pop("preset", None)
    document: dict[str, Any] = {"assets": {settle: 8, market["base"]: 8}, "markets": {name: market},
                                "funds": {market["fund"]: {"asset": settle, "balance": str(config["fund"])}}}
    if preset is not None:
        document["preset"] = preset
    if policy:
        document["policy"] = policy
    return document


class Simulation:
    """One run for one seed. `progress(done, total)` is called now and then for progress bars."""

    def __init__(self, config: dict[str, Any], seed: int | None = None, overrides: dict[str, Any] | None = None,
                 *, record: bool = True, keep_events: bool = False, hash_state: bool = True) -> None:
        self.config = with_overrides(config, overrides)
        self.seed = int(self.config["seed"] if seed is None else seed)
        self.record = record
        self.keep_events = keep_events
        self.hash_state = hash_state
        self.timings: dict[str, float] = {}
        self.engine = Engine()
        self.commands: list[dict[str, Any]] = []
        self.document = venue_document(self.config)
        self.market_name = next(iter(self.document["markets"]))

    # ---- commands ----------------------------------------------------------------------------
    def send(self, command: dict[str, Any]) -> list[dict[str, Any]]:
        if self.record:
            self.commands.append(command)
        events = self.engine.apply(command)
        if not self.keep_events and len(self.engine.events) > 50_000:
            del self.engine.events[:]  # the events were returned; the engine's list is only a log
        return events

    def run(self, progress: Callable[[int, int], None] | None = None,
            on_ready: Callable[[Engine, PricePath], None] | None = None) -> Result:
        """Set up the venue and population, then walk the path. `on_ready(engine, path)` is called once
        the population is open, before the first step (benchmarks time a full scan there; its time is
        left out of the run's timings)."""
        started = time.perf_counter()
        config = self.config
        base_dir = Path(config["_base_dir"]) if config.get("_base_dir") else None
        path = build_path(config["path"], self.seed, base_dir)
        start_ms = path.start_s * 1000
        engine = self.engine
        for command in setup_commands({**self.document, "steps": [{"time": start_ms}]}):
            for event in engine.apply(command):
                if event["type"] == "rejected":
                    raise SimulationError(f"set-up command {command['op']} refused: {event['reason']}")
        market = engine.markets[self.market_name]
        fund_name = market.fund
        tick = float(market.tick_size)
        lot = float(market.lot_size)
        first_mark = round(float(path.prices[0]) / tick)
        self.send({"op": "mark_price", "market": market.name, "price": market.format_price(first_mark),
                   "time": start_ms})
        traders = sample_traders(config["population"], market, first_mark * tick, self.seed)
        makers = Makers(config["makers"], market)
        setup = makers.funding_commands(start_ms) + opening_commands(traders, market, start_ms)
        refused = 0
        for command in setup:
            for event in self.send(command):
                if event["type"] == "rejected":
                    refused += 1
        if refused:
            raise SimulationError(f"{refused} population set-up commands refused (first: see the engine's events)")
        self.timings["setup_s"] = time.perf_counter() - started
        if on_ready is not None:
            paused = time.perf_counter()
            on_ready(engine, path)
            started += time.perf_counter() - paused
        step_s = path.step_s
        volatility = ewma_volatility(path.prices, step_s, float(config["makers"]["vol_halflife_s"]),
                                     float(config["makers"]["calm_vol"]))
        for command in makers.requote(first_mark, float(volatility[0]), start_ms):
            self._send_maker(command, makers)

        feedback = config["feedback"]
        kappa = float(feedback["impact"])
        decay = math.exp(-step_s / float(feedback["decay_s"])) if float(feedback["decay_s"]) > 0 else 0.0
        max_impact = float(feedback["max_impact"])
        rounds = int(feedback["rounds"])
        min_move = max(1, int(config["run"]["min_move_ticks"]))
        sample_every = max(1, int(config["run"]["sample_s"]) // step_s)
        funding_every = int(config["run"]["funding_every_s"]) // step_s
        funding_rate = str(config["run"]["funding_rate"])

        tally = _Tally(Decimal(str(config["fund"])), self._fund_balance(fund_name), market.lot_size)
        n = len(path.prices)
        samples: dict[str, list[float]] = {name: [] for name in SERIES}
        impact = 0.0
        last_mark = first_mark
        mark_steps = 1
        prices = path.prices
        name = market.name
        send = self.send
        format_price = market.format_price
        report_every = max(1, n // 200)
        for i in range(1, n):
            now_ms = start_ms + i * step_s * 1000
            impact *= decay
            exogenous = float(prices[i])
            ticks = round(exogenous * math.exp(impact) / tick)
            if abs(ticks - last_mark) >= min_move:
                events = send({"op": "mark_price", "market": name, "price": format_price(ticks), "time": now_ms})
                mark_steps += 1
                last_mark = ticks
                if len(events) > 1:
                    fill = tally.read(events, makers)
                    for _round in range(rounds):
                        if fill is None:
                            break
                        impact = max(-max_impact, min(max_impact, impact + kappa * math.log(fill / (ticks * tick))))
                        if makers.names:
                            for command in makers.requote(ticks, float(volatility[i]), now_ms):
                                tally.read(self._send_maker(command, makers), makers)
                        ticks = round(exogenous * math.exp(impact) / tick)
                        if abs(ticks - last_mark) < min_move:
                            break
                        events = send({"op": "mark_price", "market": name, "price": format_price(ticks),
                                       "time": now_ms})
                        mark_steps += 1
                        last_mark = ticks
                        fill = tally.read(events, makers) if len(events) > 1 else None
            if funding_every and i % funding_every == 0:
                tally.read(send({"op": "funding", "market": name, "rate": funding_rate, "time": now_ms}), makers)
            if makers.due(last_mark, now_ms):
                for command in makers.requote(last_mark, float(volatility[i]), now_ms):
                    tally.read(self._send_maker(command, makers), makers)
            if i % sample_every == 0 or i == n - 1:
                oi_lots = engine.open_interest[name]
                values = (path.start_s + i * step_s, exogenous, last_mark * tick, float(tally.fund),
                          oi_lots * lot, oi_lots * lot * last_mark * tick, tally.liquidations,
                          tally.liquidated_notional, float(tally.deficits), tally.adl_count, tally.adl_notional,
                          float(tally.socialized), impact * 1e4, makers.depth_now)
                for key, value in zip(SERIES, values, strict=True):
                    samples[key].append(float(value))
            if progress is not None and i % report_every == 0:
                progress(i, n - 1)
        if progress is not None:
            progress(n - 1, n - 1)
        self.timings["loop_s"] = time.perf_counter() - started - self.timings["setup_s"]
        series = {key: np.asarray(values) for key, values in samples.items()}
        liquidations = list(engine.liquidation_history)
        summary = self._summary(path, tally, series, traders_count=len(traders), mark_steps=mark_steps,
                                liquidations=liquidations, wall_s=time.perf_counter() - started)
        return Result(self.config, self.seed, path, series, summary, self.document,
                      self.commands if self.record else [], liquidations)

    def _send_maker(self, command: dict[str, Any], makers: Makers) -> list[dict[str, Any]]:
        events = self.send(command)
        if command["op"] == "order" and events and events[-1]["type"] == "rejected":
            makers.live.pop(command["id"], None)
        return events

    def _fund_balance(self, fund: str) -> Decimal:
        asset = self.engine.assets[self.engine.funds[fund]]
        return Decimal(asset.format(self.engine.ledger.balance(L.fund(fund), asset.name)))

    def _summary(self, path: PricePath, tally: _Tally, series: dict[str, np.ndarray], *, traders_count: int,
                 mark_steps: int, liquidations: list[dict[str, Any]], wall_s: float) -> dict[str, Any]:
        policy = self.engine.policy
        fund_start = tally.fund_start
        digest = hashlib.sha256(json.dumps(liquidations, sort_keys=True).encode()).hexdigest()
        return {
            "name": self.config["name"], "path": path.label, "path_source": path.source, "seed": self.seed,
            "preset": policy.preset, "policy": policy.describe(), "traders": traders_count,
            "steps": len(path.prices) - 1, "step_s": path.step_s, "mark_steps": mark_steps,
            "commands": len(self.commands), "price_start": float(path.prices[0]),
            "price_min": float(path.prices.min()), "price_end": float(path.prices[-1]),
            "mark_min": float(series["mark"].min()) if len(series["mark"]) else None,
            "fund_start": str(fund_start), "fund_end": str(tally.fund), "fund_min": str(tally.fund_min),
            "fund_drawdown": str(fund_start - tally.fund_min),
            "fund_needed": str(tally.needed(policy.fund_min_balance, policy.fund_max_drawdown)),
            "liquidations": tally.liquidations, "liquidated_notional": round(tally.liquidated_notional, 2),
            "deficits": str(tally.deficits), "adl_count": tally.adl_count,
            "adl_notional": round(tally.adl_notional, 2), "adl_fired": tally.adl_count > 0,
            "socialized_loss": str(tally.socialized), "unclosed": tally.unclosed,
            "max_impact_bps": round(float(np.abs(series["impact_bps"]).max()) if len(series["impact_bps"]) else 0, 2),
            "rejected": tally.rejected, "liquidation_digest": digest,
            "state_hash": self.engine.state_hash() if self.hash_state else None,
            "wall_s": round(wall_s, 3),
        }


class _Tally:
    """Running totals read from the engine's events (exact Decimals for money, floats for notionals)."""

    def __init__(self, fund_start: Decimal, fund_now: Decimal, lot_size: Decimal) -> None:
        self.fund_start = fund_start
        self.fund = fund_now
        self.fund_min = fund_now
        self.lot_size = lot_size
        self.liquidations = 0
        self.liquidated_notional = 0.0
        self.deficits = Decimal(0)
        self.adl_count = 0
        self.adl_notional = 0.0
        self.socialized = Decimal(0)
        self.unclosed = 0
        self.rejected = 0
        # fund path relative to its start, for the fund a run needed: (rel, running peak of rel)
        self.relative: list[tuple[Decimal, Decimal]] = []
        self._peak = Decimal(0)

    def read(self, events: list[dict[str, Any]], makers: Makers) -> float | None:
        """Count the events; return the volume-weighted price of this batch's liquidation fills (or None)."""
        filled = 0.0
        value = 0.0
        for event in events:
            kind = event["type"]
            if kind == "mark_price":
                continue
            if kind == "trade":
                makers.observe(event)
                if event.get("liquidation"):
                    qty = float(event["qty"])
                    filled += qty
                    value += qty * float(event["price"])
            elif kind == "cancel":
                makers.observe(event)
            elif kind == "liquidation":
                self.liquidations += 1
                self.liquidated_notional += float(event["qty"]) * float(event["mark_price"])
            elif kind == "fund":
                balance = Decimal(event["balance_after"])
                self.fund = balance
                if balance < self.fund_min:
                    self.fund_min = balance
                delta = Decimal(event["delta"])
                if delta < 0:
                    self.deficits -= delta
                rel = balance - self.fund_start
                if rel > self._peak:
                    self._peak = rel
                self.relative.append((rel, self._peak))
            elif kind == "adl":
                self.adl_count += 1
                self.adl_notional += float(event["qty"]) * float(event["price"])
            elif kind == "socialized_loss":
                # haircuts are charged at once; in funding mode the loss is announced (no account) and
                # charged to every position at the next funding step: count the announcement only
                if event.get("mode") == "haircut" or event.get("account") is None:
                    self.socialized += Decimal(event.get("amount", "0"))
            elif kind == "deficit" and event.get("unclosed_qty"):
                self.unclosed += 1
            elif kind == "rejected":
                self.rejected += 1
        return value / filled if filled else None

    def needed(self, min_balance: Any, max_drawdown: Any) -> Decimal:
        """The smallest starting fund whose capacity never binds on this run's fund path (exact when the
        run's own fund never bound: the engine then did the same with any larger fund). Capacity is
        balance − max(min_balance, (1 − dd)·peak); the peak is taken over the whole run, not the
        trailing window, so with a drawdown rule this is an upper bound."""
        floor_min = Decimal(min_balance.numerator) / Decimal(min_balance.denominator)
        need = Decimal(0)
        for rel, peak in self.relative:
            need = max(need, floor_min - rel)
            if max_drawdown is not None and max_drawdown > 0:
                dd = Decimal(max_drawdown.numerator) / Decimal(max_drawdown.denominator)
                need = max(need, ((1 - dd) * peak - rel) / dd)
        return need.quantize(Decimal("0.00000001")) if need else Decimal(0)


def run_once(config: dict[str, Any], seed: int | None = None, overrides: dict[str, Any] | None = None) -> Result:
    """Build and run one simulation (no progress bar)."""
    return Simulation(config, seed, overrides).run()

