"""Margin (borrowing) accounts through the API (SPEC §9): deposit into a margin account, borrow, repay,
spot orders from it, a forced liquidation with its clearance fee, and the operator's review of the
bankruptcy (seed 003's numbers, as in scenarios/margin/bankruptcy_above_0_1_btc_waits_then_approved.json)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.service.conftest import start
from tests.service.support import ROOT_SECRET, Signer


@pytest.fixture
def venue(db_url: str) -> Iterator[tuple[Signer, Signer, Signer]]:
    with start(db_url, rate_limit=100_000) as client:
        root = Signer(client, "root", ROOT_SECRET)
        for asset in ("USDT", "BTC"):
            root.ok("POST", "/api/v1/operator/assets", {"asset": asset, "decimals": 8})
        root.ok("POST", "/api/v1/operator/markets", {"market": "BTCUSDT", "type": "spot", "base": "BTC",
                                                     "quote": "USDT", "tick_size": "0.01", "lot_size": "0.00001"})
        root.ok("POST", "/api/v1/operator/funds", {"fund": "margin:USDT", "asset": "USDT"})
        root.ok("POST", "/api/v1/operator/fund-injections", {"fund": "margin:USDT", "amount": "10000"})
        traders = []
        for name in ("mm", "t"):
            root.ok("POST", "/api/v1/operator/accounts", {"account": name})
            secret = root.ok("POST", "/api/v1/operator/api-keys", {"key": f"key-{name}", "account": name})["secret"]
            traders.append(Signer(client, f"key-{name}", secret))
        yield root, traders[0], traders[1]


def test_borrow_trade_liquidate_review(venue: tuple[Signer, Signer, Signer]) -> None:
    root, mm, t = venue
    root.ok("POST", "/api/v1/operator/index-prices", {"asset": "BTC", "price": "10000"})
    for asset, amount in (("BTC", "1"), ("USDT", "4000")):
        root.ok("POST", "/api/v1/operator/deposits", {"account": "mm", "asset": asset, "amount": amount,
                                                      "margin_account": "cross"})
    spot = {"market": "BTCUSDT", "margin_account": "cross", "type": "limit"}
    mm.ok("POST", "/api/v1/accounts/mm/orders", {**spot, "side": "sell", "qty": "0.3", "price": "10000",
                                                  "client_order_id": "ask"})
    mm.ok("POST", "/api/v1/accounts/mm/orders", {**spot, "side": "buy", "qty": "1", "price": "4000",
                                                  "client_order_id": "low-bid"})
    assert [order["id"] for order in mm.ok("GET", "/api/v1/accounts/mm/orders")] == ["ask", "low-bid"]
    root.ok("POST", "/api/v1/operator/deposits", {"account": "t", "asset": "USDT", "amount": "1044.99",
                                                  "margin_account": "cross"})
    loan = {"asset": "USDT", "margin_account": "cross"}
    borrowed = t.ok("POST", "/api/v1/accounts/t/borrow", {**loan, "amount": "1960.01"})
    assert borrowed["events"][0]["type"] == "borrow"
    t.ok("POST", "/api/v1/accounts/t/repay", {**loan, "amount": "5"})
    assert t.ok("GET", "/api/v1/accounts/t")["margin"]["cross"]["debt"]["USDT"] == "1955.01"
    too_much = t.post("/api/v1/accounts/t/borrow", {**loan, "amount": "1000000"})
    assert too_much.status_code == 400 and too_much.json()["code"] == "rejected"
    t.ok("POST", "/api/v1/accounts/t/orders", {"market": "BTCUSDT", "margin_account": "cross", "side": "buy",
                                               "type": "market", "qty": "0.3"})
    assert t.ok("GET", "/api/v1/accounts/t")["margin"]["cross"]["assets"]["BTC"] == "0.3"

    root.ok("POST", "/api/v1/operator/index-prices", {"asset": "BTC", "price": "5000"})
    liquidations = t.ok("GET", "/api/v1/accounts/t/liquidations")
    assert [event["type"] for event in liquidations] == ["margin_liquidation"]
    fees = t.ok("GET", "/api/v1/accounts/t/clearance-fees")
    assert len(fees) == 1 and fees[0]["clearance_fee_rate"] == "0.02" and fees[0]["margin_account"] == "cross"
    state = root.ok("GET", "/api/v1/operator/state")["state"]
    assert state["margin_reviews"][0]["status"] == "pending" and state["margin_reviews"][0]["amount_usdt"] == "500.01"
    assert state["funds"]["margin:USDT"]["balance"] == "10030"

    approved = root.ok("POST", "/api/v1/operator/reviews", {"account": "t", "margin_account": "cross",
                                                            "decision": "approve"})
    assert approved["events"][-1]["type"] == "margin_review"
    state = root.ok("GET", "/api/v1/operator/state")["state"]
    assert state["margin_reviews"][0]["status"] == "approved"
    assert state["funds"]["margin:USDT"]["balance"] == "9529.99"
    again = root.post("/api/v1/operator/reviews", {"id": "MB1", "decision": "reject"})
    assert again.status_code == 400 and again.json()["field"] == "id"
    funds = root.client.get("/api/v1/public/funds").json()
    assert funds["margin:USDT"]["balance"] == "9529.99"
