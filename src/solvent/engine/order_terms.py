"""What every order says, futures or spot: side, type, quantity, time in force, price, client id; and the
status an order ends its command with. One parser, so both kinds of market refuse the same input alike."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from solvent.engine.book import BUY, SELL
from solvent.engine.errors import Rejected

if TYPE_CHECKING:
    from solvent.engine.accounts import Account
    from solvent.engine.fields import Fields
    from solvent.markets import Market, SpotMarket

SIDES = {"buy": BUY, "sell": SELL}
SIDE_NAMES = {BUY: "buy", SELL: "sell"}
TIFS = ("gtc", "ioc", "fok", "post_only")


class OrderTerms(NamedTuple):
    side: int
    kind: str  # limit / market
    qty: int  # lots
    tif: str  # a market order's is ioc or fok
    price: int | None  # ticks; None for a market order


def order_terms(fields: Fields, market: Market | SpotMarket) -> OrderTerms:
    side = SIDES[fields.choice("side", ("buy", "sell"))]
    kind = fields.choice("type", ("limit", "market"), default="limit")
    qty = market.qty_lots("qty", fields.require("qty"))
    tif = fields.choice("tif", TIFS, default="gtc" if kind == "limit" else "ioc")
    if kind == "limit":
        return OrderTerms(side, kind, qty, tif, market.price_ticks("price", fields.require("price")))
    if fields.raw.get("price") is not None:
        raise Rejected("price", "a market order takes no price")
    if tif == "post_only":
        raise Rejected("tif", "a market order cannot be post-only")
    return OrderTerms(side, kind, qty, "fok" if tif == "fok" else "ioc", None)


def client_order_id(fields: Fields, account: Account, market: str, next_seq: int) -> str:
    """The order's client id (`<market>-<seq>` if none is given), refused if the account ever used it."""
    oid = f"{market}-{next_seq}" if fields.optional_text("id") is None else fields.name("id")
    if oid in account.used_ids:
        raise Rejected("id", f"client order id {oid!r} was already used by {account.id}")
    return oid


def order_status(qty: int, filled: int, rest: int) -> str:
    """How an order leaves its command: expired, filled, partially_filled or new (resting)."""
    if filled == 0 and rest == 0:
        return "expired"
    if rest == 0:
        return "filled" if filled == qty else "partially_filled"
    return "partially_filled" if filled else "new"
