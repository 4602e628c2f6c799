"""Which margin accounts an index-price step must check: trigger prices per asset, so a step that
moves nobody to a threshold costs O(log n), not a scan of every account.

An account is armed against the threshold it can next reach (its margin-call level λ while not
called, else its liquidation level). Its slack is S = A − λ·L (USDT units, exact, at the current
index prices and with interest as of this hour). Moving asset X's index from p₀ to p changes
A − λ·L by c_X·(p − p₀), where c_X = (held_X − λ·owed_X)·value of one unit of X per unit of price.
With k assets of non-zero c, each may use S/k: the account is safe while every X stays on the safe
side of p₀ − S/(k·c_X) (c_X > 0: a fall hurts) or p₀ + S/(k·|c_X|) (c_X < 0: a rise hurts), even if
all of them move at once. Crossing a trigger only means "check exactly now"; the exact check then
re-arms the account.

While an account is called (margin call emitted), it is also armed where one asset's move alone
would lift it above the call level again, so that it is re-checked and its call reset (a recovery
made of several assets' moves together is noticed at its next booking or the next hour).

Interest changes liabilities only at whole hours, so when an index step falls in a new hour every
account with loans is checked exactly and re-armed (O(n) once an hour). Any booking on a margin
account (transfer, borrow, repay, fill, liquidation) marks it dirty; dirty accounts are checked
exactly and re-armed at the next index step.
"""

from __future__ import annotations

import heapq
from fractions import Fraction

Key = tuple[str, str]  # (account, margin account name)


class MarginIndex:
    def __init__(self) -> None:
        #: asset -> heap of (−trigger, version, key): crossed when the price falls to the trigger
        self.falls: dict[str, list[tuple[Fraction, int, Key]]] = {}
        #: asset -> heap of (trigger, version, key): crossed when the price rises to the trigger
        self.rises: dict[str, list[tuple[Fraction, int, Key]]] = {}
        self.version: dict[Key, int] = {}
        self.dirty: set[Key] = set()
        #: the hour up to which interest was included when the accounts were armed
        self.hour: int | None = None

    def touch(self, key: Key) -> None:
        self.dirty.add(key)

    def disarm(self, key: Key) -> None:
        self.version[key] = self.version.get(key, 0) + 1

    def arm(self, key: Key, triggers: list[tuple[str, int, Fraction]]) -> None:
        """Arm `key` with (asset, direction, trigger price) triggers; the old ones become stale."""
        version = self.version.get(key, 0) + 1
        self.version[key] = version
        for asset, direction, price in triggers:
            heap = self.rises.setdefault(asset, []) if direction > 0 else self.falls.setdefault(asset, [])
            heapq.heappush(heap, (price if direction > 0 else -price, version, key))
            if len(heap) > 4 * len(self.version) + 1024:  # stale entries of re-armed accounts: sweep them
                heap[:] = [entry for entry in heap if self.version.get(entry[2]) == entry[1]]
                heapq.heapify(heap)

    def crossed(self, asset: str, price: Fraction) -> set[Key]:
        """Pop every live trigger of `asset` that `price` reached."""
        out: set[Key] = set()
        version = self.version
        rises = self.rises.get(asset)
        while rises and rises[0][0] <= price:
            _, seen, key = heapq.heappop(rises)
            if version.get(key) == seen:
                out.add(key)
        falls = self.falls.get(asset)
        while falls and -falls[0][0] >= price:
            _, seen, key = heapq.heappop(falls)
            if version.get(key) == seen:
                out.add(key)
        return out
