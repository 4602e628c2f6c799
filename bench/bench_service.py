"""Orders over HTTP on loopback: sustained orders/s and latency, SQLite and PostgreSQL, every
acknowledged order durable.

A real `solvent serve` subprocess (uvloop, httptools) and an aiohttp client (keep-alive, signed
requests, one key per account). Two runs per back end:

- *max*: `--concurrency` clients send orders back to back for `--duration` s: orders/s and latency;
- *paced*: an open-loop schedule of `--rate` orders/s for `--duration` s; latency is measured from
  each order's scheduled time (a late send counts against the server: no coordinated omission).

Orders are 0.001 BTC limits at 7,000 alternating buy/sell per account, so most of them trade and the
book stays small. The machine may be shared: each run records the 1-minute load average and the
server's CPU time per order (what the server costs, whatever else runs). After each run the server
is killed with SIGKILL and the journal is read back: every acknowledged client order id must be in
it (asserted), so the figures are for durable orders.

    python bench/bench_service.py [--duration 10] [--concurrency 64] [--rate 500] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from rich.console import Console
from rich.table import Table

from solvent.service import auth
from solvent.service.journal import drop_schema, open_journal

RESULTS = Path(__file__).resolve().parent / "results"
MASTER = os.urandom(32)
ROOT = auth.derive_secret(MASTER, auth.ROOT_KEY)
ACCOUNTS = 16
PG = os.environ.get("SOLVENT_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
MARKET = {"market": "BTCUSDT", "type": "linear", "base": "BTC", "settle": "USDT", "tick_size": "0.1",
          "lot_size": "0.001", "maker_fee": "0.0002", "taker_fee": "0.0004", "fund": "BTCUSDT",
          "tiers": [{"max_notional": "1000000000", "mmr": "0.01", "max_leverage": 20}]}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    def __init__(self, db: str) -> None:
        self.db, self.port = db, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "SOLVENT_MASTER_KEY": MASTER.hex()}
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from solvent.cli import app; app()", "serve", "--db", db, "--port", str(self.port),
             "--rate-limit", "1000000"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(400):
            try:
                if httpx.get(self.url + "/api/v1/public/head", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def cpu_seconds(self) -> float:
        """User + system CPU the server process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


def signed(key: str, secret: str, method: str, path: str, body: Any) -> tuple[bytes, dict[str, str]]:
    content = json.dumps(body).encode()
    headers = auth.signed_headers(key, secret, method, path, content)
    headers["Content-Type"] = "application/json"
    return content, headers


def setup(url: str) -> dict[str, str]:
    """The market, its fund and ACCOUNTS funded accounts with a key each; returns {account: secret}."""
    secrets = {}
    with httpx.Client(base_url=url) as client:
        def operator(path: str, body: Any) -> Any:
            content, headers = signed(auth.ROOT_KEY, ROOT, "POST", path, body)
            response = client.post(path, content=content, headers=headers)
            assert response.status_code == 200, response.text
            return response.json()

        operator("/api/v1/operator/assets", {"asset": "USDT"})
        operator("/api/v1/operator/assets", {"asset": "BTC"})
        operator("/api/v1/operator/markets", MARKET)
        operator("/api/v1/operator/fund-injections", {"fund": "BTCUSDT", "amount": "1000000"})
        for index in range(ACCOUNTS):
            name = f"acct{index}"
            operator("/api/v1/operator/deposits", {"account": name, "asset": "USDT", "amount": "100000000"})
            secrets[name] = operator("/api/v1/operator/api-keys", {"key": f"key-{name}", "account": name})["secret"]
    return secrets


class Client:
    """Sends numbered orders; remembers latencies and the acknowledged (account, client order id)."""

    def __init__(self, session: aiohttp.ClientSession, secrets: dict[str, str], run: str) -> None:
        self.session, self.secrets, self.run = session, secrets, run
        self.latencies: list[float] = []
        self.acked: list[tuple[str, str]] = []
        self.errors = 0

    async def order(self, number: int, scheduled: float | None = None) -> None:
        account = f"acct{number % ACCOUNTS}"
        side = "buy" if (number // ACCOUNTS) % 2 else "sell"
        client_id = f"{self.run}-{number}"
        path = f"/api/v1/accounts/{account}/orders"
        body = {"market": "BTCUSDT", "side": side, "type": "limit", "price": "7000", "qty": "0.001",
                "client_order_id": client_id}
        content, headers = signed(f"key-{account}", self.secrets[account], "POST", path, body)
        start = time.perf_counter() if scheduled is None else scheduled
        async with self.session.post(path, data=content, headers=headers) as response:
            await response.read()
            if response.status != 200:
                self.errors += 1
                return
        self.latencies.append(time.perf_counter() - start)
        self.acked.append((account, client_id))


async def run_max(url: str, secrets: dict[str, str], duration: float, concurrency: int) -> Client:
    async with aiohttp.ClientSession(url, connector=aiohttp.TCPConnector(limit=0)) as session:
        client = Client(session, secrets, "max")
        counter = iter(range(10**9))
        deadline = time.perf_counter() + duration

        async def worker() -> None:
            while time.perf_counter() < deadline:
                await client.order(next(counter))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return client


async def run_paced(url: str, secrets: dict[str, str], duration: float, rate: float) -> Client:
    async with aiohttp.ClientSession(url, connector=aiohttp.TCPConnector(limit=0)) as session:
        client = Client(session, secrets, "paced")
        start = time.perf_counter()
        tasks = []
        for number in range(int(duration * rate)):
            scheduled = start + number / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(client.order(number, scheduled)))
        await asyncio.gather(*tasks)
        return client


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summary(client: Client, elapsed: float) -> dict[str, Any]:
    return {"acknowledged": len(client.acked), "errors": client.errors, "seconds": round(elapsed, 2),
            "orders_per_s": round(len(client.acked) / elapsed, 1),
            "p50_ms": round(1000 * statistics.median(client.latencies), 2),
            "p99_ms": round(1000 * percentile(client.latencies, 0.99), 2)}


def durable(db: str, acked: list[tuple[str, str]]) -> int:
    """How many acknowledged orders the journal holds (read after a SIGKILL)."""
    journal = open_journal(db)
    try:
        journaled = set()
        for _, text in journal.read(0):
            command = json.loads(text)
            if command.get("op") == "order":
                journaled.add((command["account"], command.get("id")))
    finally:
        journal.close()
    return sum(1 for key in acked if key in journaled)


def bench_backend(backend: str, duration: float, concurrency: int, rate: float) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for run in ("max", "paced"):
        folder = tempfile.mkdtemp(prefix="solvent-bench-")
        db = str(Path(folder) / "journal.db") if backend == "sqlite" else f"{PG}?schema=bench_{uuid.uuid4().hex[:10]}"
        server = Server(db)
        try:
            secrets = setup(server.url)
            began, cpu_before, load = time.perf_counter(), server.cpu_seconds(), os.getloadavg()[0]
            if run == "max":
                client = asyncio.run(run_max(server.url, secrets, duration, concurrency))
            else:
                client = asyncio.run(run_paced(server.url, secrets, duration, rate))
            elapsed = time.perf_counter() - began
            cpu = server.cpu_seconds() - cpu_before
        finally:
            server.kill()
        kept = durable(db, client.acked)
        assert kept == len(client.acked), f"{backend} {run}: {len(client.acked) - kept} acknowledged orders lost"
        results[run] = {**summary(client, elapsed), "durable": kept,
                        "server_cpu_ms_per_order": round(1000 * cpu / max(1, len(client.acked)), 3),
                        "load_average_1m": round(load, 2)}
        if backend == "postgresql":
            drop_schema(db)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                           "platform": platform.platform(),
                                           "load_average_before": [round(x, 2) for x in os.getloadavg()]},
                               "duration_s": args.duration, "concurrency": args.concurrency, "paced_rate": args.rate,
                               "backends": {}}
    for backend in args.backends.split(","):
        results["backends"][backend] = bench_backend(backend, args.duration, args.concurrency, args.rate)
    table = Table(title="solvent service: orders over HTTP (loopback), every acknowledged order durable")
    for column in ("back end", "run", "orders/s", "p50 ms", "p99 ms", "server CPU ms/order", "load", "acked"):
        table.add_column(column)
    for backend, runs in results["backends"].items():
        for run, figures in runs.items():
            label = f"max, {args.concurrency} clients" if run == "max" else f"paced {args.rate:.0f}/s"
            table.add_row(backend, label, f"{figures['orders_per_s']:,.0f}", str(figures["p50_ms"]),
                          str(figures["p99_ms"]), str(figures["server_cpu_ms_per_order"]),
                          str(figures["load_average_1m"]), str(figures["acknowledged"]))
    Console().print(table)
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "service.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
