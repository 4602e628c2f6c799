"""Read-only JSON views of the venue for the API: one account, markets, a book's depth, funds."""

from __future__ import annotations

from typing import Any

from solvent.engine import ledger as L
from solvent.engine.core import Engine
from solvent.markets import Market
from solvent.money import format_fraction
from solvent.service.errors import ApiError


def account_view(engine: Engine, name: str) -> dict[str, Any]:
    """Balances, positions (with liquidation and bankruptcy price and ADL quantile), open orders."""
    account = engine.accounts.get(name)
    if account is None:
        raise ApiError(404, "not_found", f"unknown account {name!r}", "account")
    engine._quantiles = engine.adl_quantiles()
    balances = {}
    for asset in engine.assets.values():
        if (L.trader(name), asset.name) in engine.ledger.balances:
            balances[asset.name] = asset.format(engine.ledger.balance(L.trader(name), asset.name))
    view = {
        "account": name,
        "parent": account.parent,
        "sub_accounts": sorted(other.id for other in engine.accounts.values() if other.parent == name),
        "balances": balances,
        "positions": {risk.market.name: engine._position_view(account, risk) for risk in engine.risk(account)},
        "orders": [engine._order_view(order) for order in sorted(account.orders.values(), key=lambda o: o.seq)],
        "settings": {market: {"margin_mode": mode, "leverage": leverage}
                     for market, (mode, leverage) in sorted(account.settings.items())},
    }
    if account.margin or account.spot_orders:  # spot margin accounts (SPEC §9)
        view["margin"] = engine.margin_view(account)
        view["spot_orders"] = [engine._spot_order_view(order)
                               for order in sorted(account.spot_orders.values(), key=lambda o: o.seq)]
    return view


def market_view(engine: Engine, market: Market) -> dict[str, Any]:
    mark = engine.marks.get(market.name)
    last = engine.last_prices.get(market.name)
    return {
        "market": market.name, "type": market.type, "base": market.base, "quote": market.quote,
        "settle": market.settle.name, "tick_size": str(market.tick_size), "lot_size": str(market.lot_size),
        "contract_size": str(market.contract_size), "maker_fee": format_fraction(market.maker_fee),
        "taker_fee": format_fraction(market.taker_fee), "fund": market.fund,
        "fund_fee_share": format_fraction(market.fund_fee_share),
        "tiers": [{"max_notional": format_fraction(tier.max_notional), "mmr": format_fraction(tier.mmr),
                   "max_leverage": tier.max_leverage, "cum": format_fraction(tier.cum)} for tier in market.tiers],
        "mark_price": None if mark is None else market.format_price(mark),
        "last_price": None if last is None else market.format_price(last),
        "open_interest": market.format_qty(engine.open_interest.get(market.name, 0)),
    }


def book_view(engine: Engine, name: str, levels: int) -> dict[str, Any]:
    market = engine.markets.get(name)
    if market is None:
        raise ApiError(404, "not_found", f"unknown market {name!r}", "market")
    bids, asks = engine.books[name].depth(levels)
    return {"market": name,
            "bids": [[market.format_price(price), market.format_qty(lots)] for price, lots in bids],
            "asks": [[market.format_price(price), market.format_qty(lots)] for price, lots in asks]}


def funds_view(engine: Engine) -> dict[str, Any]:
    out = {}
    for name, asset_name in engine.funds.items():
        asset = engine.assets[asset_name]
        out[name] = {"asset": asset_name, "balance": asset.format(engine.ledger.balance(L.fund(name), asset_name)),
                     "entries": len(engine.fund_book.history.get(name, [])), "head": engine.fund_book.head(name)}
    return out
