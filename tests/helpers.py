"""Small builders shared by the engine tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from solvent.engine import ledger as L
from solvent.engine.core import Engine

BTCUSDT: dict[str, Any] = {
    "type": "linear", "base": "BTC", "settle": "USDT", "tick_size": "0.1", "lot_size": "0.001",
    "maker_fee": "0.0002", "taker_fee": "0.0004", "fund": "BTCUSDT",
    "tiers": [{"max_notional": "50000", "mmr": "0.01", "cum": "20", "max_leverage": 50},
              {"max_notional": "250000", "mmr": "0.025", "max_leverage": 20}],
}

XBTUSD: dict[str, Any] = {
    "type": "inverse", "base": "BTC", "settle": "BTC", "quote": "USD", "tick_size": "0.5", "lot_size": "1",
    "contract_size": "1", "maker_fee": "-0.00025", "taker_fee": "0.00075", "fund": "XBT",
    "tiers": [{"max_notional": "200", "mmr": "0.005", "max_leverage": 100},
              {"max_notional": "400", "mmr": "0.01", "max_leverage": 50}],
}


def venue(usdt_decimals: int = 8, fund_balance: str = "100000", **market_overrides: Any) -> Engine:
    """An engine with USDT/BTC, the BTCUSDT linear market and its fund."""
    engine = Engine()
    ok(engine, {"op": "add_asset", "asset": "USDT", "decimals": usdt_decimals})
    ok(engine, {"op": "add_asset", "asset": "BTC", "decimals": 8})
    ok(engine, {"op": "add_market", "market": "BTCUSDT", **{**BTCUSDT, **market_overrides}})
    if Decimal(fund_balance):
        ok(engine, {"op": "fund_deposit", "fund": "BTCUSDT", "amount": fund_balance})
    return engine


def inverse_venue() -> Engine:
    engine = Engine()
    ok(engine, {"op": "add_asset", "asset": "BTC", "decimals": 8})
    ok(engine, {"op": "add_market", "market": "XBTUSD", **XBTUSD})
    ok(engine, {"op": "fund_deposit", "fund": "XBT", "amount": "10"})
    return engine


def ok(engine: Engine, command: dict[str, Any]) -> list[dict[str, Any]]:
    """Apply a command that must be accepted."""
    events = engine.apply(command)
    rejected = [event for event in events if event["type"] == "rejected"]
    assert not rejected, f"{command} was rejected: {rejected}"
    return events


def refused(engine: Engine, command: dict[str, Any]) -> dict[str, Any]:
    """Apply a command that must be refused without changing anything; return the rejection."""
    before = engine.state_hash()
    entries = len(engine.ledger.entries)
    events = engine.apply(command)
    assert [event["type"] for event in events] == ["rejected"], events
    assert engine.state_hash() == before
    assert len(engine.ledger.entries) == entries
    return events[0]


def trade(engine: Engine, buyer: str, seller: str, price: str, qty: str, market: str = "BTCUSDT",
          buyer_order: dict[str, Any] | None = None, seller_order: dict[str, Any] | None = None) -> None:
    """`seller` rests an ask, `buyer` takes it (extra order fields for each side)."""
    ok(engine, {"op": "order", "account": seller, "market": market, "side": "sell", "price": price, "qty": qty,
                **(seller_order or {})})
    ok(engine, {"op": "order", "account": buyer, "market": market, "side": "buy", "price": price, "qty": qty,
                **(buyer_order or {})})


def wallet(engine: Engine, account: str, asset: str = "USDT") -> int:
    return engine.ledger.balance(L.trader(account), asset)


def conserved(engine: Engine, deposits: dict[str, int]) -> None:
    """Sum of every account but `external` equals net deposits, per asset, exactly."""
    totals = engine.ledger.totals()
    for asset in set(totals) | set(deposits):
        assert totals.get(asset, 0) == deposits.get(asset, 0), asset
