"""Order book alone: insert+match throughput, ours against pylobo (Rust) and a plain
sortedcontainers book, in one run, on one order stream, with identical fills (asserted).

The stream (`order_stream`, also used by `bench_engine.py`): `rng = random.Random(42)`, then per
order, in this order of draws,

    side  = BUY if rng.random() < 0.5 else SELL
    price = 10_000 + round(rng.gauss(0, 20))      # ticks
    qty   = rng.randint(1, 100)                   # lots

Every order is a GTC limit order: it matches against the opposite side up to its limit price
(best price first, oldest first), then its remainder rests. Each order comes from its own account,
so our book's self-trade prevention never stops a fill (pylobo and the sortedcontainers book have
none), and all three make the same fills.

What is timed, per implementation, is the per-order loop a user writes: build the order, submit
it, read the fills back (count them and sum their lots), rest the remainder. Ids, accounts and
the stream are prepared before the clock starts. Best of `--repeat` runs, implementations
interleaved within each repetition so drift hits them alike; GC stays on, as in production.

Timed runs:
- ours: `OrderBook.match` then `rest` (headline), and `plan` + `execute` + `rest`, the engine's path;
- pylobo (`pip install pylobo`, import `lobo`; Rust): one `Book.fill(LimitOrder(price, qty,
  trader, side), Reports(include_fills=True))` per order, the only order-entry call its Python
  API has; it matches and rests the remainder in one call. Headline: `Book(update_user_map=False,
  update_hidden=False)`, i.e. without the per-trader liquidity map and iceberg upkeep our book
  does not have either; also its defaults, and `fill` without a report (fills not returned to
  Python, so not countable: a lower bound on its cost that an engine could not use);
- a plain sortedcontainers book written below.
Before timing, every implementation's full fill tape, (price, lots) per fill in order, is
compared; after, fill counts, lots filled and the resting book must match ours exactly.

    python bench/bench_book.py [--n 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import platform
import random
import sys
import time
import uuid
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lobo
from lobo.orders import LimitOrder, Side
from rich.console import Console
from rich.table import Table
from sortedcontainers import SortedDict

from solvent.engine.book import BUY, SELL, OrderBook, RestingOrder

RESULTS = Path(__file__).resolve().parent / "results"

Order = tuple[int, int, int, str, str]  # side, price, qty, oid, account
Outcome = tuple[int, int, tuple[int, int, int, int]]  # fills, lots filled, (bids, bid lots, asks, ask lots)


def order_stream(n: int, seed: int = 42) -> list[tuple[int, int, int]]:
    rng = random.Random(seed)
    return [(BUY if rng.random() < 0.5 else SELL, 10_000 + round(rng.gauss(0, 20)), rng.randint(1, 100))
            for _ in range(n)]


def with_ids(stream: list[tuple[int, int, int]]) -> list[Order]:
    return [(side, price, qty, f"o{seq}", f"t{seq}") for seq, (side, price, qty) in enumerate(stream)]


# ---- ours ----------------------------------------------------------------------------------------
def resting_totals(book: OrderBook) -> tuple[int, int, int, int]:
    orders = book.orders()
    bids = [o.qty for o in orders if o.side == BUY]
    asks = [o.qty for o in orders if o.side == SELL]
    return len(bids), sum(bids), len(asks), sum(asks)


def run_ours(orders: list[Order]) -> tuple[float, Outcome]:
    """`match` (plan and execute in one pass), then rest the remainder."""
    book = OrderBook()
    match, rest = book.match, book.rest
    fills = filled = 0
    start = time.perf_counter()
    for seq, (side, price, qty, oid, account) in enumerate(orders):
        made = match(side, price, qty, account)
        if made:
            fills += len(made)
            for _, lots in made:
                qty -= lots
                filled += lots
        if qty:
            rest(RestingOrder(oid, account, side, price, qty, seq))
    elapsed = time.perf_counter() - start
    return elapsed, (fills, filled, resting_totals(book))


def run_ours_plan_execute(orders: list[Order]) -> tuple[float, Outcome]:
    """The engine's path: `plan`, (the engine checks margin here), `execute`, rest the remainder."""
    book = OrderBook()
    plan, execute, rest = book.plan, book.execute, book.rest
    fills = filled = 0
    start = time.perf_counter()
    for seq, (side, price, qty, oid, account) in enumerate(orders):
        made, _ = plan(side, price, qty, account)
        if made:
            execute(made)
            fills += len(made)
            for _, lots in made:
                qty -= lots
                filled += lots
        if qty:
            rest(RestingOrder(oid, account, side, price, qty, seq))
    elapsed = time.perf_counter() - start
    return elapsed, (fills, filled, resting_totals(book))


# ---- a plain sortedcontainers book ---------------------------------------------------------------
class SortedContainersBook:
    """The textbook Python book: a SortedDict of price -> deque of [qty, oid] per side."""

    def __init__(self) -> None:
        self.bids: SortedDict = SortedDict()  # best = highest = last
        self.asks: SortedDict = SortedDict()  # best = lowest = first

    def match(self, side: int, limit: int, qty: int) -> list[tuple[str, int, int]]:
        """Fills (maker oid, lots, price) for a limit order, best price first, oldest first."""
        fills: list[tuple[str, int, int]] = []
        levels = self.asks if side == BUY else self.bids
        while qty and levels:
            price, level = levels.peekitem(0 if side == BUY else -1)
            if (price > limit) if side == BUY else (price < limit):
                break
            while qty and level:
                maker = level[0]
                lots = min(qty, maker[0])
                fills.append((maker[1], lots, price))
                maker[0] -= lots
                qty -= lots
                if maker[0] == 0:
                    level.popleft()
            if not level:
                del levels[price]
        return fills

    def rest(self, side: int, price: int, qty: int, oid: str) -> None:
        levels = self.bids if side == BUY else self.asks
        level = levels.get(price)
        if level is None:
            level = levels[price] = deque()
        level.append([qty, oid])

    def totals(self) -> tuple[int, int, int, int]:
        bids = [o[0] for level in self.bids.values() for o in level]
        asks = [o[0] for level in self.asks.values() for o in level]
        return len(bids), sum(bids), len(asks), sum(asks)


def run_sorted_containers(orders: list[Order]) -> tuple[float, Outcome]:
    book = SortedContainersBook()
    match, rest = book.match, book.rest
    fills = filled = 0
    start = time.perf_counter()
    for side, price, qty, oid, _ in orders:
        made = match(side, price, qty)
        if made:
            fills += len(made)
            for _, lots, _ in made:
                qty -= lots
                filled += lots
        if qty:
            rest(side, price, qty, oid)
    elapsed = time.perf_counter() - start
    return elapsed, (fills, filled, book.totals())


# ---- pylobo --------------------------------------------------------------------------------------
def lobo_totals(book: Any) -> tuple[int, int, int, int]:
    bids, asks = book.orders.bids, book.orders.asks
    return bids.order_count, bids.visible_quantity, asks.order_count, asks.visible_quantity


#: pylobo options for the features our book does not have: the per-trader liquidity map behind
#: `get_user_order_summary`, and hidden (iceberg) quantity upkeep. Turned off, pylobo is faster;
#: that is the headline comparison. Its defaults are timed too.
PYLOBO_LEAN = {"update_user_map": False, "update_hidden": False}


def pylobo_loop(orders: list[Order], book: Any) -> tuple[float, int, int]:
    """`Book.fill(LimitOrder(...), Reports(include_fills=True))` per order: pylobo matches and
    rests the remainder itself, and hands the fills back as `MatchedFill` objects."""
    fill = book.fill
    reports = lobo.Reports(include_fills=True)
    trader = uuid.UUID(int=1)  # pylobo has no self-trade prevention: one trader is fine
    buy, sell = Side.Buy, Side.Sell
    fills = filled = 0
    start = time.perf_counter()
    for side, price, qty, _, _ in orders:
        report = fill(LimitOrder(price, qty, trader, buy if side == BUY else sell), reports).report
        if report is not None:
            made = report.fills
            if made:
                fills += len(made)
                for maker in made:
                    filled += maker.fill_quantity
    return time.perf_counter() - start, fills, filled


def run_pylobo(orders: list[Order]) -> tuple[float, Outcome]:
    book = lobo.Book(**PYLOBO_LEAN)
    elapsed, fills, filled = pylobo_loop(orders, book)
    return elapsed, (fills, filled, lobo_totals(book))


def run_pylobo_default(orders: list[Order]) -> tuple[float, Outcome]:
    book = lobo.Book()
    elapsed, fills, filled = pylobo_loop(orders, book)
    return elapsed, (fills, filled, lobo_totals(book))


def run_pylobo_silent(orders: list[Order]) -> tuple[float, Outcome]:
    """`Book.fill(LimitOrder(...))` with no report: the fills are never materialized for Python,
    so they cannot be counted (or settled); only the final book is compared. A lower bound on
    pylobo's per-order cost, not something an engine could use."""
    book = lobo.Book(**PYLOBO_LEAN)
    fill = book.fill
    trader = uuid.UUID(int=1)
    buy, sell = Side.Buy, Side.Sell
    start = time.perf_counter()
    for side, price, qty, _, _ in orders:
        fill(LimitOrder(price, qty, trader, buy if side == BUY else sell))
    elapsed = time.perf_counter() - start
    return elapsed, (-1, -1, lobo_totals(book))


# ---- the same fills, price by price --------------------------------------------------------------
def fill_tapes(orders: list[Order]) -> dict[str, list[tuple[int, int]]]:
    """Every fill as (price, lots), in order, from each implementation (untimed): a stronger check
    than the counts, that the three books really make the same trades."""
    ours = OrderBook()
    ours_tape: list[tuple[int, int]] = []
    for seq, (side, price, qty, oid, account) in enumerate(orders):
        made = ours.match(side, price, qty, account)
        ours_tape.extend((maker.price, lots) for maker, lots in made)
        left = qty - sum(lots for _, lots in made)
        if left:
            ours.rest(RestingOrder(oid, account, side, price, left, seq))
    plain = SortedContainersBook()
    plain_tape: list[tuple[int, int]] = []
    for side, price, qty, oid, _ in orders:
        made_plain = plain.match(side, price, qty)
        plain_tape.extend((fill_price, lots) for _, lots, fill_price in made_plain)
        left = qty - sum(lots for _, lots, _ in made_plain)
        if left:
            plain.rest(side, price, left, oid)
    native = lobo.Book(**PYLOBO_LEAN)
    reports = lobo.Reports(include_fills=True)
    trader = uuid.UUID(int=1)
    native_tape: list[tuple[int, int]] = []
    for side, price, qty, _, _ in orders:
        order = LimitOrder(price, qty, trader, Side.Buy if side == BUY else Side.Sell)
        report = native.fill(order, reports).report
        if report is not None and report.fills:
            native_tape.extend((maker.price, maker.fill_quantity) for maker in report.fills)
    return {"ours": ours_tape, "sortedcontainers": plain_tape, "pylobo": native_tape}


RUNS: dict[str, tuple[str, Callable[[list[Order]], tuple[float, Outcome]]]] = {
    "ours": ("ours: match + rest", run_ours),
    "ours_plan_execute": ("ours: plan + execute + rest (engine)", run_ours_plan_execute),
    "pylobo": ("pylobo lean*, fills reported", run_pylobo),
    "pylobo_default": ("pylobo Book(), fills reported", run_pylobo_default),
    "pylobo_no_report": ("pylobo lean*, no report", run_pylobo_silent),
    "sortedcontainers": ("sortedcontainers: match + rest", run_sorted_containers),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    orders = with_ids(order_stream(args.n))

    tapes = fill_tapes(orders)
    if not tapes["ours"] == tapes["sortedcontainers"] == tapes["pylobo"]:
        counts = ", ".join(f"{name} {len(tape)} fills" for name, tape in tapes.items())
        raise SystemExit(f"the books disagree on the fills: {counts}")

    times: dict[str, list[float]] = {name: [] for name in RUNS}
    outcomes: dict[str, Outcome] = {}
    for _ in range(args.repeat):
        for name, (_, run) in RUNS.items():
            gc.collect()
            elapsed, outcome = run(orders)
            times[name].append(elapsed)
            if outcomes.setdefault(name, outcome) != outcome:
                raise SystemExit(f"{name} is not deterministic: {outcome} vs {outcomes[name]}")

    expected = outcomes["ours"]
    fills, filled, resting = expected
    if (fills, filled) != (len(tapes["ours"]), sum(lots for _, lots in tapes["ours"])):
        raise SystemExit(f"timed run of ours disagrees with its fill tape: {expected}")
    for name, outcome in outcomes.items():
        if outcome[2] != resting or (outcome[0] != -1 and outcome[:2] != (fills, filled)):
            raise SystemExit(f"{name} disagrees with ours: {outcome} vs {expected}")

    best = {name: min(values) for name, values in times.items()}
    rate = {name: args.n / seconds for name, seconds in best.items()}
    ratios = {
        "ours/pylobo": rate["ours"] / rate["pylobo"],
        "ours/sortedcontainers": rate["ours"] / rate["sortedcontainers"],
        "ours_plan_execute/pylobo": rate["ours_plan_execute"] / rate["pylobo"],
        "ours/pylobo_default": rate["ours"] / rate["pylobo_default"],
        "ours/pylobo_no_report": rate["ours"] / rate["pylobo_no_report"],
    }

    table = Table(title=f"Order book insert+match: {args.n:,} GTC limit orders, seed 42, "
                        f"best of {args.repeat}")
    table.add_column("implementation")
    table.add_column("orders/s", justify="right")
    table.add_column("best s", justify="right")
    table.add_column("fills", justify="right")
    table.add_column("lots filled", justify="right")
    for name, (label, _) in RUNS.items():
        count, lots, _ = outcomes[name]
        table.add_row(label, f"{rate[name]:,.0f}", f"{best[name]:.4f}",
                      "(not read)" if count < 0 else f"{count:,}", "(not read)" if lots < 0 else f"{lots:,}")
    console = Console()
    console.print(table)
    for name, ratio in ratios.items():
        console.print(f"{name:>28} = {ratio:.2f}x")
    console.print("* pylobo lean = Book(update_user_map=False, update_hidden=False); 'no report' = fill() "
                  "without Reports: the fills are not returned, so not counted (final book compared)")
    console.print(f"resting at the end (bids, bid lots, asks, ask lots), same in all: {resting}")

    result = {
        "benchmark": "order book insert+match",
        "orders": args.n, "seed": 42, "repeat": args.repeat,
        "stream": "side = BUY if rng.random() < 0.5 else SELL; price = 10000 + round(rng.gauss(0, 20)); "
                  "qty = rng.randint(1, 100); rng = random.Random(42)",
        "python": sys.version.split()[0], "platform": platform.platform(), "machine": platform.machine(),
        "fills": fills, "lots_filled": filled,
        "resting": {"bids": resting[0], "bid_lots": resting[1], "asks": resting[2], "ask_lots": resting[3]},
        "implementations": {
            name: {"label": label, "orders_per_s": rate[name], "best_s": best[name], "runs_s": times[name]}
            for name, (label, _) in RUNS.items()
        },
        "ratios": ratios,
        "pylobo_lean_options": PYLOBO_LEAN,
        "pylobo_version": importlib.metadata.version("pylobo"),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "book.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
