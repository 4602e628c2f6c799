"""The API over SQLite and over PostgreSQL: orders, views, idempotency, errors, restart."""

from __future__ import annotations

from solvent.service.journal import open_journal
from solvent.service.writer import full_replay
from tests.service.checks import assert_conserved, booked_orders
from tests.service.conftest import Api, start
from tests.service.support import Signer

ORDERS = "/api/v1/accounts/{}/orders"


def order(side: str, price: str, qty: str, **extra: object) -> dict[str, object]:
    return {"market": "BTCUSDT", "side": side, "type": "limit", "price": price, "qty": qty, **extra}


def test_a_trade_shows_in_positions_histories_book_and_markets(api: Api) -> None:
    api.alice.ok("POST", ORDERS.format("alice"), order("buy", "7000", "1", leverage=10, client_order_id="a1"))
    api.alice.ok("POST", ORDERS.format("alice"), order("buy", "6990", "0.5", leverage=10, client_order_id="a2"))
    placed = api.bob.ok("POST", ORDERS.format("bob"), order("sell", "7000", "1", leverage=10))
    assert [event["type"] for event in placed["events"]] == ["order", "trade"]
    alice = api.alice.ok("GET", "/api/v1/accounts/alice")
    position = alice["positions"]["BTCUSDT"]
    assert position["qty"] == "1" and position["entry_price"] == "7000"
    # long 1 at 7000, cross, 100k wallet: no liquidation price above 0; bankruptcy price is None too
    assert set(position) >= {"liquidation_price", "bankruptcy_price", "adl_quantile"}
    assert [o["id"] for o in alice["orders"]] == ["a2"]
    bob_trades = api.bob.ok("GET", "/api/v1/accounts/bob/trades")
    assert len(bob_trades) == 1 and bob_trades[0]["price"] == "7000" and bob_trades[0]["taker"] == "bob"
    book = api.client.get("/api/v1/public/markets/BTCUSDT/book").json()
    assert book["bids"] == [["6990", "0.5"]] and book["asks"] == []
    markets = api.client.get("/api/v1/public/markets").json()
    assert markets[0]["last_price"] == "7000" and markets[0]["open_interest"] == "1"
    cancelled = api.alice.ok("DELETE", ORDERS.format("alice") + "/a2")
    assert cancelled["events"][0]["type"] == "cancel"
    assert api.client.get("/api/v1/public/markets/BTCUSDT/book").json()["bids"] == []
    for index in range(3):
        api.alice.ok("POST", ORDERS.format("alice"), order("buy", str(6000 + index), "0.1", leverage=10))
    everything = api.alice.ok("DELETE", ORDERS.format("alice") + "?market=BTCUSDT")
    assert [event["type"] for event in everything["events"]] == ["cancel"] * 3
    assert api.alice.ok("GET", ORDERS.format("alice")) == []
    assert api.alice.request("DELETE", ORDERS.format("alice") + "?market=NOPE").json()["field"] == "market"


def test_a_retried_order_is_answered_from_the_first_and_books_nothing(api: Api) -> None:
    first = api.alice.ok("POST", ORDERS.format("alice"), order("buy", "6000", "1", client_order_id="retry-1"))
    before = api.state_hash()
    again = api.alice.ok("POST", ORDERS.format("alice"), order("buy", "6000", "1", client_order_id="retry-1"))
    assert again["duplicate"] is True and first["duplicate"] is False
    assert again["events"] == first["events"] and again["seq"] >= first["seq"]
    assert api.state_hash() == before
    assert len(api.alice.ok("GET", ORDERS.format("alice"))) == 1
    # the same id on another account is that account's own id
    bob = api.bob.ok("POST", ORDERS.format("bob"), order("sell", "9000", "1", client_order_id="retry-1"))
    assert bob["duplicate"] is False


def test_refusals_are_4xx_json_naming_the_field_and_change_nothing(api: Api) -> None:
    before = api.state_hash()
    not_a_lot = api.alice.post(ORDERS.format("alice"), order("buy", "7000", "0.0001"))
    assert not_a_lot.status_code == 400
    assert not_a_lot.json()["code"] == "rejected" and not_a_lot.json()["field"] == "qty"
    too_big = api.alice.post(ORDERS.format("alice"), order("buy", "7000", "1000"))
    assert too_big.status_code == 400 and "insufficient margin" in too_big.json()["message"]
    malformed = api.alice.post(ORDERS.format("alice"), order("buy", "seven", "1"))
    assert malformed.status_code == 422 and malformed.json()["field"] == "price"
    unknown_field = api.alice.post(ORDERS.format("alice"), {**order("buy", "7000", "1"), "bogus": 1})
    assert unknown_field.status_code == 422 and unknown_field.json()["field"] == "bogus"
    no_market = api.client.get("/api/v1/public/markets/NOPE/book")
    assert no_market.status_code == 404 and no_market.json()["field"] == "market"
    no_order = api.alice.request("DELETE", ORDERS.format("alice") + "/nope")
    assert no_order.status_code == 400 and no_order.json()["field"] == "id"
    assert api.client.get("/api/v1/nowhere").json()["code"] == "not_found"
    # refused commands are journaled (the journal seq moves) but the state is unchanged
    head = api.client.get("/api/v1/public/head").json()
    assert head["state_hash"] == before and head["seq"] > 13


def test_a_parent_acts_on_its_sub_account_but_not_the_other_way(api: Api) -> None:
    placed = api.alice.ok("POST", ORDERS.format("alice.sub"), order("buy", "6000", "0.1"))
    assert placed["events"][0]["account"] == "alice.sub"
    assert api.alice.get("/api/v1/accounts/alice.sub").status_code == 200
    assert api.bob.get("/api/v1/accounts/alice.sub").status_code == 403


def test_a_liquidation_reaches_fund_history_reports_health_and_the_trader(api: Api) -> None:
    api.alice.ok("POST", ORDERS.format("alice"), order("buy", "7000", "1", leverage=50, margin_mode="isolated"))
    api.bob.ok("POST", ORDERS.format("bob"), order("sell", "7000", "1", leverage=10))
    api.bob.ok("POST", ORDERS.format("bob"), order("buy", "6700", "2", leverage=10))
    assert api.alice.ok("GET", "/api/v1/accounts/alice")["positions"]["BTCUSDT"]["liquidation_price"] == "6909"
    api.root.ok("POST", "/api/v1/operator/mark-prices", {"market": "BTCUSDT", "price": "6800"})
    liquidations = api.client.get("/api/v1/public/liquidations").json()
    assert [(item["account"], item["qty"]) for item in liquidations] == [("alice", "1")]
    assert api.alice.ok("GET", "/api/v1/accounts/alice/liquidations")[0]["account"] == "alice"
    history = api.client.get("/api/v1/public/funds/BTCUSDT/history").json()
    funds = api.client.get("/api/v1/public/funds").json()
    assert history["total"] == funds["BTCUSDT"]["entries"] >= 2
    assert history["entries"][-1]["hash"] == history["head"] == funds["BTCUSDT"]["head"]
    assert api.client.get("/api/v1/public/head").json()["funds"]["BTCUSDT"] == history["head"]
    daily = api.client.get("/api/v1/public/reports/daily").json()
    assert daily["BTCUSDT"][-1]["liquidations"] == 1
    assert api.client.get("/api/v1/public/health").json()["BTCUSDT"]["adl_risk"] in ("low", "medium", "high")


def test_margin_operations_are_commands_refused_cleanly_when_not_possible(api: Api) -> None:
    before = api.state_hash()
    for path in ("borrow", "repay"):
        response = api.alice.post(f"/api/v1/accounts/alice/{path}",
                                  {"asset": "USDT", "amount": "10", "margin_account": "cross"})
        assert response.status_code == 400 and response.json()["code"] == "rejected"
    review = api.root.post("/api/v1/operator/reviews", {"account": "alice", "margin_account": "cross",
                                                        "decision": "approve"})
    assert review.status_code == 400
    assert api.root.post("/api/v1/operator/index-prices", {"asset": "NOPE", "price": "1"}).status_code == 400
    state = api.root.ok("GET", "/api/v1/operator/state")
    assert state["state"]["accounts"]["alice"]["balances"]["USDT"] == "100000"
    assert state["state_hash"] == before


def test_restart_restores_the_same_state_as_a_full_replay(db_url: str) -> None:
    with start(db_url, rate_limit=100_000, snapshot_every=7) as client:
        api = Api(client)
        for index in range(20):
            side, who = ("buy", api.alice) if index % 2 else ("sell", api.bob)
            account = "alice" if index % 2 else "bob"
            price = str(7000 + index % 3)
            who.ok("POST", ORDERS.format(account), order(side, price, "0.1", client_order_id=f"o{index}"))
        api.root.ok("POST", "/api/v1/operator/funding", {"market": "BTCUSDT", "rate": "0.0001"})
        head = client.get("/api/v1/public/head").json()
    journal = open_journal(db_url)
    try:
        assert journal.latest_snapshot() is not None
        replayed = full_replay(journal)
    finally:
        journal.close()
    assert replayed.seq == head["seq"] and replayed.state_hash() == head["state_hash"]
    assert_conserved(replayed)
    assert all(count == 1 for count in booked_orders(replayed).values())
    with start(db_url, rate_limit=100_000) as client:
        assert client.get("/api/v1/public/head").json() == head
        alice = Signer(client, "key-alice", api.secrets["alice"])
        assert alice.ok("GET", "/api/v1/accounts/alice")["account"] == "alice"
        again = alice.ok("POST", ORDERS.format("alice"), order("buy", "7001", "0.1", client_order_id="o1"))
        assert again["duplicate"] is True


def test_the_root_key_cannot_be_created_and_venue_setup_twice_is_refused(api: Api) -> None:
    assert api.root.post("/api/v1/operator/api-keys", {"key": "root", "role": "operator"}).status_code == 409
    again = api.root.post("/api/v1/operator/assets", {"asset": "USDT"})
    assert again.status_code == 400 and again.json()["field"] == "asset"
    assert api.root.post("/api/v1/operator/api-keys", {"key": "key-bob", "account": "bob"}).status_code == 400
    operator = api.root.ok("POST", "/api/v1/operator/api-keys", {"role": "operator"})
    second = Signer(api.client, operator["key"], operator["secret"])
    assert second.ok("PUT", "/api/v1/operator/policy", {"preset": "binance"})["events"][0]["type"] == "policy"
    assert api.root.request("DELETE", f"/api/v1/operator/api-keys/{operator['key']}").status_code == 200
    assert second.post("/api/v1/operator/policy", {"preset": "binance"}).status_code in (401, 405)
    assert second.request("PUT", "/api/v1/operator/policy", {"preset": "binance"}).status_code == 401


def test_a_liquidation_with_no_book_deleverages_the_counterparty_who_sees_it_in_its_adl_history(api: Api) -> None:
    api.alice.ok("POST", ORDERS.format("alice"), order("buy", "7000", "1", leverage=50, margin_mode="isolated"))
    api.bob.ok("POST", ORDERS.format("bob"), order("sell", "7000", "1", leverage=10))
    assert api.bob.ok("GET", "/api/v1/accounts/bob")["positions"]["BTCUSDT"]["adl_quantile"] >= 1
    api.root.ok("POST", "/api/v1/operator/mark-prices", {"market": "BTCUSDT", "price": "6800"})
    adl = api.bob.ok("GET", "/api/v1/accounts/bob/adl")
    assert [(event["account"], event["against"], event["qty"]) for event in adl] == [("bob", "alice", "1")]
    assert api.alice.ok("GET", "/api/v1/accounts/alice/adl") == []
    assert api.bob.ok("GET", "/api/v1/accounts/bob")["positions"].get("BTCUSDT", {"qty": "0"})["qty"] == "0"
