"""Orders and fills as Binance reports them, read from the engine's event log.

Binance identifies an order by a numeric `orderId` and reports filled and cancelled orders long after
they left the book; the engine keeps only resting orders and emits an event for everything else. This
index reads the engine's events once each, in order, and keeps per order its numeric id (the seq of
its `order` event; a forced liquidation's is the seq of its `liquidation` event), what filled and
whether it was cancelled. It derives; it never decides: whether an order is still open is always the
engine's `account.orders`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from solvent.engine.core import Engine
from solvent.engine.timefmt import parse_time

ZERO = Decimal(0)


@dataclass(slots=True)
class OrderRecord:
    order_id: int
    account: str
    client_id: str
    market: str
    side: str  # buy / sell
    kind: str  # limit / market
    tif: str
    price: str | None
    qty: Decimal
    reduce_only: bool
    time: int
    update_time: int
    executed: Decimal = ZERO
    quote: Decimal = ZERO
    cancelled: bool = False
    forced: bool = False


@dataclass(slots=True)
class Fill:
    seq: int
    time: int
    price: Decimal
    qty: Decimal


@dataclass
class OrderIndex:
    engine: Engine
    done: int = 0
    orders: dict[int, OrderRecord] = field(default_factory=dict)
    by_client: dict[tuple[str, str], int] = field(default_factory=dict)
    #: market -> every fill, oldest first (the 24 h ticker)
    fills: dict[str, list[Fill]] = field(default_factory=dict)
    #: liquidation ref -> fills of its IOC order waiting for the `liquidation` event that follows them
    pending: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)

    def update(self) -> OrderIndex:
        events = self.engine.events
        for event in events[self.done:]:
            self._read(event)
        self.done = len(events)
        return self

    def find(self, account: str, order_id: int | None, client_id: str | None) -> OrderRecord | None:
        """The account's order by numeric id or client id; another account's order is not found."""
        if order_id is None and client_id is not None:
            order_id = self.by_client.get((account, client_id))
        record = self.orders.get(order_id) if order_id is not None else None
        return record if record is not None and record.account == account else None

    def order_id(self, account: str, client_id: str) -> int | None:
        return self.by_client.get((account, client_id))

    def _read(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "order" and "market" in event and "side" in event:
            self._order(event)
        elif kind == "trade":
            self._trade(event)
        elif kind == "cancel":
            order_id = self.by_client.get((event["account"], event["id"]))
            if order_id is not None:
                self.orders[order_id].cancelled = True
                self.orders[order_id].update_time = parse_time(event["time"])
        elif kind == "liquidation":
            self._liquidation(event)

    def _order(self, event: dict[str, Any]) -> None:
        if event.get("margin_account") is not None or event["market"] not in self.engine.markets:
            return  # spot orders are not futures orders
        when = parse_time(event["time"])
        record = OrderRecord(event["seq"], event["account"], event["id"], event["market"], event["side"],
                             event.get("order_type", "limit"), event.get("tif", "gtc"), event.get("price"),
                             Decimal(event["qty"]), bool(event.get("reduce_only")), when, when)
        self.orders[record.order_id] = record
        self.by_client[(record.account, record.client_id)] = record.order_id

    def _trade(self, event: dict[str, Any]) -> None:
        price, qty, when = Decimal(event["price"]), Decimal(event["qty"]), parse_time(event["time"])
        self.fills.setdefault(event["market"], []).append(Fill(event["seq"], when, price, qty))
        for account, client_id in ((event["taker"], event["taker_order"]), (event["maker"], event["maker_order"])):
            order_id = self.by_client.get((account, client_id))
            if order_id is None:
                if event.get("liquidation") and client_id == event["taker_order"]:
                    filled, quote = self.pending.get(client_id, (ZERO, ZERO))
                    self.pending[client_id] = (filled + qty, quote + qty * price)
                continue
            record = self.orders[order_id]
            record.executed += qty
            record.quote += qty * price
            record.update_time = when

    def _liquidation(self, event: dict[str, Any]) -> None:
        when = parse_time(event["time"])
        filled, quote = self.pending.pop(event["ref"], (ZERO, ZERO))
        record = OrderRecord(event["seq"], event["account"], event["ref"], event["market"],
                             "sell" if event["side"] == "long" else "buy", "limit", "ioc",
                             event.get("bankruptcy_price"), Decimal(event["qty"]), True, when, when,
                             filled, quote, forced=True)
        self.orders[record.order_id] = record
        self.by_client[(record.account, record.client_id)] = record.order_id


def order_index(holder: Any, engine: Engine) -> OrderIndex:
    """The index kept on `holder` (the app's state), rebuilt if the venue's engine was replaced."""
    index: OrderIndex | None = getattr(holder, "fapi_orders", None)
    if index is None or index.engine is not engine or index.done > len(engine.events):
        index = OrderIndex(engine)
        holder.fapi_orders = index
    return index.update()
