"""Price-time priority limit order book with integer prices (ticks) and quantities (lots).

Layout, chosen by measurement (`bench/bench_book.py`), for a book that is matched against on every
order and walked best-first far more often than it is inspected:

- one dict per side from *key* to level, where a level is a `deque` of orders in arrival order
  (append on rest, `popleft` when the front is filled). A level that empties keeps its (empty)
  deque in the dict, so a price that trades away and comes back, as prices around the spread do
  all the time, costs no allocation; empty deques are swept when they outnumber the live levels;
- one ascending list of keys per side with the best level at the END, so the best key is
  `keys[-1]`, removing an emptied best level is `keys.pop()`, and walking best-first is walking
  the list backwards: no heap, no re-sorting. The key of a bid level is its price; the key of an
  ask level is its NEGATED price. With that, "the maker's price is at or inside the taker's limit"
  is `key >= bound` on both sides (bound = -limit against asks, +limit against bids), and a new
  level is placed with `bisect.insort`, a memmove of a few hundred pointers at most;
- cancellation by lazy deletion: an order cancelled from the middle of its level is put in the
  `_dead` set and skipped; it is dropped when it reaches the front, or by a compaction once the
  dead outnumber the live. Invariant kept by every mutation: the front order of every level is
  live, so no level ever consists only of cancelled orders and `best_*`, `depth` and `orders`
  never show a cancelled order or an empty level.

The `_dead` set relies on identity equality and hashing of orders: `RestingOrder` and its
subclasses must not define `__eq__`/`__hash__`.

The book only orders and matches. It never checks money, never rests a taker's remainder by
itself and assigns no sequence numbers: the engine does all that (`plan` first, its checks, then
`execute` and `rest`). Time priority is the order of `rest` calls, which the engine makes in
`seq` order; `seq` itself is carried, not read.

Speed notes (CPython 3.11, measured): `fills.append(...)` is left unbound because the specialized
list-append call is faster than a bound-method local; the number of resting orders is not kept
in a counter on every mutation but summed over the levels when asked (`len` is O(levels)); each
hot method picks its side with one branch and touches only that side's containers.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from itertools import islice

BUY = 1
SELL = -1

Fill = tuple["RestingOrder", int]


class BookError(Exception):
    """The book was misused in a way that would break its invariants (a zero-lot order, a stale
    plan, cancelling what is not resting): stop loudly. `execute` checks each fill as it applies
    it, so the fills before the offending one have been applied."""


class RestingOrder:
    """An order resting in the book. The book reads account, side, price and qty, writes only qty
    and uses oid in error messages; the other fields are engine data carried along.

    Equality and hashing are by identity (the book keeps cancelled orders in a set).
    """

    __slots__ = ("oid", "account", "side", "price", "qty", "seq", "reduce_only", "margin_mode", "leverage",
                 "reserved")

    def __init__(self, oid: str, account: str, side: int, price: int, qty: int, seq: int,
                 reduce_only: bool = False, margin_mode: str = "cross", leverage: int = 20,
                 reserved: int = 0) -> None:
        self.oid = oid
        self.account = account
        self.side = side
        self.price = price
        self.qty = qty
        self.seq = seq
        self.reduce_only = reduce_only
        self.margin_mode = margin_mode
        self.leverage = leverage
        self.reserved = reserved

    def __repr__(self) -> str:
        side = "buy" if self.side == BUY else "sell"
        return (f"RestingOrder({self.oid!r}, {self.account!r}, {side}, {self.qty}@{self.price}, "
                f"seq={self.seq})")


class OrderBook:
    """Price-time priority book; see the module docstring for the layout and its invariants."""

    __slots__ = ("_bid_levels", "_ask_levels", "_bid_keys", "_ask_keys", "_dead")

    #: lazily deleted orders are swept out once there are more than this many AND more of them
    #: than live orders, which keeps the sweep O(1) amortized per cancel (a class knob for tests)
    COMPACT_AFTER = 1024
    #: empty levels kept for reuse are swept once a side's dict holds more than twice its live
    #: levels plus this many (so memory follows a drifting price, amortized O(1) per new level)
    SPARE_LEVELS = 256

    def __init__(self) -> None:
        # key -> orders in arrival order; bid key = price, ask key = -price (best key is the largest).
        # May hold empty deques (spare levels), which are never in the key lists below.
        self._bid_levels: dict[int, deque[RestingOrder]] = {}
        self._ask_levels: dict[int, deque[RestingOrder]] = {}
        # the keys of the non-empty levels above, ascending: the best level is keys[-1]
        self._bid_keys: list[int] = []
        self._ask_keys: list[int] = []
        # cancelled orders still sitting behind the front of their level
        self._dead: set[RestingOrder] = set()

    # ---- reading ---------------------------------------------------------------------------------
    def best_bid(self) -> int | None:
        keys = self._bid_keys
        return keys[-1] if keys else None

    def best_ask(self) -> int | None:
        keys = self._ask_keys
        return -keys[-1] if keys else None

    def __len__(self) -> int:
        """Resting orders, summed over the levels (O(levels)): cheaper overall than counting on
        every rest and fill."""
        return (sum(map(len, self._bid_levels.values())) + sum(map(len, self._ask_levels.values()))
                - len(self._dead))

    def depth(self, levels: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """(bids best-first, asks best-first) as (price, total lots), at most `levels` each."""
        dead = self._dead
        sides: list[list[tuple[int, int]]] = []
        bids, asks = (self._bid_levels, self._bid_keys, 1), (self._ask_levels, self._ask_keys, -1)
        for side_levels, keys, sign in (bids, asks):
            totals = []
            for key in islice(reversed(keys), max(levels, 0)):
                level = side_levels[key]
                lots = sum(o.qty for o in level if o not in dead) if dead else sum(o.qty for o in level)
                totals.append((sign * key, lots))
            sides.append(totals)
        return sides[0], sides[1]

    def orders(self) -> list[RestingOrder]:
        """Every resting order: bids best-first, then asks best-first, arrival order within a level."""
        dead = self._dead
        out: list[RestingOrder] = []
        for side_levels, keys in ((self._bid_levels, self._bid_keys), (self._ask_levels, self._ask_keys)):
            for key in reversed(keys):
                if dead:
                    out.extend(o for o in side_levels[key] if o not in dead)
                else:
                    out.extend(side_levels[key])
        return out

    # ---- matching --------------------------------------------------------------------------------
    def plan(self, side: int, limit: int | None, qty: int, account: str) -> tuple[list[Fill], bool]:
        """The fills an incoming order would get, best price first then oldest first, without
        changing the book. Stops when `qty` is filled, when prices stop crossing, or at the first
        maker of `account` (self-trade prevention, expire taker: that maker and everything after it
        is left alone); the bool says whether the self-trade stop was the reason."""
        if side == BUY:
            keys = self._ask_keys
            if not keys:
                return [], False
            if limit is None:
                bound = keys[0]
            else:
                bound = -limit
                if keys[-1] < bound:
                    return [], False
            levels = self._ask_levels
        else:
            keys = self._bid_keys
            if not keys:
                return [], False
            if limit is None:
                bound = keys[0]
            else:
                bound = limit
                if keys[-1] < bound:
                    return [], False
            levels = self._bid_levels
        if qty <= 0:
            raise BookError(f"an order for {qty} lots cannot match")
        dead = self._dead
        fills: list[Fill] = []
        left = qty
        index = len(keys) - 1
        key = keys[index]  # crosses: checked above
        while True:
            for maker in levels[key]:
                if dead and maker in dead:
                    continue
                if maker.account == account:
                    return fills, True
                lots = maker.qty
                if lots >= left:
                    fills.append((maker, left))
                    return fills, False
                fills.append((maker, lots))
                left -= lots
            if not index:
                return fills, False
            index -= 1
            key = keys[index]
            if key < bound:
                return fills, False

    def execute(self, fills: list[Fill]) -> None:
        """Apply a list returned by `plan()` on this unchanged book, or a prefix of it whose last
        fill may be cut smaller (the liquidator stops where the fund can no longer pay). Every
        maker but possibly the last is filled whole and, by construction, is then the front of the
        best level; a fill that does not fit raises `BookError`."""
        levels = None
        for maker, lots in fills:
            left = maker.qty - lots
            if left > 0:
                maker.qty = left
                continue
            if left < 0 or lots <= 0:
                raise BookError(f"a fill of {lots} lots does not fit the {maker.qty} left on {maker.oid!r}")
            if levels is None:
                if maker.side == BUY:
                    levels, keys, sign = self._bid_levels, self._bid_keys, 1
                else:
                    levels, keys, sign = self._ask_levels, self._ask_keys, -1
                dead = self._dead
            key = sign * maker.price
            level = levels[key]
            if not level or level[0] is not maker:
                raise BookError(f"{maker.oid!r} is not at the front of its level: these fills are not "
                                "from plan() on this book")
            maker.qty = 0
            level.popleft()
            if dead:
                while level and level[0] in dead:
                    dead.discard(level.popleft())
            if not level:
                if keys[-1] == key:
                    keys.pop()
                else:
                    del keys[bisect_left(keys, key)]

    def match(self, side: int, limit: int | None, qty: int, account: str) -> list[Fill]:
        """`plan` then `execute` in one pass (same fills, same resulting book); the remainder is
        not rested."""
        if side == BUY:
            keys = self._ask_keys
            if not keys:
                return []
            if limit is None:
                bound = keys[0]
            else:
                bound = -limit
                if keys[-1] < bound:
                    return []
            levels = self._ask_levels
        else:
            keys = self._bid_keys
            if not keys:
                return []
            if limit is None:
                bound = keys[0]
            else:
                bound = limit
                if keys[-1] < bound:
                    return []
            levels = self._bid_levels
        if qty <= 0:
            raise BookError(f"an order for {qty} lots cannot match")
        dead = self._dead
        fills: list[Fill] = []
        left = qty
        key = keys[-1]  # crosses: checked above
        while True:
            level = levels[key]
            while level:
                maker = level[0]
                if dead and maker in dead:
                    dead.discard(level.popleft())
                    continue
                if maker.account == account:
                    return fills
                lots = maker.qty
                if lots > left:
                    maker.qty = lots - left
                    fills.append((maker, left))
                    return fills
                maker.qty = 0
                level.popleft()
                fills.append((maker, lots))
                left -= lots
                if not left:
                    # filled exactly by this maker: restore the live-front invariant
                    if dead:
                        while level and level[0] in dead:
                            dead.discard(level.popleft())
                    break
            if level:
                return fills
            keys.pop()
            if not left or not keys:
                return fills
            key = keys[-1]
            if key < bound:
                return fills

    # ---- resting and removing --------------------------------------------------------------------
    def rest(self, order: RestingOrder) -> None:
        """Add `order` at the back of its price level (it becomes the youngest there)."""
        if order.qty <= 0:
            raise BookError(f"{order.oid!r} has {order.qty} lots: nothing to rest")
        if order.side == BUY:
            key = order.price
            levels = self._bid_levels
        else:
            key = -order.price
            levels = self._ask_levels
        try:
            level = levels[key]
        except KeyError:
            level = self._new_level(levels, key)
        if not level:
            keys = self._bid_keys if order.side == BUY else self._ask_keys
            if not keys or key > keys[-1]:
                keys.append(key)
            else:
                insort(keys, key)
        level.append(order)

    def cancel(self, order: RestingOrder) -> None:
        """Remove a resting order: O(1) at either end of its level, lazily (O(1) amortized) inside it."""
        if order.side == BUY:
            levels, keys, key = self._bid_levels, self._bid_keys, order.price
        else:
            levels, keys, key = self._ask_levels, self._ask_keys, -order.price
        level = levels.get(key)
        dead = self._dead
        if not level or order.qty <= 0 or order in dead:
            raise BookError(f"{order.oid!r} is not resting in this book")
        if level[0] is order:
            level.popleft()
            while level and level[0] in dead:
                dead.discard(level.popleft())
            if not level:
                del keys[bisect_left(keys, key)]
        elif level[-1] is order:
            level.pop()
        else:
            dead.add(order)
            if len(dead) > self.COMPACT_AFTER and len(dead) > len(self):
                self._compact()

    def reduce(self, order: RestingOrder, new_qty: int) -> None:
        """Lower a resting order's quantity in place: it keeps its time priority."""
        if not 0 < new_qty < order.qty:
            raise BookError(f"cannot reduce {order.oid!r} from {order.qty} to {new_qty} lots")
        if order in self._dead:
            raise BookError(f"{order.oid!r} is not resting in this book")
        order.qty = new_qty

    # ---- internals -------------------------------------------------------------------------------
    def _new_level(self, levels: dict[int, deque[RestingOrder]], key: int) -> deque[RestingOrder]:
        """A deque for a price never seen (or swept): first drop spare empty levels if they have
        piled up."""
        live = len(self._bid_keys) if levels is self._bid_levels else len(self._ask_keys)
        if len(levels) > 2 * live + self.SPARE_LEVELS:
            for spare in [k for k, level in levels.items() if not level]:
                del levels[spare]
        level: deque[RestingOrder] = deque()
        levels[key] = level
        return level

    def _compact(self) -> None:
        """Rebuild every level without its cancelled orders, so lazily deleted orders cost
        O(1) amortized memory and time."""
        dead = self._dead
        for levels in (self._bid_levels, self._ask_levels):
            for key, level in levels.items():
                if any(o in dead for o in level):
                    levels[key] = deque(o for o in level if o not in dead)
        dead.clear()
