"""A real server process: the live stream of public events, and a graceful stop's snapshot."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from solvent.service import auth
from solvent.service.journal import open_journal
from solvent.service.writer import full_replay, restore
from tests.service.server import Server
from tests.service.support import ROOT_SECRET, Signer, build_venue


async def read_events(url: str, wanted: int, ready: asyncio.Event) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        async with client.stream("GET", "/api/v1/public/stream") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            async for line in response.aiter_lines():
                if line.startswith(": connected"):
                    ready.set()
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
                    if len(events) == wanted:
                        return events
    return events


async def stream_while(url: str, root: Signer, alice: Signer, bob: Signer) -> list[dict[str, Any]]:
    ready = asyncio.Event()
    reader = asyncio.create_task(read_events(url, 3, ready))
    await asyncio.wait_for(ready.wait(), 10)
    await asyncio.to_thread(root.ok, "POST", "/api/v1/operator/fund-injections", {"fund": "BTCUSDT", "amount": "5"})
    orders = "/api/v1/accounts/{}/orders"
    await asyncio.to_thread(alice.ok, "POST", orders.format("alice"),
                            {"market": "BTCUSDT", "side": "buy", "price": "7000", "qty": "1", "leverage": 50,
                             "margin_mode": "isolated"})
    await asyncio.to_thread(bob.ok, "POST", orders.format("bob"),
                            {"market": "BTCUSDT", "side": "sell", "price": "7000", "qty": "1", "leverage": 10})
    await asyncio.to_thread(bob.ok, "POST", orders.format("bob"),
                            {"market": "BTCUSDT", "side": "buy", "price": "6700", "qty": "1", "leverage": 10})
    await asyncio.to_thread(root.ok, "POST", "/api/v1/operator/mark-prices", {"market": "BTCUSDT", "price": "6800"})
    return await asyncio.wait_for(reader, 10)


def test_the_stream_carries_fund_and_liquidation_events_and_a_graceful_stop_snapshots(tmp_path: Path) -> None:
    db = str(tmp_path / "journal.db")
    server = Server(db, tmp_path / "server.log").start()
    try:
        with httpx.Client(base_url=server.url) as client:
            root = Signer(client, auth.ROOT_KEY, ROOT_SECRET)
            secrets = build_venue(root)
            alice = Signer(client, "key-alice", secrets["alice"])
            bob = Signer(client, "key-bob", secrets["bob"])
            events = asyncio.run(stream_while(server.url, root, alice, bob))
            head = client.get("/api/v1/public/head").json()
        assert events[0]["type"] == "fund" and events[0]["reason"] == "injection" and events[0]["delta"] == "5"
        assert events[0]["hash"] and {event["type"] for event in events[1:]} & {"liquidation", "fund"}
        assert any(event["type"] == "liquidation" and event["account"] == "alice" for event in events[1:])
        server.stop()
    finally:
        server.ensure_dead()
    journal = open_journal(db)
    try:
        snapshot = journal.latest_snapshot()
        assert snapshot is not None and snapshot[0] == head["seq"]
        assert restore(journal).state_hash() == full_replay(journal).state_hash() == head["state_hash"]
    finally:
        journal.close()
