"""Full order command vs the bare book, in one run.

The same stream as `bench_book.py` (seed 42; side 50/50; price 10,000 + round(N(0, 20)) ticks;
qty U{1..100} lots), once through the bare `OrderBook` (match, then rest the remainder) and once
as `order` commands through `Engine.apply` (validation, margin check, match, fees, ledger,
events). Each order comes from its own pre-funded account so no self-trade stops a fill and both
runs make the same fills (asserted). Reports commands/s and the engine/book time ratio.

    python bench/bench_engine.py [--n 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from solvent.engine.book import OrderBook, RestingOrder
from solvent.engine.core import Engine

RESULTS = Path(__file__).resolve().parent / "results"


def order_stream(n: int, seed: int = 42) -> list[tuple[int, int, int]]:
    rng = random.Random(seed)
    return [(1 if rng.random() < 0.5 else -1, 10_000 + round(rng.gauss(0, 20)), rng.randint(1, 100))
            for _ in range(n)]


def run_book(stream: list[tuple[int, int, int]]) -> tuple[float, int]:
    book = OrderBook()
    fills = 0
    start = time.perf_counter()
    for seq, (side, price, qty) in enumerate(stream):
        account = f"t{seq}"
        matched = book.match(side, price, qty, account)
        fills += len(matched)
        left = qty - sum(lots for _, lots in matched)
        if left:
            book.rest(RestingOrder(str(seq), account, side, price, left, seq))
    return time.perf_counter() - start, fills


def prepared_engine(n: int) -> Engine:
    engine = Engine()
    engine.apply({"op": "add_asset", "asset": "USDT", "decimals": 8})
    engine.apply({"op": "add_asset", "asset": "BTC", "decimals": 8})
    engine.apply({"op": "add_market", "market": "BTCUSDT", "type": "linear", "base": "BTC", "settle": "USDT",
                  "tick_size": "1", "lot_size": "0.001", "maker_fee": "0.0002", "taker_fee": "0.0004",
                  "tiers": [{"max_notional": "10000000", "mmr": "0.01", "max_leverage": 50}]})
    for seq in range(n):
        engine.apply({"op": "deposit", "account": f"t{seq}", "asset": "USDT", "amount": "100000"})
    engine.events.clear()
    return engine


def run_engine(stream: list[tuple[int, int, int]]) -> tuple[float, int, int]:
    engine = prepared_engine(len(stream))
    commands = [{"op": "order", "account": f"t{seq}", "market": "BTCUSDT", "side": "buy" if side > 0 else "sell",
                 "type": "limit", "price": str(price), "qty": f"{qty / 1000:.3f}", "leverage": 20}
                for seq, (side, price, qty) in enumerate(stream)]
    apply = engine.apply
    gc.collect()
    start = time.perf_counter()
    for command in commands:
        apply(command)
    elapsed = time.perf_counter() - start
    trades = sum(1 for event in engine.events if event["type"] == "trade")
    rejected = sum(1 for event in engine.events if event["type"] == "rejected")
    return elapsed, trades, rejected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    stream = order_stream(args.n)
    book_times, engine_times = [], []
    book_fills = engine_fills = rejected = 0
    for _ in range(args.repeat):
        elapsed, book_fills = run_book(stream)
        book_times.append(elapsed)
        elapsed, engine_fills, rejected = run_engine(stream)
        engine_times.append(elapsed)
    if book_fills != engine_fills or rejected:
        raise SystemExit(f"runs disagree: book {book_fills} fills, engine {engine_fills} trades, {rejected} rejected")
    book_best, engine_best = min(book_times), min(engine_times)
    result = {
        "orders": args.n, "fills": book_fills,
        "book_orders_per_s": args.n / book_best, "engine_commands_per_s": args.n / engine_best,
        "engine_over_book_time": engine_best / book_best,
    }
    table = Table(title=f"{args.n:,} orders, seed 42, best of {args.repeat}")
    table.add_column("run")
    table.add_column("orders/s", justify="right")
    table.add_column("fills", justify="right")
    table.add_row("bare OrderBook", f"{result['book_orders_per_s']:,.0f}", f"{book_fills:,}")
    table.add_row("Engine.apply(order)", f"{result['engine_commands_per_s']:,.0f}", f"{engine_fills:,}")
    Console().print(table)
    Console().print(f"engine time / book time = {result['engine_over_book_time']:.2f}x")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "engine.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
