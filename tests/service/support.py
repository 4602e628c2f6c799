"""Shared by the service tests: a signing client and a small venue."""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import httpx

from solvent.service import auth

MASTER = bytes.fromhex("11" * 32)
ROOT_SECRET = auth.derive_secret(MASTER, auth.ROOT_KEY)
PG_BASE = os.environ.get("SOLVENT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")

BTCUSDT: dict[str, Any] = {
    "market": "BTCUSDT", "type": "linear", "base": "BTC", "settle": "USDT", "tick_size": "0.1", "lot_size": "0.001",
    "maker_fee": "0.0002", "taker_fee": "0.0004", "fund": "BTCUSDT",
    "tiers": [{"max_notional": "50000", "mmr": "0.01", "cum": "20", "max_leverage": 50},
              {"max_notional": "250000", "mmr": "0.025", "max_leverage": 20}],
}


def pg_url() -> str:
    """A PostgreSQL URL with a fresh schema (drop it with journal.drop_schema)."""
    return f"{PG_BASE}?schema=svc_{uuid.uuid4().hex[:12]}"


class Signer:
    """Signs every request with one key (sync httpx client or Starlette TestClient)."""

    def __init__(self, client: httpx.Client, key: str, secret: str) -> None:
        self.client, self.key, self.secret = client, key, secret

    def request(self, method: str, path: str, body: Any = None, *, timestamp: int | None = None,
                secret: str | None = None) -> httpx.Response:
        content = b"" if body is None else json.dumps(body).encode()
        headers = auth.signed_headers(self.key, secret or self.secret, method, path, content, timestamp)
        if body is not None:
            headers["Content-Type"] = "application/json"
        return self.client.request(method, path, content=content, headers=headers)

    def get(self, path: str, **options: Any) -> httpx.Response:
        return self.request("GET", path, **options)

    def post(self, path: str, body: Any = None, **options: Any) -> httpx.Response:
        return self.request("POST", path, body, **options)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        response = self.request(method, path, body)
        assert response.status_code == 200, (method, path, body, response.status_code, response.text)
        return response.json()


def build_venue(root: Signer) -> dict[str, str]:
    """USDT/BTC, BTCUSDT with a funded insurance fund, alice (with sub alice.sub) and bob with 100k USDT
    each, one trader key each. Returns {account: secret}."""
    root.ok("POST", "/api/v1/operator/assets", {"asset": "USDT", "decimals": 8})
    root.ok("POST", "/api/v1/operator/assets", {"asset": "BTC", "decimals": 8})
    root.ok("POST", "/api/v1/operator/markets", BTCUSDT)
    root.ok("POST", "/api/v1/operator/fund-injections", {"fund": "BTCUSDT", "amount": "100000"})
    root.ok("POST", "/api/v1/operator/accounts", {"account": "alice"})
    root.ok("POST", "/api/v1/operator/accounts", {"account": "bob"})
    root.ok("POST", "/api/v1/operator/accounts", {"account": "alice.sub", "parent": "alice"})
    secrets = {}
    for name in ("alice", "bob"):
        root.ok("POST", "/api/v1/operator/deposits", {"account": name, "asset": "USDT", "amount": "100000"})
        made = root.ok("POST", "/api/v1/operator/api-keys", {"key": f"key-{name}", "account": name})
        secrets[name] = made["secret"]
    root.ok("POST", "/api/v1/operator/deposits", {"account": "alice.sub", "asset": "USDT", "amount": "5000"})
    return secrets
