"""Price-time priority limit order book with integer prices (ticks) and quantities (lots)."""

from __future__ import annotations

import heapq
from collections import deque

BUY = 1
SELL = -1


class RestingOrder:
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


class OrderBook:
    """Levels are deques in time order; best prices come from heaps with lazy deletion."""

    def __init__(self) -> None:
        self._levels: tuple[dict[int, deque[RestingOrder]], dict[int, deque[RestingOrder]]] = ({}, {})
        self._heaps: tuple[list[int], list[int]] = ([], [])  # bids as negated prices, asks as prices
        self._count = 0

    def _side(self, side: int) -> int:
        return 0 if side == BUY else 1

    def _best(self, index: int) -> int | None:
        heap, levels = self._heaps[index], self._levels[index]
        while heap:
            price = -heap[0] if index == 0 else heap[0]
            if price in levels:
                return price
            heapq.heappop(heap)
        return None

    def best_bid(self) -> int | None:
        return self._best(0)

    def best_ask(self) -> int | None:
        return self._best(1)

    def _sorted_prices(self, index: int) -> list[int]:
        return sorted(self._levels[index], reverse=(index == 0))

    def plan(self, side: int, limit: int | None, qty: int, account: str) -> tuple[list[tuple[RestingOrder, int]], bool]:
        opposite = 1 if side == BUY else 0
        levels = self._levels[opposite]
        fills: list[tuple[RestingOrder, int]] = []
        if not levels:
            return fills, False
        best = self._best(opposite)
        prices = [best] if best is not None else []
        left = qty
        visited = 0
        while left > 0:
            if visited >= len(prices):
                prices = self._sorted_prices(opposite)
                if visited >= len(prices):
                    break
            price = prices[visited]
            visited += 1
            if limit is not None and (price > limit if side == BUY else price < limit):
                break
            for maker in levels[price]:
                if maker.account == account:
                    return fills, True
                take = maker.qty if maker.qty < left else left
                fills.append((maker, take))
                left -= take
                if left == 0:
                    break
        return fills, False

    def execute(self, fills: list[tuple[RestingOrder, int]]) -> None:
        for maker, lots in fills:
            maker.qty -= lots
            if maker.qty == 0:
                index = self._side(maker.side)
                level = self._levels[index][maker.price]
                level.popleft() if level[0] is maker else level.remove(maker)
                self._count -= 1
                if not level:
                    del self._levels[index][maker.price]

    def rest(self, order: RestingOrder) -> None:
        index = self._side(order.side)
        levels = self._levels[index]
        level = levels.get(order.price)
        if level is None:
            level = levels[order.price] = deque()
            heapq.heappush(self._heaps[index], -order.price if index == 0 else order.price)
        level.append(order)
        self._count += 1

    def cancel(self, order: RestingOrder) -> None:
        index = self._side(order.side)
        level = self._levels[index][order.price]
        level.remove(order)
        self._count -= 1
        if not level:
            del self._levels[index][order.price]

    def reduce(self, order: RestingOrder, new_qty: int) -> None:
        order.qty = new_qty

    def depth(self, levels: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        out = []
        for index in (0, 1):
            prices = self._sorted_prices(index)[:levels]
            out.append([(price, sum(o.qty for o in self._levels[index][price])) for price in prices])
        return out[0], out[1]

    def orders(self) -> list[RestingOrder]:
        return [o for index in (0, 1) for price in self._sorted_prices(index) for o in self._levels[index][price]]

    def __len__(self) -> int:
        return self._count

    def match(self, side: int, limit: int | None, qty: int, account: str) -> list[tuple[RestingOrder, int]]:
        fills, _ = self.plan(side, limit, qty, account)
        self.execute(fills)
        return fills
