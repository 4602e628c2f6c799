"""Accounts and positions: plain state, changed only by the engine's operations."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from solvent.engine.book import RestingOrder
from solvent.engine.lending import MarginAccount

CROSS = "cross"
ISOLATED = "isolated"
MARGIN_MODES = (CROSS, ISOLATED)
DEFAULT_LEVERAGE = 20


class Order(RestingOrder):
    """A resting order as the engine keeps it: the book's order plus the market it rests in."""

    __slots__ = ("market",)

    def __init__(self, market: str, oid: str, account: str, side: int, price: int, qty: int, seq: int,
                 reduce_only: bool, margin_mode: str, leverage: int, reserved: int) -> None:
        super().__init__(oid, account, side, price, qty, seq, reduce_only, margin_mode, leverage, reserved)
        self.market = market


class SpotOrder(RestingOrder):
    """A resting order on a spot pair, trading from one of the account's margin accounts (`holder_name`).
    `margin_mode`, `leverage` and `reserved` of the book's order are unused."""

    __slots__ = ("market", "holder_name")

    def __init__(self, market: str, holder_name: str, oid: str, account: str, side: int, price: int, qty: int,
                 seq: int) -> None:
        super().__init__(oid, account, side, price, qty, seq)
        self.market = market
        self.holder_name = holder_name


@dataclass(slots=True)
class Position:
    """One-way position in one market.

    `qty` is signed lots; `cost` is the exact sum of `market.value` over the open lots (lots·ticks
    for linear, lots/ticks for inverse), reduced pro rata on closes, so the entry price is exact:
    linear `cost/|qty|`, inverse `|qty|/cost` (SPEC §3: kept as cost, not as a rounded price).
    """

    market: str
    mode: str
    leverage: int
    qty: int = 0
    cost: int | Fraction = 0


@dataclass(slots=True)
class Account:
    id: str
    parent: str | None = None
    positions: dict[str, Position] = field(default_factory=dict)
    #: per market: (margin mode, leverage) chosen by the trader
    settings: dict[str, tuple[str, int]] = field(default_factory=dict)
    #: open orders by client order id
    orders: dict[str, Order] = field(default_factory=dict)
    #: every client order id this account ever used: a retried request never books twice
    used_ids: set[str] = field(default_factory=set)
    #: margin (borrowing) accounts by name: cross, cross_pro, isolated:<PAIR> (SPEC §9)
    margin: dict[str, MarginAccount] = field(default_factory=dict)
    #: open spot orders by client order id (they trade from a margin account)
    spot_orders: dict[str, SpotOrder] = field(default_factory=dict)

    def setting(self, market: str) -> tuple[str, int]:
        return self.settings.get(market, (CROSS, DEFAULT_LEVERAGE))
