"""A slow order book whose only virtue is being obviously right.

All resting orders live in one plain list. Every question is answered by sorting that list by
priority: best price first (highest bid, lowest ask), then lowest `seq` (oldest) first. Nothing is
cached, nothing is deleted lazily. `tests/test_book.py` drives it and the fast
`solvent.engine.book.OrderBook` with the same commands and asserts they agree.

Time priority here is `seq`, the engine's arrival number, so callers must rest orders in
increasing `seq` (the engine does); the fast book instead keeps the order in which `rest` was
called, which is the same thing under that rule.
"""

from __future__ import annotations

from solvent.engine.book import BUY, SELL, RestingOrder


def priority(order: RestingOrder) -> tuple[int, int]:
    """Sort key: better price first, then older first."""
    if order.side == BUY:
        return (-order.price, order.seq)  # highest bid first
    return (order.price, order.seq)  # lowest ask first


class ReferenceBook:
    def __init__(self) -> None:
        self.resting: list[RestingOrder] = []

    def side_orders(self, side: int) -> list[RestingOrder]:
        """The resting orders of one side, best first."""
        return sorted((o for o in self.resting if o.side == side), key=priority)

    def best_bid(self) -> int | None:
        bids = self.side_orders(BUY)
        return bids[0].price if bids else None

    def best_ask(self) -> int | None:
        asks = self.side_orders(SELL)
        return asks[0].price if asks else None

    def plan(self, side: int, limit: int | None, qty: int,
             account: str) -> tuple[list[tuple[RestingOrder, int]], bool]:
        fills: list[tuple[RestingOrder, int]] = []
        left = qty
        for maker in self.side_orders(-side):
            if left == 0:
                break
            if limit is not None:
                if side == BUY and maker.price > limit:
                    break
                if side == SELL and maker.price < limit:
                    break
            if maker.account == account:
                return fills, True
            lots = min(left, maker.qty)
            fills.append((maker, lots))
            left -= lots
        return fills, False

    def execute(self, fills: list[tuple[RestingOrder, int]]) -> None:
        for maker, lots in fills:
            assert any(o is maker for o in self.resting)
            assert 0 < lots <= maker.qty
            maker.qty -= lots
        self.resting = [o for o in self.resting if o.qty > 0]

    def match(self, side: int, limit: int | None, qty: int, account: str) -> list[tuple[RestingOrder, int]]:
        fills, _ = self.plan(side, limit, qty, account)
        self.execute(fills)
        return fills

    def rest(self, order: RestingOrder) -> None:
        assert order.qty > 0
        self.resting.append(order)

    def cancel(self, order: RestingOrder) -> None:
        kept = [o for o in self.resting if o is not order]
        assert len(kept) == len(self.resting) - 1
        self.resting = kept

    def reduce(self, order: RestingOrder, new_qty: int) -> None:
        assert any(o is order for o in self.resting)
        assert 0 < new_qty < order.qty
        order.qty = new_qty

    def depth(self, levels: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        out: list[list[tuple[int, int]]] = []
        for side in (BUY, SELL):
            totals: list[tuple[int, int]] = []
            for order in self.side_orders(side):
                if totals and totals[-1][0] == order.price:
                    totals[-1] = (order.price, totals[-1][1] + order.qty)
                else:
                    totals.append((order.price, order.qty))
            out.append(totals[:levels])
        return out[0], out[1]

    def orders(self) -> list[RestingOrder]:
        return self.side_orders(BUY) + self.side_orders(SELL)

    def __len__(self) -> int:
        return len(self.resting)
