"""Price paths: bridges through candles and waypoints, reconstructions of published crashes, and
seeded generators (GBM, Merton jump-diffusion, GARCH(1,1) volatility clustering).

A path is a float price at every `step_s` seconds from `start_s`. Floats are fine here: the path
only proposes prices; the runner rounds each to the market's tick before the engine sees it.
Every random draw comes from `numpy.random.Generator(PCG64(seed))`, so a seed fixes the path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Any

import numpy as np
from numpy.random import PCG64, Generator

from solvent.sim.candles import Candles, load_candles, parse_when

SECONDS_PER_YEAR = 365.25 * 86_400


@dataclass(frozen=True)
class PricePath:
    """Prices at `start_s + i·step_s`; `label` says what the path is (and whether it is a reconstruction)."""

    start_s: int
    step_s: int
    prices: np.ndarray
    label: str
    source: str = ""

    @property
    def seconds(self) -> int:
        return (len(self.prices) - 1) * self.step_s


def rng_for(seed: int, stream: int = 0) -> Generator:
    """The generator for one purpose of one seed: independent streams, reproducible anywhere."""
    return Generator(PCG64([seed, stream]))


# ---- bridges ------------------------------------------------------------------------------------
def bridge(anchor_steps: list[int], anchor_prices: list[float], sigma_step: float, rng: Generator,
           low: float | None = None, high: float | None = None) -> np.ndarray:
    """A path through every anchor (step index, price): a Brownian bridge in log price between
    consecutive anchors with per-step volatility `sigma_step`, clipped to [low, high] so the anchors'
    extremes stay the path's extremes. Returns prices at steps 0 … anchor_steps[-1]."""
    if anchor_steps[0] != 0 or any(b <= a for a, b in zip(anchor_steps, anchor_steps[1:], strict=False)):
        raise ValueError(f"anchor steps must start at 0 and increase: {anchor_steps}")
    logs = np.empty(anchor_steps[-1] + 1)
    for (s0, p0), (s1, p1) in zip(zip(anchor_steps, anchor_prices, strict=True),
                                  zip(anchor_steps[1:], anchor_prices[1:], strict=True), strict=False):
        k = s1 - s0
        walk = np.concatenate(([0.0], np.cumsum(rng.standard_normal(k)))) * sigma_step
        fraction = np.arange(k + 1) / k
        pinned = walk - fraction * walk[-1]
        logs[s0:s1 + 1] = math.log(p0) + fraction * (math.log(p1) - math.log(p0)) + pinned
    if low is not None or high is not None:
        logs = np.clip(logs, math.log(low) if low else -np.inf, math.log(high) if high else np.inf)
    return np.exp(logs)


def candle_bridge(candles: Candles, step_s: int, rng: Generator, *, extremes_at: tuple[float, float] | None = None
                  ) -> np.ndarray:
    """An intraday path through each candle that hits its open, high, low and close.

    Order: a candle that closes up visits its low first (O → L → H → C), one that closes down its high
    first (O → H → L → C). The two extremes fall at seeded uniform times in the first and second
    half (or at `extremes_at`, fractions of the candle). Volatility between anchors is the candle's
    Parkinson estimate, σ² = ln(H/L)² / (4 ln 2) over the candle, so a wide candle is also noisy."""
    per_candle = candles.seconds // step_s
    if per_candle < 4 or candles.seconds % step_s:
        raise ValueError(f"a {candles.seconds} s candle cannot be split into {step_s} s steps (≥ 4 needed)")
    pieces = []
    for i in range(len(candles)):
        o, h, lo, c = (float(candles.open[i]), float(candles.high[i]), float(candles.low[i]), float(candles.close[i]))
        h, lo = max(h, o, c), min(lo, o, c)
        if extremes_at is not None:
            first, second = extremes_at
        else:
            first, second = rng.uniform(0.05, 0.45), rng.uniform(0.55, 0.95)
        s1 = min(max(1, round(first * per_candle)), per_candle - 2)
        s2 = min(max(s1 + 1, round(second * per_candle)), per_candle - 1)
        middle = (lo, h) if c >= o else (h, lo)
        sigma = math.log(h / lo) / math.sqrt(4 * math.log(2)) / math.sqrt(per_candle) if h > lo else 0.0
        piece = bridge([0, s1, s2, per_candle], [o, middle[0], middle[1], c], sigma, rng, lo, h)
        pieces.append(piece if i == len(candles) - 1 else piece[:-1])
    return np.concatenate(pieces)


# ---- reconstructions ------------------------------------------------------------------------------
#: Published crashes rebuilt from what the record gives. Each is a list of (hour of the day, price)
#: waypoints; what is recorded and what is assumed is said in `note`.
RECONSTRUCTIONS: dict[str, dict[str, Any]] = {
    "2020-03-12": {
        "label": "RECONSTRUCTION of 12 Mar 2020 (Black Thursday), BTC-USD",
        "start": "2020-03-12T00:00:00Z",
        "waypoints": [(0.0, 7938.05), (1.0, 7969.45), (13.0, 5800.0), (23.5, 4644.0), (24.0, 4857.1)],
        "note": ("Open 7938.05, high 7969.45, low 4644.0 and close 4857.1 are the Coinbase daily candle of "
                 "2020-03-12 (read from solvent/sim/data/btcusd_1d_2020-03.csv, a slice of shared/data); "
                 "the hours of the high (01:00) and the "
                 "low (23:30) and the two-leg shape (a 13:00 waypoint at 5,800) are assumptions, not record; "
                 "between waypoints a seeded Brownian bridge bounded by the day's high and low."),
    },
    "2025-10-10": {
        "label": "RECONSTRUCTION of 10 Oct 2025 (tariff crash), BTC-USD",
        "start": "2025-10-10T00:00:00Z",
        "waypoints": [(0.0, 121500.0), (14.0, 121000.0), (20.8, 117000.0), (21.25, 102000.0), (22.0, 108000.0),
                      (24.0, 113000.0)],
        "note": ("Approximate published figures (press reports of 10-11 Oct 2025: BTC from about 122,000 to a low "
                 "near 102,000 on some venues, the worst minute at 21:15 UTC, about $19bn liquidated, then "
                 "steadying near 110,000); every waypoint is rounded and the daily shape between them is a seeded "
                 "Brownian bridge: a stress shape in the spirit of the day, not its tick record."),
    },
}


DATA = FilePath(__file__).resolve().parent / "data"


def recorded_candle(day: str) -> tuple[float, float, float, float]:
    """(open, high, low, close) of a day in the shipped daily slice (`data/btcusd_1d_2020-03.csv`)."""
    candles = load_candles(DATA / "btcusd_1d_2020-03.csv").between(day, None)
    if len(candles) == 0:
        raise ValueError(f"no daily candle for {day} in the shipped slice")
    return float(candles.open[0]), float(candles.high[0]), float(candles.low[0]), float(candles.close[0])


def reconstruction(name: str, step_s: int, rng: Generator, noise_vol: float = 0.8) -> PricePath:
    """A labelled reconstruction (see `RECONSTRUCTIONS`): waypoints joined by a bounded bridge. For
    12 Mar 2020 the open, high, low and close are read from the shipped daily candle."""
    if name not in RECONSTRUCTIONS:
        raise ValueError(f"unknown reconstruction {name!r} (known: {', '.join(RECONSTRUCTIONS)})")
    spec = RECONSTRUCTIONS[name]
    waypoints = list(spec["waypoints"])
    if name == "2020-03-12":
        o, h, lo, c = recorded_candle("2020-03-12")
        waypoints[0], waypoints[1], waypoints[3], waypoints[4] = ((0.0, o), (waypoints[1][0], h),
                                                                  (waypoints[3][0], lo), (24.0, c))
    return waypoint_path(spec["start"], waypoints, step_s, rng, noise_vol, spec["label"], spec["note"])


def waypoint_path(start: str, waypoints: list[tuple[float, float]], step_s: int, rng: Generator,
                  noise_vol: float, label: str, source: str = "") -> PricePath:
    """Waypoints (hour offset, price) joined by a bridge with annualized noise `noise_vol`, bounded by
    the lowest and highest waypoint."""
    steps = [round(hours * 3600 / step_s) for hours, _ in waypoints]
    prices = [float(price) for _, price in waypoints]
    sigma = noise_vol * math.sqrt(step_s / SECONDS_PER_YEAR)
    values = bridge(steps, prices, sigma, rng, min(prices), max(prices))
    return PricePath(parse_when(start), step_s, values, label, source)


# ---- generators -------------------------------------------------------------------------------------
def gbm(start_price: float, seconds: int, step_s: int, rng: Generator, *, mu: float = 0.0,
        sigma: float = 0.8) -> np.ndarray:
    """Geometric Brownian motion; `mu` and `sigma` annualized."""
    n = seconds // step_s
    dt = step_s / SECONDS_PER_YEAR
    returns = (mu - sigma**2 / 2) * dt + sigma * math.sqrt(dt) * rng.standard_normal(n)
    return start_price * np.exp(np.concatenate(([0.0], np.cumsum(returns))))


def jump_diffusion(start_price: float, seconds: int, step_s: int, rng: Generator, *, mu: float = 0.0,
                   sigma: float = 0.6, jumps_per_day: float = 2.0, jump_mean: float = -0.03,
                   jump_sd: float = 0.04) -> np.ndarray:
    """Merton jump-diffusion: GBM plus Poisson jumps with normal log sizes (mean `jump_mean`)."""
    n = seconds // step_s
    dt = step_s / SECONDS_PER_YEAR
    diffusion = (mu - sigma**2 / 2) * dt + sigma * math.sqrt(dt) * rng.standard_normal(n)
    counts = rng.poisson(jumps_per_day * step_s / 86_400, n)
    jumps = counts * jump_mean + np.sqrt(counts) * jump_sd * rng.standard_normal(n)
    return start_price * np.exp(np.concatenate(([0.0], np.cumsum(diffusion + jumps))))


def garch(start_price: float, seconds: int, step_s: int, rng: Generator, *, sigma: float = 0.8,
          alpha: float = 0.08, beta: float = 0.9, drift: float = 0.0) -> np.ndarray:
    """GARCH(1,1) volatility clustering: r_t = σ_t·z_t, σ²_t = ω + α·r²_{t−1} + β·σ²_{t−1}, with ω set so
    the long-run volatility is `sigma` (annualized); `drift` annualized."""
    if alpha + beta >= 1:
        raise ValueError("GARCH needs alpha + beta < 1")
    n = seconds // step_s
    dt = step_s / SECONDS_PER_YEAR
    long_run = sigma**2 * dt
    omega = long_run * (1 - alpha - beta)
    shocks = rng.standard_normal(n)
    returns = np.empty(n)
    variance = long_run
    for i in range(n):
        r = math.sqrt(variance) * shocks[i]
        returns[i] = r
        variance = omega + alpha * r * r + beta * variance
    return start_price * np.exp(np.concatenate(([0.0], np.cumsum(returns + drift * dt))))


# ---- from a config section -----------------------------------------------------------------------------
def build_path(spec: dict[str, Any], seed: int, base_dir: FilePath | None = None) -> PricePath:
    """The path a config's `[path]` section describes, for one seed."""
    kind = spec.get("kind", "gbm")
    step_s = int(spec.get("step_s", 1))
    rng = rng_for(seed, 1)
    if kind == "reconstruction":
        return reconstruction(str(spec.get("event", "2020-03-12")), step_s, rng, float(spec.get("noise_vol", 0.8)))
    if kind == "waypoints":
        points = [(float(h), float(p)) for h, p in spec["waypoints"]]
        return waypoint_path(str(spec.get("start", "2020-01-01T00:00:00Z")), points, step_s, rng,
                             float(spec.get("noise_vol", 0.8)), str(spec.get("label", "waypoints")))
    if kind == "candles":
        file = FilePath(str(spec["file"]))
        if base_dir is not None and not file.is_absolute() and not file.exists():
            file = base_dir / file
        candles = load_candles(file).between(spec.get("start"), spec.get("end"))
        if len(candles) == 0:
            raise ValueError(f"{file}: no candles between {spec.get('start')} and {spec.get('end')}")
        extremes = spec.get("extremes_at")
        prices = candle_bridge(candles, step_s, rng, extremes_at=tuple(extremes) if extremes else None)
        return PricePath(int(candles.time_s[0]), step_s, prices, f"candles {file.name} (intraday bridge through OHLC)",
                         str(file))
    start_price = float(spec.get("start_price", 10_000))
    seconds = int(float(spec.get("hours", 24)) * 3600)
    start = parse_when(str(spec.get("start", "2020-01-01T00:00:00Z")))
    knobs = {key: float(value) for key, value in spec.items()
             if key in ("mu", "sigma", "jumps_per_day", "jump_mean", "jump_sd", "alpha", "beta", "drift")}
    if kind == "gbm":
        prices = gbm(start_price, seconds, step_s, rng, **knobs)
    elif kind == "jump":
        prices = jump_diffusion(start_price, seconds, step_s, rng, **knobs)
    elif kind == "garch":
        prices = garch(start_price, seconds, step_s, rng, **knobs)
    else:
        raise ValueError(f"unknown path kind {kind!r} (candles, reconstruction, waypoints, gbm, jump, garch)")
    return PricePath(start, step_s, prices, f"{kind} seed {seed}", "generated")
