"""Signed requests: every refusal has the right status and changes nothing (the state hash is equal)."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from solvent.service import auth
from solvent.service.app import create_app
from tests.service.conftest import Api, start
from tests.service.support import MASTER, ROOT_SECRET, Signer, build_venue

ORDER = {"market": "BTCUSDT", "side": "buy", "type": "limit", "price": "7000", "qty": "0.1"}
PATH = "/api/v1/accounts/alice/orders"


def test_a_wrong_signature_is_401_and_books_nothing(api: Api) -> None:
    before = api.state_hash()
    response = api.alice.post(PATH, ORDER, secret="0" * 64)
    assert response.status_code == 401 and response.json()["code"] == "bad_signature"
    # a body changed after signing: the signature no longer matches
    headers = auth.signed_headers("key-alice", api.secrets["alice"], "POST", PATH, b'{"qty": "0.1"}')
    tampered = api.client.post(PATH, json={**ORDER, "qty": "1"}, headers=headers)
    assert tampered.status_code == 401 and tampered.json()["field"] == auth.SIGNATURE_HEADER
    assert api.state_hash() == before
    assert api.alice.ok("GET", PATH) == []


def test_a_stale_or_future_timestamp_is_401(api: Api) -> None:
    before = api.state_hash()
    now = int(time.time() * 1000)
    stale = api.alice.post(PATH, ORDER, timestamp=now - auth.DEFAULT_WINDOW_MS - 1000)
    assert stale.status_code == 401 and stale.json()["code"] == "stale_timestamp"
    future = api.alice.post(PATH, ORDER, timestamp=now + 10_000)
    assert future.status_code == 401 and future.json()["field"] == auth.TIMESTAMP_HEADER
    assert api.alice.post(PATH, ORDER, timestamp=now - 1000).status_code == 200  # inside the window
    assert api.state_hash() != before


def test_missing_or_unknown_keys_are_401(api: Api) -> None:
    before = api.state_hash()
    assert api.client.post(PATH, json=ORDER).status_code == 401
    ghost = Signer(api.client, "ghost", "x" * 64)
    assert ghost.post(PATH, ORDER).status_code == 401
    assert api.state_hash() == before


def test_another_traders_account_is_403(api: Api) -> None:
    before = api.state_hash()
    response = api.bob.post(PATH, ORDER)
    assert response.status_code == 403 and response.json()["field"] == "account"
    assert api.bob.get("/api/v1/accounts/alice").status_code == 403
    assert api.bob.get("/api/v1/accounts/alice/trades").status_code == 403
    assert api.bob.request("DELETE", PATH + "/any").status_code == 403
    assert api.state_hash() == before


def test_a_trader_key_on_an_operator_endpoint_is_403_and_an_operator_key_on_trader_endpoints_too(api: Api) -> None:
    before = api.state_hash()
    for path, body in (("/api/v1/operator/deposits", {"account": "alice", "asset": "USDT", "amount": "1000000"}),
                       ("/api/v1/operator/mark-prices", {"market": "BTCUSDT", "price": "1"}),
                       ("/api/v1/operator/api-keys", {"role": "operator"})):
        response = api.alice.post(path, body)
        assert response.status_code == 403 and response.json()["code"] == "forbidden", path
    assert api.alice.get("/api/v1/operator/state").status_code == 403
    assert api.root.post(PATH, ORDER).status_code == 403
    assert api.state_hash() == before


def test_a_key_is_rate_limited(db_url: str) -> None:
    with start(db_url, rate_limit=0.2, burst=5) as client:  # one token back every 5 s
        root = Signer(client, auth.ROOT_KEY, ROOT_SECRET)
        # the root key too is limited: build the venue slowly enough
        statuses = [root.get("/api/v1/operator/state").status_code for _ in range(8)]
        assert statuses[:5] == [200] * 5 and 429 in statuses[5:]
        limited = root.get("/api/v1/operator/state")
        assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_server_with_another_master_key_refuses_the_old_keys(db_url: str) -> None:
    with start(db_url, rate_limit=100_000) as client:
        secrets = build_venue(Signer(client, auth.ROOT_KEY, ROOT_SECRET))
    other = bytes.fromhex("22" * 32)
    assert other != MASTER
    with TestClient(create_app(db_url, other)) as client:
        alice = Signer(client, "key-alice", secrets["alice"])
        response = alice.get("/api/v1/accounts/alice")
        assert response.status_code == 401 and "master key" in response.json()["message"]
