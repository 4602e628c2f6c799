"""Price-time priority limit order book with integer prices (ticks) and quantities (lots).

Layout, chosen by measurement (`bench/bench_book.py`), for a book that is matched against on every
order and walked best-first far more often than it is inspected:

- one dict per side from *key* to level, where a level is a `deque` of orders in arrival order
  (append on rest, `popleft` when the front is filled);
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

The book only orders and matches; it never validates against money, never self-rests a taker,
and assigns no sequence numbers: the engine does all that (`plan` first, checks, then `execute`).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from itertools import islice

BUY = 1
SELL = -1

Fill = tuple["RestingOrder", int]


class BookError(Exception):
    """The book was asked to do something that breaks its invariants; nothing was changed."""


class RestingOrder:
    """An order resting in the book. The book reads oid, account, side, price, qty and seq and only
    ever writes qty; the other fields are engine data carried along.

    Equality and hashing are by identity (the book keeps cancelled orders in a set).
    """

    __slots__ = ("oid", "account", "side", "price", "qty", "seq", "reduce_only", "margin_mode", "leverage",
                 "reserved")

    def __init__(self, oid: str, account: str, side: int, price: int, qty: int, seq: int, reduce_only: bool = False,
                 margin_mode: str = "cross", leverage: int = 20, reserved: int = 0) -> None:
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
        return f"RestingOrder({self.oid!r}, {self.account!r}, {side}, {self.qty}@{self.price}, seq={self.seq})"


class OrderBook:
    """Price-time priority book; see the module docstring for the layout and its invariants."""

    __slots__ = ("_bid_levels", "_ask_levels", "_bid_keys", "_ask_keys", "_dead", "_count")

    #: lazily deleted orders are swept out once there are more than this many AND more of them
    #: than live orders, which keeps the sweep O(1) amortized per cancel (a class knob for tests)
    COMPACT_AFTER = 1024

    def __init__(self) -> None:
        # key -> orders in arrival order; bid key = price, ask key = -price (best key is the largest)
        self._bid_levels: dict[int, deque[RestingOrder]] = {}
        self._ask_levels: dict[int, deque[RestingOrder]] = {}
        # the keys of the levels above, ascending: the best level is keys[-1]
        self._bid_keys: list[int] = []
        self._ask_keys: list[int] = []
        # cancelled orders still sitting behind the front of their level
        self._dead: set[RestingOrder] = set()
        self._count = 0

    # ---- reading ---------------------------------------------------------------------------------
    def best_bid(self) -> int | None:
        keys = self._bid_keys
        return keys[-1] if keys else None

    def best_ask(self) -> int | None:
        keys = self._ask_keys
        return -keys[-1] if keys else None

    def __len__(self) -> int:
        return self._count

    def depth(self, levels: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """(bids best-first, asks best-first) as (price, total lots), at most `levels` each."""
        dead = self._dead
        sides: list[list[tuple[int, int]]] = []
        for side_levels, keys, sign in ((self._bid_levels, self._bid_keys, 1), (self._ask_levels, self._ask_keys, -1)):
            out = []
            for key in islice(reversed(keys), max(levels, 0)):
                level = side_levels[key]
                total = sum(o.qty for o in level if o not in dead) if dead else sum(o.qty for o in level)
                out.append((sign * key, total))
            sides.append(out)
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
        dead = self._dead
        fills: list[Fill] = []
        append = fills.append
        left = qty
        index = len(keys) - 1
        while index >= 0:
            key = keys[index]
            if key < bound:
                break
            for maker in levels[key]:
                if dead and maker in dead:
                    continue
                if maker.account == account:
                    return fills, True
                lots = maker.qty
                if lots >= left:
                    append((maker, left))
                    return fills, False
                append((maker, lots))
                left -= lots
            index -= 1
        return fills, False

    def execute(self, fills: list[Fill]) -> None:
        """Apply a list returned by `plan()` on this unchanged book: every maker but possibly the
        last is filled whole and, by construction, is then the front of the best level."""
        if not fills:
            return
        if fills[0][0].side == BUY:
            levels, keys, sign = self._bid_levels, self._bid_keys, 1
        else:
            levels, keys, sign = self._ask_levels, self._ask_keys, -1
        dead = self._dead
        for maker, lots in fills:
            left = maker.qty - lots
            if left > 0:
                maker.qty = left
                continue
            if left < 0:
                raise BookError(f"fill of {lots} lots exceeds the {maker.qty} left on {maker.oid!r}")
            key = sign * maker.price
            level = levels[key]
            if level[0] is not maker:
                raise BookError(f"{maker.oid!r} is not at the front of its level: fills are not from plan()")
            maker.qty = 0
            level.popleft()
            self._count -= 1
            if dead:
                while level and level[0] in dead:
                    dead.discard(level.popleft())
            if not level:
                self._drop_level(levels, keys, key)

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
        dead = self._dead
        fills: list[Fill] = []
        append = fills.append
        left = qty
        removed = 0
        while keys:
            key = keys[-1]
            if key < bound:
                break
            level = levels[key]
            popleft = level.popleft
            while level:
                maker = level[0]
                if dead and maker in dead:
                    dead.discard(popleft())
                    continue
                if maker.account == account:
                    self._count -= removed
                    return fills
                lots = maker.qty
                if lots > left:
                    maker.qty = lots - left
                    append((maker, left))
                    self._count -= removed
                    return fills
                maker.qty = 0
                popleft()
                removed += 1
                append((maker, lots))
                left -= lots
                if not left:
                    break
            if level:
                # filled exactly on this level's current front: restore the live-front invariant
                if dead:
                    while level and level[0] in dead:
                        dead.discard(popleft())
                    if not level:
                        del levels[key]
                        keys.pop()
                break
            del levels[key]
            keys.pop()
            if not left:
                break
        self._count -= removed
        return fills

    # ---- resting and removing --------------------------------------------------------------------
    def rest(self, order: RestingOrder) -> None:
        """Add `order` at the back of its price level (it becomes the youngest there)."""
        if order.side == BUY:
            levels, keys, key = self._bid_levels, self._bid_keys, order.price
        else:
            levels, keys, key = self._ask_levels, self._ask_keys, -order.price
        level = levels.get(key)
        if level is None:
            levels[key] = deque((order,))
            if not keys or key > keys[-1]:
                keys.append(key)
            else:
                insort(keys, key)
        else:
            level.append(order)
        self._count += 1

    def cancel(self, order: RestingOrder) -> None:
        """Remove a resting order: O(1) at either end of its level, lazily (O(1) amortized) inside it."""
        if order.side == BUY:
            levels, keys, key = self._bid_levels, self._bid_keys, order.price
        else:
            levels, keys, key = self._ask_levels, self._ask_keys, -order.price
        level = levels.get(key)
        dead = self._dead
        if level is None or order.qty <= 0 or order in dead:
            raise BookError(f"{order.oid!r} is not resting in this book")
        if level[0] is order:
            level.popleft()
            while level and level[0] in dead:
                dead.discard(level.popleft())
            if not level:
                self._drop_level(levels, keys, key)
        elif level[-1] is order:
            level.pop()
        else:
            dead.add(order)
            if len(dead) > self.COMPACT_AFTER and len(dead) > self._count:
                self._count -= 1
                self._compact()
                return
        self._count -= 1

    def reduce(self, order: RestingOrder, new_qty: int) -> None:
        """Lower a resting order's quantity in place: it keeps its time priority."""
        if not 0 < new_qty < order.qty:
            raise BookError(f"cannot reduce {order.oid!r} from {order.qty} to {new_qty} lots")
        if order in self._dead:
            raise BookError(f"{order.oid!r} is not resting in this book")
        order.qty = new_qty

    # ---- internals -------------------------------------------------------------------------------
    @staticmethod
    def _drop_level(levels: dict[int, deque[RestingOrder]], keys: list[int], key: int) -> None:
        del levels[key]
        if keys[-1] == key:
            keys.pop()
        else:
            del keys[bisect_left(keys, key)]

    def _compact(self) -> None:
        """Rebuild every level without its cancelled orders, so lazily deleted orders cost
        O(1) amortized memory and time."""
        dead = self._dead
        for levels in (self._bid_levels, self._ask_levels):
            for key, level in levels.items():
                if any(o in dead for o in level):
                    levels[key] = deque(o for o in level if o not in dead)
        dead.clear()
