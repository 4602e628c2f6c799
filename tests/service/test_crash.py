"""A real server killed with SIGKILL mid-stream: every acknowledged order survives exactly once, money is
conserved, and the state hash equals a fresh replay of the journal."""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from pathlib import Path

import httpx

from solvent.service import auth
from solvent.service.journal import open_journal
from solvent.service.writer import full_replay
from tests.service.checks import assert_conserved, booked_orders
from tests.service.server import Server
from tests.service.support import ROOT_SECRET, Signer, build_venue

ORDERS = 3000
WORKERS = 4


def order_for(index: int) -> tuple[str, dict[str, object]]:
    account = "alice" if index % 2 else "bob"
    side = "buy" if index % 2 else "sell"
    price = str(7000 + (index * 7) % 11 - 5)
    return account, {"market": "BTCUSDT", "side": side, "type": "limit", "price": price, "qty": "0.01",
                     "leverage": 20, "client_order_id": f"c{index}"}


async def send(base: str, secrets: dict[str, str], indices: list[int], acked: dict[int, dict[str, object]],
               stop_after: float | None = None, server: Server | None = None) -> list[int]:
    """Send the orders with WORKERS concurrent clients; return the indices not acknowledged."""
    pending = list(indices)
    failed: list[int] = []
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        async def worker() -> None:
            while pending:
                index = pending.pop(0)
                account, body = order_for(index)
                path = f"/api/v1/accounts/{account}/orders"
                content = json.dumps(body).encode()
                headers = auth.signed_headers(f"key-{account}", secrets[account], "POST", path, content)
                headers["Content-Type"] = "application/json"
                try:
                    response = await client.post(path, content=content, headers=headers)
                except httpx.HTTPError:
                    failed.append(index)
                    continue
                assert response.status_code == 200, response.text
                acked[index] = response.json()

        async def killer() -> None:
            assert stop_after is not None and server is not None
            await asyncio.sleep(stop_after)
            server.kill()

        tasks = [asyncio.create_task(worker()) for _ in range(WORKERS)]
        if stop_after is not None:
            tasks.append(asyncio.create_task(killer()))
        await asyncio.gather(*tasks)
    return failed


def test_sigkill_mid_stream_loses_no_acknowledged_order(db_url: str, tmp_path: Path) -> None:
    seed = int(os.environ.get("SOLVENT_CRASH_SEED", time.time_ns() % 10**6))
    moment = random.Random(seed).uniform(0.3, 1.2)
    db = db_url
    server = Server(db, tmp_path / "server.log", None, "--snapshot-every", "500").start()  # forked snapshots too
    try:
        with httpx.Client(base_url=server.url) as client:
            secrets = build_venue(Signer(client, auth.ROOT_KEY, ROOT_SECRET))
        acked: dict[int, dict[str, object]] = {}
        began = time.monotonic()
        unacked = asyncio.run(send(server.url, secrets, list(range(ORDERS)), acked, moment, server))
        acked_before_crash = dict(acked)
        assert acked_before_crash and unacked, f"seed {seed}: the kill at {moment:.2f}s missed the stream"
        print(f"seed {seed}: killed at {moment:.2f}s, {len(acked)} acked, {time.monotonic() - began:.1f}s")
        server.start()
        print(f"restarted {time.monotonic() - began:.1f}s")
        still = asyncio.run(send(server.url, secrets, unacked, acked))
        print(f"retried {len(unacked)} {time.monotonic() - began:.1f}s")
        assert still == []
        head = httpx.get(server.url + "/api/v1/public/head").json()
        assert server.stop() in (0, -15)  # uvicorn re-raises SIGTERM after its graceful shutdown
    finally:
        server.ensure_dead()
    journal = open_journal(db)
    try:
        snapshot = journal.latest_snapshot()
        replayed = full_replay(journal)
    finally:
        journal.close()
    assert snapshot is not None and snapshot[0] == head["seq"]  # the graceful stop took one
    assert replayed.state_hash() == head["state_hash"], f"seed {seed}"
    booked = booked_orders(replayed)
    ids = {("alice" if index % 2 else "bob", f"c{index}") for index in range(ORDERS)}
    assert {key: count for key, count in booked.items() if key in ids} == dict.fromkeys(ids, 1), f"seed {seed}"
    for index, response in acked_before_crash.items():  # what was acknowledged is what the journal holds
        first = replayed.orders[order_for(index)[0], f"c{index}"]
        assert response["events"] == first, f"seed {seed}"
    assert_conserved(replayed)
