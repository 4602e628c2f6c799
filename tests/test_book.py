"""The order book: worked examples with hand-checked numbers, then the fast book against the
obviously-correct `tests/reference_book.py` on random command streams (hypothesis, stateful)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import event as note_event
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from solvent.engine.book import BUY, SELL, BookError, OrderBook, RestingOrder
from tests.reference_book import ReferenceBook


class Books:
    """Builds a book from (oid, account, side, price, qty) rows, resting them in row order with
    increasing seq, and remembers each order by oid."""

    def __init__(self, rows: list[tuple[str, str, int, int, int]], book: Any = None) -> None:
        self.book = book if book is not None else OrderBook()
        self.by_oid: dict[str, RestingOrder] = {}
        for seq, (oid, account, side, price, qty) in enumerate(rows):
            order = RestingOrder(oid, account, side, price, qty, seq)
            self.book.rest(order)
            self.by_oid[oid] = order


def summary(fills: list[tuple[RestingOrder, int]]) -> list[tuple[str, int, int]]:
    """(maker oid, lots, price) per fill: a fill is made at the maker's price."""
    return [(maker.oid, lots, maker.price) for maker, lots in fills]


def snapshot(book: Any) -> list[tuple[str, int, int, int]]:
    return [(o.oid, o.side, o.price, o.qty) for o in book.orders()]


# Asks 101 ×5 (a1), 101 ×3 (a2, younger), 102 ×4 (a3), 104 ×10 (a4); bids 99 ×2 (b1), 98 ×6 (b2).
LADDER = [
    ("a1", "alice", SELL, 101, 5),
    ("b1", "bob", BUY, 99, 2),
    ("a2", "carol", SELL, 101, 3),
    ("a3", "dave", SELL, 102, 4),
    ("b2", "erin", BUY, 98, 6),
    ("a4", "frank", SELL, 104, 10),
]


def ladder(book: Any = None) -> Books:
    return Books(LADDER, book)


@pytest.fixture(params=[OrderBook, ReferenceBook], ids=["fast", "reference"])
def make_book(request: pytest.FixtureRequest) -> Any:
    """Every worked example runs on both books: the reference is checked by hand too."""
    return request.param


# ---- worked examples ---------------------------------------------------------------------------
# (name, taker side, limit, qty, account, expected fills (oid, lots, price), expected self-trade stop)
MATCH_CASES = [
    ("a buy at the best ask takes the older order there first (time priority)",
     BUY, 101, 4, "x", [("a1", 4, 101)], False),
    ("a buy for more than the older order spills into the younger one at the same price",
     # a1 gives 5, a2 gives the other 7 - 5 = 2
     BUY, 101, 7, "x", [("a1", 5, 101), ("a2", 2, 101)], False),
    ("a buy limited at the best ask stops there even with qty left (limit does not cross 102)",
     # 101 has 5 + 3 = 8 lots; the 2 remaining lots would need 102 > limit 101
     BUY, 101, 10, "x", [("a1", 5, 101), ("a2", 3, 101)], False),
    ("a buy limited at 103 walks 101 then 102 and stops before 104 (price priority)",
     # 5 + 3 + 4 = 12 lots available at or below 103
     BUY, 103, 20, "x", [("a1", 5, 101), ("a2", 3, 101), ("a3", 4, 102)], False),
    ("a market buy walks every level and fills partially at the last one",
     # 5 + 3 + 4 = 12, so 15 - 12 = 3 lots come from a4 at 104
     BUY, None, 15, "x", [("a1", 5, 101), ("a2", 3, 101), ("a3", 4, 102), ("a4", 3, 104)], False),
    ("a market buy larger than the whole side takes all of it",
     # 5 + 3 + 4 + 10 = 22 < 30
     BUY, None, 30, "x", [("a1", 5, 101), ("a2", 3, 101), ("a3", 4, 102), ("a4", 10, 104)], False),
    ("a buy below the best ask gets nothing",
     BUY, 100, 5, "x", [], False),
    ("a sell walks the bids best (highest) first",
     # b1 2 lots at 99, then 3 of b2's 6 at 98
     SELL, 98, 5, "x", [("b1", 2, 99), ("b2", 3, 98)], False),
    ("a sell limited above the best bid gets nothing",
     SELL, 100, 5, "x", [], False),
    ("a buy meeting its own account's order stops there; earlier fills stand",
     # carol takes a1's 5 lots and stops at her own a2, second in line at 101
     BUY, 104, 20, "carol", [("a1", 5, 101)], True),
    ("a self-trade stop at the very first maker fills nothing",
     BUY, 104, 20, "alice", [], True),
    ("the self-trade stop does not skip over the own order to later makers",
     # dave's a3 at 102 stops the walk; a4 at 104 is never reached though it crosses
     BUY, None, 50, "dave", [("a1", 5, 101), ("a2", 3, 101)], True),
    ("an own order beyond the limit is never reached, so no self-trade stop",
     BUY, 101, 20, "dave", [("a1", 5, 101), ("a2", 3, 101)], False),
    ("an own order after the qty is exhausted is never reached, so no self-trade stop",
     BUY, 102, 8, "dave", [("a1", 5, 101), ("a2", 3, 101)], False),
]


@pytest.mark.parametrize(("name", "side", "limit", "qty", "account", "expected", "stopped"), MATCH_CASES,
                         ids=[case[0] for case in MATCH_CASES])
def test_plan(make_book: Any, name: str, side: int, limit: int | None, qty: int, account: str,
              expected: list[tuple[str, int, int]], stopped: bool) -> None:
    books = ladder(make_book())
    before = snapshot(books.book)
    fills, self_trade = books.book.plan(side, limit, qty, account)
    assert summary(fills) == expected
    assert self_trade is stopped
    assert snapshot(books.book) == before, "plan() must not change the book"


@pytest.mark.parametrize(("name", "side", "limit", "qty", "account", "expected", "stopped"), MATCH_CASES,
                         ids=[case[0] for case in MATCH_CASES])
def test_execute_applies_the_plan(make_book: Any, name: str, side: int, limit: int | None, qty: int,
                                  account: str, expected: list[tuple[str, int, int]], stopped: bool) -> None:
    books = ladder(make_book())
    fills, _ = books.book.plan(side, limit, qty, account)
    books.book.execute(fills)
    # expected book: the ladder in book order (bids 99, 98, then asks 101 older first, 102, 104)
    # minus the fills, filled-out orders gone
    left = {oid: qty for oid, _, _, _, qty in LADDER}
    for oid, lots, _ in expected:
        left[oid] -= lots
    assert [(oid, qty) for oid, _, _, qty in snapshot(books.book)] == [
        (oid, left[oid]) for oid in ("b1", "b2", "a1", "a2", "a3", "a4") if left[oid] > 0
    ]
    assert len(books.book) == sum(1 for oid in left if left[oid] > 0)


@pytest.mark.parametrize(("name", "side", "limit", "qty", "account", "expected", "stopped"), MATCH_CASES,
                         ids=[case[0] for case in MATCH_CASES])
def test_match_is_plan_then_execute(make_book: Any, name: str, side: int, limit: int | None, qty: int,
                                    account: str, expected: list[tuple[str, int, int]],
                                    stopped: bool) -> None:
    planned = ladder(make_book())
    fills, _ = planned.book.plan(side, limit, qty, account)
    planned.book.execute(fills)
    matched = ladder(make_book())
    assert summary(matched.book.match(side, limit, qty, account)) == expected
    assert snapshot(matched.book) == snapshot(planned.book)
    assert matched.book.depth(10) == planned.book.depth(10)


def test_orders_and_best_prices(make_book: Any) -> None:
    book = ladder(make_book()).book
    assert book.best_bid() == 99
    assert book.best_ask() == 101
    assert len(book) == 6
    # bids best-first (99 then 98), then asks best-first, older first within 101
    assert [o.oid for o in book.orders()] == ["b1", "b2", "a1", "a2", "a3", "a4"]


def test_empty_book(make_book: Any) -> None:
    book = make_book()
    assert book.best_bid() is None and book.best_ask() is None
    assert book.depth(5) == ([], [])
    assert book.orders() == [] and len(book) == 0
    assert book.plan(BUY, None, 10, "x") == ([], False)
    assert book.match(SELL, 1, 10, "x") == []


def test_depth_aggregates_levels_best_first(make_book: Any) -> None:
    book = ladder(make_book()).book
    # 101 holds a1 5 + a2 3 = 8 lots
    assert book.depth(10) == ([(99, 2), (98, 6)], [(101, 8), (102, 4), (104, 10)])
    assert book.depth(2) == ([(99, 2), (98, 6)], [(101, 8), (102, 4)])
    assert book.depth(1) == ([(99, 2)], [(101, 8)])
    assert book.depth(0) == ([], [])


def test_filled_level_disappears(make_book: Any) -> None:
    book = ladder(make_book()).book
    # 8 lots empty the 101 level; the best ask moves to 102
    book.match(BUY, 101, 8, "x")
    assert book.best_ask() == 102
    assert book.depth(10)[1] == [(102, 4), (104, 10)]
    assert len(book) == 4


def test_partial_fill_keeps_priority(make_book: Any) -> None:
    books = ladder(make_book())
    books.book.match(BUY, 101, 2, "x")  # a1 5 -> 3, still first in line
    assert books.by_oid["a1"].qty == 3
    assert summary(books.book.plan(BUY, 101, 4, "y")[0]) == [("a1", 3, 101), ("a2", 1, 101)]


def test_cancel(make_book: Any) -> None:
    books = ladder(make_book())
    book = books.book
    book.cancel(books.by_oid["a1"])
    # a2 becomes first at 101 with 3 lots
    assert book.depth(10)[1] == [(101, 3), (102, 4), (104, 10)]
    assert summary(book.plan(BUY, 102, 5, "x")[0]) == [("a2", 3, 101), ("a3", 2, 102)]
    book.cancel(books.by_oid["a2"])
    assert book.best_ask() == 102
    book.cancel(books.by_oid["b1"])
    assert book.best_bid() == 98
    assert [o.oid for o in book.orders()] == ["b2", "a3", "a4"]
    assert len(book) == 3


def test_cancel_from_the_middle_of_a_level(make_book: Any) -> None:
    rows = [(f"s{i}", f"acct{i}", SELL, 100, i + 1) for i in range(5)]  # s0 1 lot ... s4 5 lots
    books = Books(rows, make_book())
    book = books.book
    book.cancel(books.by_oid["s2"])
    book.cancel(books.by_oid["s3"])
    # 1 + 2 + 5 = 8 lots left at 100
    assert book.depth(1) == ([], [(100, 8)])
    assert [o.oid for o in book.orders()] == ["s0", "s1", "s4"]
    assert len(book) == 3
    # a buy for 4 takes s0 1, s1 2 and skips the cancelled s2, s3: 1 from s4
    assert summary(book.match(BUY, 100, 4, "x")) == [("s0", 1, 100), ("s1", 2, 100), ("s4", 1, 100)]
    assert [(o.oid, o.qty) for o in book.orders()] == [("s4", 4)]
    book.cancel(books.by_oid["s4"])
    assert book.depth(5) == ([], []) and book.best_ask() is None and len(book) == 0


def test_cancelling_every_order_behind_the_front_then_the_front_empties_the_level(make_book: Any) -> None:
    rows = [(f"s{i}", "m", SELL, 100, 1) for i in range(4)] + [("t", "m", SELL, 101, 1)]
    books = Books(rows, make_book())
    for oid in ("s1", "s2", "s0", "s3"):
        books.book.cancel(books.by_oid[oid])
    assert books.book.best_ask() == 101
    assert books.book.depth(5) == ([], [(101, 1)])


@pytest.mark.parametrize("fused", [True, False], ids=["match", "plan+execute"])
def test_exact_fill_of_the_front_with_only_cancelled_orders_behind_it_removes_the_level(
        make_book: Any, fused: bool) -> None:
    rows = [("s0", "m", SELL, 100, 3), ("s1", "m", SELL, 100, 1), ("s2", "m", SELL, 100, 1),
            ("t", "m", SELL, 101, 2)]
    books = Books(rows, make_book())
    book = books.book
    book.cancel(books.by_oid["s1"])  # from the middle of the level
    book.cancel(books.by_oid["s2"])  # from its back
    # exactly s0's 3 lots: 100 is left with cancelled orders only, so it must be gone
    if fused:
        assert summary(book.match(BUY, 101, 3, "x")) == [("s0", 3, 100)]
    else:
        fills, _ = book.plan(BUY, 101, 3, "x")
        book.execute(fills)
    assert book.best_ask() == 101
    assert book.depth(5) == ([], [(101, 2)])
    assert len(book) == 1


def test_reduce_keeps_time_priority(make_book: Any) -> None:
    books = ladder(make_book())
    book = books.book
    book.reduce(books.by_oid["a1"], 1)
    # a1 is still first, now with 1 lot: 101 totals 1 + 3 = 4
    assert book.depth(1)[1] == [(101, 4)]
    assert summary(book.plan(BUY, 101, 3, "x")[0]) == [("a1", 1, 101), ("a2", 2, 101)]


def test_execute_takes_a_cut_prefix_of_a_plan(make_book: Any) -> None:
    books = ladder(make_book())
    fills, _ = books.book.plan(BUY, None, 15, "x")  # a1 5, a2 3, a3 4, a4 3
    # keep a1 whole and only 1 of a2's 3 lots, as the liquidator does when the fund runs dry
    books.book.execute([fills[0], (fills[1][0], 1)])
    assert books.book.depth(1)[1] == [(101, 2)]
    assert [(o.oid, o.qty) for o in books.book.orders()][2:] == [("a2", 2), ("a3", 4), ("a4", 10)]


def test_fast_book_refuses_what_it_cannot_do() -> None:
    books = ladder()
    with pytest.raises(BookError):
        books.book.reduce(books.by_oid["a1"], 5)  # not a reduction
    with pytest.raises(BookError):
        books.book.reduce(books.by_oid["a1"], 0)  # that is a cancel
    with pytest.raises(BookError):
        books.book.plan(BUY, 101, 0, "x")  # would be a zero-lot fill
    with pytest.raises(BookError):
        books.book.match(BUY, None, -1, "x")
    with pytest.raises(BookError):
        books.book.rest(RestingOrder("z", "zed", SELL, 110, 0, 99))
    fills, _ = books.book.plan(BUY, 101, 6, "x")
    books.book.execute(fills)
    with pytest.raises(BookError):
        books.book.cancel(books.by_oid["a1"])  # filled, no longer resting
    with pytest.raises(BookError):
        books.book.execute(fills)  # a stale plan: a1 is gone


def test_lazy_deletion_is_compacted() -> None:
    """Cancelling from the middle leaves garbage that must not grow without bound."""
    n = 3000
    books = Books([(f"o{i}", f"a{i}", BUY, 100 + i % 3, 1) for i in range(n)])
    book = books.book
    # cancel everything but the first and last order of each level: none at a level's ends
    survivors = {"o0", "o1", "o2", f"o{n - 1}", f"o{n - 2}", f"o{n - 3}"}
    for oid, order in books.by_oid.items():
        if oid not in survivors:
            book.cancel(order)
    assert len(book) == 6
    assert len(book._dead) <= max(OrderBook.COMPACT_AFTER, len(book)) + 1
    assert book.depth(5) == ([(102, 2), (101, 2), (100, 2)], [])
    assert [o.oid for o in book.orders()] == ["o2", f"o{n - 1}", "o1", f"o{n - 2}", "o0", f"o{n - 3}"]


def test_spare_levels_do_not_pile_up_when_the_price_drifts() -> None:
    """Emptied levels are kept for reuse, but a price walking away must not leave them forever."""
    book = OrderBook()
    for seq in range(5000):
        price = 1000 + seq  # a new price every time: rest an ask there, then lift it whole
        book.rest(RestingOrder(f"o{seq}", "maker", SELL, price, 1, seq))
        assert summary(book.match(BUY, price, 1, "taker")) == [(f"o{seq}", 1, price)]
    assert len(book) == 0 and book.best_ask() is None and book.depth(3) == ([], [])
    assert len(book._ask_levels) <= 2 * 0 + OrderBook.SPARE_LEVELS + 1


def test_a_spare_level_is_reused_in_place() -> None:
    books = Books([("a", "m", SELL, 100, 1), ("b", "m", SELL, 101, 1)])
    book = books.book
    book.match(BUY, 100, 1, "x")  # 100 empties
    assert book.depth(5) == ([], [(101, 1)])
    book.rest(RestingOrder("c", "m", SELL, 100, 2, 9))  # back at 100: best again
    assert book.best_ask() == 100
    assert book.depth(5) == ([], [(100, 2), (101, 1)])
    assert [o.oid for o in book.orders()] == ["c", "b"]


# ---- the fast book against the reference -------------------------------------------------------
ACCOUNTS = ["a", "b", "c"]
PRICES = st.integers(min_value=95, max_value=105)
QTYS = st.integers(min_value=1, max_value=12)
SIDES = st.sampled_from([BUY, SELL])


class EagerSweepBook(OrderBook):
    """Sweeps cancelled orders as soon as they outnumber live ones, and spare empty levels as soon
    as they outnumber live ones, so both sweeps run in short random streams too."""

    COMPACT_AFTER = 0
    SPARE_LEVELS = 0


class BookMachine(RuleBasedStateMachine):
    """Same commands to both books; they must agree fill for fill and level for level."""

    def __init__(self) -> None:
        super().__init__()
        self.fast: OrderBook = OrderBook()
        self.reference = ReferenceBook()
        self.pairs: dict[str, tuple[RestingOrder, RestingOrder]] = {}  # oid -> (fast's, reference's)
        self.seq = 0
        self.steps = 0
        self.self_trades = 0

    @initialize(eager=st.booleans())
    def choose_book(self, eager: bool) -> None:
        if eager:
            self.fast = EagerSweepBook()

    def take(self, side: int, limit: int | None, qty: int, account: str, fused: bool) -> None:
        """Match on both books; a limit order then rests its remainder unless it hit its own order
        (the engine's GTC rule)."""
        before = snapshot(self.fast)
        expected, stopped = self.reference.plan(side, limit, qty, account)
        fills, self_trade = self.fast.plan(side, limit, qty, account)
        assert summary(fills) == summary(expected)
        assert self_trade is stopped
        assert snapshot(self.fast) == before, "plan() changed the book"
        if fused:
            fills = self.fast.match(side, limit, qty, account)
            assert summary(fills) == summary(expected)
        else:
            self.fast.execute(fills)
        self.reference.execute(expected)
        self.self_trades += stopped
        for maker, _ in fills:
            if maker.qty == 0:
                del self.pairs[maker.oid]
        left = qty - sum(lots for _, lots in fills)
        if limit is not None and left and not stopped:
            oid = f"o{self.seq}"
            fast = RestingOrder(oid, account, side, limit, left, self.seq)
            ref = RestingOrder(oid, account, side, limit, left, self.seq)
            self.fast.rest(fast)
            self.reference.rest(ref)
            self.pairs[oid] = (fast, ref)
        self.seq += 1

    @rule(side=SIDES, price=PRICES, qty=QTYS, account=st.sampled_from(ACCOUNTS), fused=st.booleans())
    def limit_order(self, side: int, price: int, qty: int, account: str, fused: bool) -> None:
        self.take(side, price, qty, account, fused)

    @rule(side=SIDES, offset=st.integers(min_value=1, max_value=6), qty=QTYS,
          account=st.sampled_from(ACCOUNTS))
    def passive_order(self, side: int, offset: int, qty: int, account: str) -> None:
        """A limit order on its own side of 100, which mostly rests: it deepens the book so the
        crossing orders have several levels and queues to walk."""
        self.take(side, 100 - side * offset, qty, account, False)

    @rule(side=SIDES, qty=st.integers(min_value=1, max_value=40), account=st.sampled_from(ACCOUNTS),
          fused=st.booleans())
    def market_order(self, side: int, qty: int, account: str, fused: bool) -> None:
        self.take(side, None, qty, account, fused)

    @rule(side=SIDES, limit=st.one_of(st.none(), PRICES), qty=st.integers(min_value=1, max_value=40),
          account=st.sampled_from(ACCOUNTS), keep=st.integers(min_value=0, max_value=6),
          fraction=st.floats(min_value=0, max_value=1))
    def cut_plan(self, side: int, limit: int | None, qty: int, account: str, keep: int,
                 fraction: float) -> None:
        """The liquidator's use: plan, keep a prefix of the fills with its last one cut smaller,
        execute that; nothing rests."""
        expected, _ = self.reference.plan(side, limit, qty, account)
        fills, _ = self.fast.plan(side, limit, qty, account)
        assert summary(fills) == summary(expected)
        keep = min(keep, len(fills))
        if keep:
            last = max(1, int(fraction * fills[keep - 1][1]))
            fills = fills[:keep - 1] + [(fills[keep - 1][0], last)]
            expected = expected[:keep - 1] + [(expected[keep - 1][0], last)]
        self.fast.execute(fills)
        self.reference.execute(expected)
        for maker, _ in fills:
            if maker.qty == 0:
                del self.pairs[maker.oid]

    @rule(pick=st.integers(min_value=0, max_value=10**6))
    def cancel(self, pick: int) -> None:
        if not self.pairs:
            return
        oid = sorted(self.pairs)[pick % len(self.pairs)]
        fast, ref = self.pairs.pop(oid)
        self.fast.cancel(fast)
        self.reference.cancel(ref)

    @rule(pick=st.integers(min_value=0, max_value=10**6), fraction=st.floats(min_value=0, max_value=1))
    def reduce(self, pick: int, fraction: float) -> None:
        candidates = sorted(oid for oid, (fast, _) in self.pairs.items() if fast.qty > 1)
        if not candidates:
            return
        fast, ref = self.pairs[candidates[pick % len(candidates)]]
        new_qty = min(fast.qty - 1, 1 + int(fraction * (fast.qty - 1)))
        self.fast.reduce(fast, new_qty)
        self.reference.reduce(ref, new_qty)

    @invariant()
    def books_agree(self) -> None:
        self.steps += 1
        assert snapshot(self.fast) == snapshot(self.reference)
        assert [o.oid for o in self.fast.orders()] == [o.oid for o in self.reference.orders()]
        assert self.fast.depth(100) == self.reference.depth(100)
        assert self.fast.depth(2) == self.reference.depth(2)
        assert self.fast.best_bid() == self.reference.best_bid()
        assert self.fast.best_ask() == self.reference.best_ask()
        assert len(self.fast) == len(self.reference) == len(self.pairs)
        best_bid, best_ask = self.fast.best_bid(), self.fast.best_ask()
        assert best_bid is None or best_ask is None or best_bid < best_ask, "a resting book never crosses"

    def teardown(self) -> None:
        note_event("self-trade stops: none" if self.self_trades == 0 else "self-trade stops: some")
        note_event("book size at the end: 10+" if len(self.fast) >= 10 else "book size at the end: <10")
        note_event("steps: 50+" if self.steps >= 50 else "steps: <50")


BookMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=80, deadline=None,
                                         suppress_health_check=[HealthCheck.too_slow])
TestBookAgainstReference = BookMachine.TestCase


@pytest.mark.parametrize("book_class", [OrderBook, EagerSweepBook])
def test_long_seeded_stream_against_reference(book_class: type[OrderBook]) -> None:
    """One long reproducible stream through the same rules: books of a few hundred orders, deep
    queues, many cancels from the middle of levels (hypothesis explores short streams better)."""
    rng = random.Random(20260101)
    machine = BookMachine()
    machine.fast = book_class()
    accounts = [*ACCOUNTS, "d", "e", "f"]
    for _ in range(6000):
        roll = rng.random()
        side = rng.choice([BUY, SELL])
        account = rng.choice(accounts)
        if roll < 0.40:
            machine.passive_order(side, rng.randint(1, 8), rng.randint(1, 12), account)
        elif roll < 0.62:
            machine.limit_order(side, rng.randint(94, 106), rng.randint(1, 30), account, rng.random() < 0.5)
        elif roll < 0.67:
            machine.market_order(side, rng.randint(1, 60), account, rng.random() < 0.5)
        elif roll < 0.90:
            machine.cancel(rng.randrange(10**6))
        else:
            machine.reduce(rng.randrange(10**6), rng.random())
        machine.books_agree()
    assert machine.self_trades > 100
    assert len(machine.fast) > 50
