"""Liquidation check cost: the index against a vectorized numpy full scan, and a cascade.

1. Mark-price steps with n open isolated longs and nothing crossing, n = 1e3 … 1e6: microseconds per
   step of `Engine.apply(mark_price)` (index) and of a numpy scan computing equity ≤ MM for every
   position; both must find no liquidation (asserted). Goal: flat in n, ≥ 100× numpy at 1e6.
2. A cascade: 100,000 isolated longs, a falling mark path that liquidates half of them into a
   market maker's bid ladder: liquidations per second.

    python bench/bench_liquidation.py [--sizes 1000,10000,100000,1000000] [--cascade 100000]

Positions are loaded straight into the engine's state with their ledger entries (the orders that
would open them are not what is measured), then armed in the index as a mark step would.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import track
from rich.table import Table

from solvent.engine import ledger as L
from solvent.engine.accounts import ISOLATED, Account, Position
from solvent.engine.core import Engine

RESULTS = Path(__file__).resolve().parent / "results"
MARKET = {"type": "linear", "base": "BTC", "settle": "USDT", "tick_size": "1", "lot_size": "0.001",
          "maker_fee": "0", "taker_fee": "0", "tiers": [{"max_notional": "100000000", "mmr": "0.005",
                                                         "max_leverage": 100}]}


def loaded_engine(n: int, seed: int = 7) -> tuple[Engine, dict[str, np.ndarray]]:
    """n isolated longs (entry ~10,000, leverage 10–50) against one market maker's short."""
    rng = random.Random(seed)
    engine = Engine()
    engine.apply({"op": "add_asset", "asset": "USDT", "decimals": 8})
    engine.apply({"op": "add_asset", "asset": "BTC", "decimals": 8})
    engine.apply({"op": "add_market", "market": "BTCUSDT", **MARKET})
    engine.apply({"op": "mark_price", "market": "BTCUSDT", "price": "10000"})
    market = engine.markets["BTCUSDT"]
    qty = np.empty(n, dtype=np.int64)
    entry = np.empty(n, dtype=np.int64)
    margin = np.empty(n, dtype=np.int64)
    total = 0
    for i in track(range(n), description=f"loading {n:,} positions", transient=True):
        lots = rng.randint(1, 100)
        price = 10_000 + rng.randint(-50, 50)
        leverage = rng.randint(10, 50)
        units = int(market.notional_units(lots, price)) // leverage
        name = f"t{i}"
        account = Account(name)
        account.positions["BTCUSDT"] = Position("BTCUSDT", ISOLATED, leverage, lots, lots * price)
        engine.accounts[name] = account
        engine.transfer(L.EXTERNAL, L.isolated(name, "BTCUSDT"), "USDT", units, "bench_load", name)
        qty[i], entry[i], margin[i] = lots, price, units
        total += lots
    maker = Account("mm")
    maker.positions["BTCUSDT"] = Position("BTCUSDT", "cross", 1, -total, total * 10_000)
    engine.accounts["mm"] = maker
    engine.transfer(L.EXTERNAL, L.trader("mm"), "USDT", 10**20, "bench_load", "mm")
    engine.open_interest["BTCUSDT"] = total
    engine.index.refresh(engine)  # arm every trigger once, as the first mark step would
    return engine, {"qty": qty, "entry": entry, "margin": margin}


def numpy_scan(arrays: dict[str, np.ndarray], mark: int, scale: int, mmr: float) -> int:
    """The vectorized baseline: equity ≤ MM for every position (floats are fine for screening)."""
    qty, entry, margin = arrays["qty"], arrays["entry"], arrays["margin"]
    equity = margin + qty * (mark - entry) * scale
    maintenance = qty * mark * scale * mmr
    return int(np.count_nonzero(equity <= maintenance))


def mark_steps(sizes: list[int], steps: int) -> list[dict[str, float]]:
    rows = []
    for n in sizes:
        engine, arrays = loaded_engine(n)
        marks = [str(10_000 + (k % 7) * 10 - 30) for k in range(steps)]  # 9,970 … 10,030: nothing crosses
        ours = []
        for k, price in enumerate(marks):
            started = time.perf_counter()
            events = engine.apply({"op": "mark_price", "market": "BTCUSDT", "price": price, "time": k})
            ours.append(time.perf_counter() - started)
            assert [event["type"] for event in events] == ["mark_price"], events
        scale = int(engine.markets["BTCUSDT"].scale_int)
        scans = []
        for price in marks:
            started = time.perf_counter()
            found = numpy_scan(arrays, int(price), scale, 0.005)
            scans.append(time.perf_counter() - started)
            assert found == 0
        rows.append({"n": n, "index_us": statistics.median(ours) * 1e6, "numpy_us": statistics.median(scans) * 1e6})
        rows[-1]["ratio"] = rows[-1]["numpy_us"] / rows[-1]["index_us"]
    return rows


def cascade(n: int) -> dict[str, float]:
    engine, arrays = loaded_engine(n, seed=11)
    # a bid ladder deep enough for every liquidation, from 9,999 down
    engine.apply({"op": "deposit", "account": "bidder", "asset": "USDT", "amount": "100000000000"})
    for price in range(9_999, 8_000, -1):
        engine.apply({"op": "order", "account": "bidder", "market": "BTCUSDT", "side": "buy", "price": str(price),
                      "qty": "100", "leverage": 1})
    liquidation_prices = sorted(
        (engine.risk(account)[0].liquidation for name, account in engine.accounts.items() if name.startswith("t")),
        reverse=True)
    median_lp = float(liquidation_prices[n // 2])
    path = np.linspace(10_000, median_lp, 200).round().astype(int)
    started = time.perf_counter()
    for k, price in enumerate(path):
        engine.apply({"op": "mark_price", "market": "BTCUSDT", "price": str(int(price)), "time": 1000 + k})
    elapsed = time.perf_counter() - started
    liquidations = sum(1 for event in engine.events if event["type"] == "liquidation")
    return {"positions": n, "liquidations": liquidations, "seconds": elapsed, "per_second": liquidations / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--cascade", type=int, default=100_000)
    args = parser.parse_args()
    console = Console()
    rows = mark_steps([int(size) for size in args.sizes.split(",")], args.steps)
    table = Table(title="mark-price step, nothing crossing (median)")
    for column in ("positions", "index µs/step", "numpy scan µs/step", "numpy / index"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(f"{row['n']:,}", f"{row['index_us']:.1f}", f"{row['numpy_us']:.1f}", f"{row['ratio']:.0f}x")
    console.print(table)
    result = {"mark_step": rows}
    if args.cascade:
        result["cascade"] = cascade(args.cascade)
        c = result["cascade"]
        console.print(f"cascade: {c['liquidations']:,} of {c['positions']:,} positions liquidated in "
                      f"{c['seconds']:.1f} s = {c['per_second']:,.0f} liquidations/s")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "liquidation.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
