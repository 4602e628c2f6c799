"""Checks on a venue rebuilt from its journal: conservation against the deposits, orders booked once."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from solvent.service.venue import Venue


def net_deposits(venue: Venue) -> dict[str, int]:
    """Money that came in minus money that went out, in units, counted from the events."""
    engine = venue.engine
    out: dict[str, int] = {}
    for event in engine.events:
        sign = {"deposit": 1, "withdraw": -1}.get(event["type"], 0)
        if event["type"] == "fund" and event["reason"] == "injection":
            sign = 1
        if sign:
            asset = engine.assets[event["asset"]]
            amount = Decimal(event["amount"] if "amount" in event else event["delta"])
            out[asset.name] = out.get(asset.name, 0) + sign * int(amount * 10**asset.decimals)
    return out


def assert_conserved(venue: Venue) -> None:
    totals = {asset: amount for asset, amount in venue.engine.ledger.totals().items() if amount}
    deposits = {asset: amount for asset, amount in net_deposits(venue).items() if amount}
    assert totals == deposits


def booked_orders(venue: Venue) -> Counter[tuple[str, str]]:
    """(account, client order id) -> how many accepted order events carry it."""
    return Counter((event["account"], event["id"]) for event in venue.engine.events if event["type"] == "order")
