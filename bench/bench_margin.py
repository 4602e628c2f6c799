"""Margin (borrowing) accounts: cost of an index-price step, and of liquidating through the desk.

1. n cross margin accounts, each short BTC (it deposited USDT, borrowed BTC and holds it), levels
   1.6–2.5; index-price steps that liquidate nobody (asserted). Microseconds per step and per
   account checked, next to the futures mark step with n positions armed in the liquidation index
   (`bench_liquidation.py`'s loader) in the same run: their ratio says what the margin side's
   full scan costs against the indexed futures side.
2. A margin cascade: a BTC spike that liquidates all n accounts through the desk in one step:
   margin liquidations per second (each one: snapshot, fee to the fund, repayment, history).

    python bench/bench_margin.py [--sizes 100,1000,10000]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

from rich.console import Console
from rich.progress import track
from rich.table import Table

from solvent.engine.core import Engine

RESULTS = Path(__file__).resolve().parent / "results"


def margin_engine(n: int, seed: int = 11) -> Engine:
    rng = random.Random(seed)
    engine = Engine()
    engine.apply({"op": "add_asset", "asset": "USDT", "decimals": 8})
    engine.apply({"op": "add_asset", "asset": "BTC", "decimals": 8})
    engine.apply({"op": "index_price", "asset": "BTC", "price": "10000"})
    for i in track(range(n), description=f"opening {n:,} margin accounts", transient=True):
        name = f"t{i}"
        engine.apply({"op": "deposit", "account": name, "asset": "USDT", "amount": "1000", "margin_account": "cross"})
        # level (1000 + 10000·b)/(10000·b) for b in 0.067–0.16 BTC: 1.6–2.5, away from the 1.5 margin call
        # (an account whose level wobbles across a threshold is re-checked each time it crosses it)
        borrowed = f"0.{rng.randint(67, 160):03d}"
        events = engine.apply({"op": "borrow", "account": name, "asset": "BTC", "amount": borrowed,
                               "margin_account": "cross"})
        assert events[-1]["type"] == "borrow", events
    return engine


def time_steps(engine: Engine, steps: int) -> float:
    """Microseconds per index step moving ±0.5% around 10,000 (nobody crosses 1.1)."""
    samples = []
    for i in range(steps):
        price = "10050" if i % 2 else "9950"
        start = time.perf_counter()
        events = engine.apply({"op": "index_price", "asset": "BTC", "price": price})
        samples.append(time.perf_counter() - start)
        assert not any(event["type"] == "margin_liquidation" for event in events)
    return statistics.median(samples) * 1e6


def full_scan_us(engine: Engine) -> float:
    """One exact level check of every margin account (`_verify_margin_index`), microseconds."""
    start = time.perf_counter()
    engine._verify_margin_index()
    return (time.perf_counter() - start) * 1e6


def futures_step_us(n: int) -> float:
    from bench_liquidation import loaded_engine  # the futures loader, positions armed in the index

    engine, _ = loaded_engine(n)
    samples = []
    for i in range(50):
        price = "10001" if i % 2 else "9999"
        start = time.perf_counter()
        engine.apply({"op": "mark_price", "market": "BTCUSDT", "price": price})
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


def cascade(n: int) -> float:
    engine = margin_engine(n)
    start = time.perf_counter()
    events = engine.apply({"op": "index_price", "asset": "BTC", "price": "200000"})
    elapsed = time.perf_counter() - start
    liquidated = sum(1 for event in events if event["type"] == "margin_liquidation")
    assert liquidated == n, liquidated
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--cascade", type=int, default=10000)
    args = parser.parse_args()
    console = Console()
    rows = []
    for n in (int(size) for size in args.sizes.split(",")):
        engine = margin_engine(n)
        margin_us = time_steps(engine, 20)
        scan_us = full_scan_us(engine)
        futures_us = futures_step_us(n)
        rows.append({"n": n, "margin_step_us": round(margin_us, 1), "full_scan_us": round(scan_us, 1),
                     "scan_over_index": round(scan_us / margin_us, 1),
                     "futures_indexed_step_us": round(futures_us, 1), "ratio": round(margin_us / futures_us, 1)})
    rate = cascade(args.cascade)
    table = Table(title="index-price step: margin index vs futures index (nobody crossing)")
    for column in ("n", "margin step µs", "full scan µs", "scan/index", "futures step µs", "margin/futures"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(f"{row['n']:,}", f"{row['margin_step_us']:,}", f"{row['full_scan_us']:,}",
                      f"{row['scan_over_index']:,}×", f"{row['futures_indexed_step_us']:,}", f"{row['ratio']}×")
    console.print(table)
    console.print(f"margin cascade: {args.cascade:,} accounts liquidated through the desk in one step: "
                  f"[bold]{rate:,.0f} liquidations/s[/]")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "margin.json").write_text(json.dumps({"steps": rows, "cascade_n": args.cascade,
                                                     "cascade_liquidations_per_s": round(rate)}, indent=1) + "\n")


if __name__ == "__main__":
    main()
