"""The demo venue: one BTC perpetual, a market maker, a crowd of leveraged traders and a real crash.

The price path is BTC-USD's hourly candles of 25–28 June 2019 (a 25% fall from 13,868 in a day),
shipped in `solvent/demo_data/`. Each candle becomes six mark prices (open, the nearer extreme, the
other extreme, close, with the steps between), so liquidations cascade inside the hour as they do on
a venue. Every hour a few traders open positions at random leverage; the market maker re-quotes a
ladder around the mark whose depth thins as the price moves faster; the insurance fund starts
small, so a fast fall drains it and ADL takes over. Funding is paid every eight hours.

Everything here is engine commands (SPEC §10): the same list replays with `solvent replay` and is
what `solvent demo` sends through the service, so the page shows the engine's own events.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from importlib import resources
from typing import Any

MARKET = "BTCUSDT"
FUND = "BTCUSDT"
TRADERS = 60
MM = "mm"


@dataclass(frozen=True)
class Candle:
    time: str
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


def candles() -> list[Candle]:
    """The shipped hourly slice, oldest first."""
    text = resources.files("solvent.demo_data").joinpath("btcusd_1h_2019-06-25_28.csv").read_text()
    rows = [line for line in text.splitlines() if line and not line.startswith("#")]
    out = []
    for row in csv.DictReader(rows):
        out.append(Candle(row["time"], *(Decimal(row[key]) for key in ("open", "high", "low", "close"))))
    return out


def _tick(price: Decimal) -> str:
    return str(price.quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN))


def intrahour(candle: Candle) -> list[Decimal]:
    """Six prices through the candle: open, the extreme nearer the open first, then the other, close."""
    first, second = ((candle.high, candle.low) if candle.high - candle.open < candle.open - candle.low
                     else (candle.low, candle.high))
    return [candle.open, (candle.open + first) / 2, first, second, (second + candle.close) / 2, candle.close]


def setup_commands(fund: str = "1500") -> list[dict[str, Any]]:
    time = candles()[0].time
    commands: list[dict[str, Any]] = [
        {"op": "add_asset", "asset": "USDT", "decimals": 8, "time": time},
        {"op": "add_asset", "asset": "BTC", "decimals": 8, "time": time},
        {"op": "add_fund", "fund": FUND, "asset": "USDT", "time": time},
        {"op": "fund_deposit", "fund": FUND, "amount": fund, "time": time},
        {"op": "add_market", "market": MARKET, "type": "linear", "base": "BTC", "settle": "USDT",
         "tick_size": "0.1", "lot_size": "0.001", "maker_fee": "0.0002", "taker_fee": "0.0004",
         "fund_fee_share": "0.2", "fund": FUND, "time": time,
         "tiers": [{"max_notional": "50000", "mmr": "0.004", "max_leverage": 125},
                   {"max_notional": "250000", "mmr": "0.005", "max_leverage": 100},
                   {"max_notional": "1000000", "mmr": "0.01", "max_leverage": 50},
                   {"max_notional": "10000000", "mmr": "0.025", "max_leverage": 20}]},
        {"op": "set_policy", "preset": "binance", "time": time},
        {"op": "deposit", "account": MM, "asset": "USDT", "amount": "5000000", "time": time},
    ]
    rng = random.Random(1)
    for index in range(TRADERS):
        commands.append({"op": "deposit", "account": f"t{index:02d}", "asset": "USDT",
                         "amount": str(rng.choice([500, 1000, 2000, 5000])), "time": time})
    return commands


class _Quoter:
    """The market maker's ladder: five levels a side around the mark, thinner when the price runs."""

    def __init__(self) -> None:
        self.count = 0

    def requote(self, mark: Decimal, move: Decimal, time: str) -> Iterator[dict[str, Any]]:
        yield {"op": "cancel_all", "account": MM, "market": MARKET, "time": time}
        speed = min(abs(move) / mark * 100, Decimal(3))  # % moved since the last step, capped
        size = max(Decimal("0.02"), Decimal("0.6") - speed * Decimal("0.2"))
        gap = Decimal("0.0005") + speed * Decimal("0.001")
        for level in range(1, 6):
            for side, sign in (("buy", -1), ("sell", 1)):
                self.count += 1
                oid = f"q{self.count}"
                price = mark * (1 + sign * gap * level)
                yield {"op": "order", "account": MM, "market": MARKET, "side": side, "type": "limit",
                       "price": _tick(price), "qty": str(size.quantize(Decimal("0.001"))), "id": oid,
                       "margin_mode": "cross", "leverage": 20, "time": time}


def steps(seed: int = 7) -> Iterator[dict[str, Any]]:
    """The demo's commands after set-up, in time order."""
    rng = random.Random(seed)
    # each trader keeps one margin mode and leverage (the engine refuses a switch with a position open)
    habits = {f"t{index:02d}": (rng.choice(["isolated", "cross"]), rng.choice([10, 20, 25, 50, 75, 100]))
              for index in range(TRADERS)}
    quoter = _Quoter()
    previous: Decimal | None = None
    for hour, candle in enumerate(candles()):
        base = candle.time[:14]
        prices = intrahour(candle)
        for index, price in enumerate(prices):
            time = f"{base}{index * 10:02d}:00Z"
            move = Decimal(0) if previous is None else price - previous
            yield from quoter.requote(price, move, time)
            yield {"op": "mark_price", "market": MARKET, "price": _tick(price), "time": time}
            previous = price
            if index == 0:
                if hour % 8 == 0 and hour:
                    rate = "0.0001" if candle.close >= candle.open else "-0.0001"
                    yield {"op": "funding", "market": MARKET, "rate": rate, "time": time}
                for _ in range(5):
                    trader = f"t{rng.randrange(TRADERS):02d}"
                    mode, leverage = habits[trader]
                    notional = Decimal(rng.choice([2000, 5000, 10000, 20000, 40000]))
                    qty = (notional / price).quantize(Decimal("0.001"))
                    if qty <= 0:
                        continue
                    yield {"op": "order", "account": trader, "market": MARKET,
                           "side": rng.choice(["buy", "sell"]), "type": "market", "qty": str(qty),
                           "margin_mode": mode, "leverage": leverage, "time": time}


def scenario() -> dict[str, Any]:
    """The demo as one scenario document's worth of commands (for `solvent replay` and tests)."""
    return {"commands": setup_commands() + list(steps())}


def mark_steps() -> int:
    return sum(1 for command in steps() if command["op"] == "mark_price")


async def serve_demo(db: str, host: str, port: int, speed: float, exit_after: bool,
                     on_step: Any = None, on_ready: Any = None) -> None:
    """Run `solvent serve` on `db` and feed it the demo through its writer (journaled like any
    command), `speed` mark steps a second; keep serving afterwards unless `exit_after`."""
    import asyncio
    from pathlib import Path

    import uvicorn

    from solvent.service.app import create_app
    from solvent.service.auth import load_master_key

    master = load_master_key(Path(db + ".key"))
    app = create_app(db, master)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            await serving  # raises what stopped it (a port in use, say)
            return
        await asyncio.sleep(0.05)
    writer = app.state.service.writer
    if on_ready is not None:
        on_ready(app)
    if writer.venue.seq == 0:  # a fresh journal: build the venue
        for command in setup_commands():
            await writer.submit(command)
        for command in steps():
            await writer.submit(command)
            if command["op"] == "mark_price":
                if on_step is not None:
                    on_step()
                await asyncio.sleep(1 / speed)
    if exit_after:
        server.should_exit = True
    await serving
