"""The engine's views in Binance USDⓈ-M's JSON shapes. Every figure comes from the engine or the
native API's views (`views.account_view`: the same liquidation price, margin and ADL quantile); this
module only renames, signs and formats. Numbers are decimal strings as Binance sends them."""

from __future__ import annotations

from bisect import bisect_right
from decimal import Decimal
from typing import Any

from solvent.engine import ledger as L
from solvent.engine.core import Engine
from solvent.engine.margin import initial_margin_units
from solvent.markets import Market
from solvent.money import decimal_places, format_fraction
from solvent.service.fapi_orders import ZERO, OrderIndex, OrderRecord
from solvent.service.views import account_view

#: Binance's delivery date of a perpetual (ccxt and others recognise it)
PERPETUAL_DELIVERY = 4133404800000
_STATUS = {True: "CANCELED", False: "EXPIRED"}
_TIF = {"gtc": "GTC", "ioc": "IOC", "fok": "FOK", "post_only": "GTX"}


def text(value: Decimal) -> str:
    """Plain decimal text without exponent or trailing zeros."""
    return format(value.normalize(), "f") if value else "0"


def futures_markets(engine: Engine) -> dict[str, Market]:
    """The USDⓈ-M symbols: linear perpetuals (spot pairs and inverse contracts are not)."""
    return {name: market for name, market in engine.markets.items() if market.type == "linear"}


def mark_text(engine: Engine, market: Market) -> str:
    mark = engine.mark(market.name)
    return "0" if mark is None else market.format_price(mark)


def symbol_info(market: Market) -> dict[str, Any]:
    tick, lot = market.tick_size, market.lot_size
    first = market.tiers[0]
    return {
        "symbol": market.name, "pair": market.name, "contractType": "PERPETUAL",
        "deliveryDate": PERPETUAL_DELIVERY, "onboardDate": 0, "status": "TRADING",
        "maintMarginPercent": text(Decimal(first.mmr.numerator) / first.mmr.denominator * 100),
        "requiredMarginPercent": text(Decimal(100) / first.max_leverage),
        "baseAsset": market.base, "quoteAsset": market.quote, "marginAsset": market.settle.name,
        "pricePrecision": decimal_places(tick) or 0, "quantityPrecision": decimal_places(lot) or 0,
        "baseAssetPrecision": 8, "quotePrecision": 8, "underlyingType": "COIN", "underlyingSubType": [],
        "settlePlan": 0, "triggerProtect": "0", "liquidationFee": "0", "marketTakeBound": "0",
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": text(tick), "maxPrice": "1000000000", "tickSize": text(tick)},
            {"filterType": "LOT_SIZE", "minQty": text(lot), "maxQty": "1000000000", "stepSize": text(lot)},
            {"filterType": "MARKET_LOT_SIZE", "minQty": text(lot), "maxQty": "1000000000", "stepSize": text(lot)},
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MIN_NOTIONAL", "notional": text(tick * lot)},
        ],
        "orderTypes": ["LIMIT", "MARKET"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
    }


def exchange_info(engine: Engine, now_ms: int) -> dict[str, Any]:
    markets = futures_markets(engine)
    assets = sorted({market.settle.name for market in markets.values()})
    return {
        "timezone": "UTC", "serverTime": now_ms, "futuresType": "U_MARGINED",
        "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
                       {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200}],
        "exchangeFilters": [],
        "assets": [{"asset": asset, "marginAvailable": True, "autoAssetExchange": None} for asset in assets],
        "symbols": [symbol_info(market) for market in markets.values()],
    }


def premium_index(engine: Engine, market: Market, now_ms: int) -> dict[str, Any]:
    mark = mark_text(engine, market)
    index = engine.index_prices.get(market.base) if market.quote == "USDT" else None
    return {"symbol": market.name, "markPrice": mark,
            "indexPrice": mark if index is None else format_fraction(index, decimal_places(market.tick_size) or 0),
            "estimatedSettlePrice": mark, "lastFundingRate": engine.last_funding.get(market.name) or "0",
            "interestRate": "0", "nextFundingTime": 0, "time": now_ms}


def ticker_24h(engine: Engine, index: OrderIndex, market: Market, now_ms: int) -> dict[str, Any]:
    """Last price and the 24 h window (engine time) of the market's fills."""
    since = engine.now - 24 * 3600 * 1000
    every = index.fills.get(market.name, [])
    fills = every[bisect_right(every, since, key=lambda fill: fill.time):]  # fills are in time order
    last = engine.last_prices.get(market.name)
    last_text = "0" if last is None else market.format_price(last)
    volume = sum((fill.qty for fill in fills), ZERO)
    quote = sum((fill.qty * fill.price for fill in fills), ZERO)
    opening = fills[0].price if fills else Decimal(last_text)
    change = Decimal(last_text) - opening if fills else ZERO
    return {
        "symbol": market.name, "priceChange": text(change),
        "priceChangePercent": text((change / opening * 100).quantize(Decimal("0.001"))) if opening else "0",
        "weightedAvgPrice": text((quote / volume).quantize(Decimal(market.tick_size))) if volume else last_text,
        "lastPrice": last_text, "lastQty": text(fills[-1].qty) if fills else "0",
        "openPrice": text(opening), "highPrice": text(max((f.price for f in fills), default=Decimal(last_text))),
        "lowPrice": text(min((f.price for f in fills), default=Decimal(last_text))),
        "volume": text(volume), "quoteVolume": text(quote), "openTime": fills[0].time if fills else since,
        "closeTime": now_ms, "firstId": fills[0].seq if fills else 0, "lastId": fills[-1].seq if fills else 0,
        "count": len(fills),
    }


def market_tick(engine: Engine, record: OrderRecord) -> Decimal:
    return engine.markets[record.market].tick_size


def order_json(engine: Engine, record: OrderRecord) -> dict[str, Any]:
    account = engine.accounts.get(record.account)
    resting = account.orders.get(record.client_id) if account is not None and not record.forced else None
    if resting is not None:
        status = "PARTIALLY_FILLED" if record.executed else "NEW"
    elif record.executed >= record.qty and record.executed:
        status = "FILLED"
    else:
        status = _STATUS[record.cancelled]
    tick = market_tick(engine, record)
    average = (record.quote / record.executed).quantize(tick) if record.executed else ZERO
    kind = "MARKET" if record.kind == "market" else "LIMIT"
    return {
        "orderId": record.order_id, "symbol": record.market, "status": status,
        "clientOrderId": ("autoclose-" if record.forced else "") + record.client_id,
        "price": record.price or "0", "avgPrice": text(average),
        "origQty": text(record.qty), "executedQty": text(record.executed), "cumQuote": text(record.quote),
        "timeInForce": _TIF.get(record.tif, "GTC"), "type": kind, "origType": kind,
        "reduceOnly": record.reduce_only, "closePosition": False, "side": record.side.upper(), "positionSide": "BOTH",
        "stopPrice": "0", "workingType": "CONTRACT_PRICE", "priceProtect": False, "priceMatch": "NONE",
        "selfTradePreventionMode": "NONE", "goodTillDate": 0, "time": record.time, "updateTime": record.update_time,
    }


def user_trade(event: dict[str, Any], account: str, index: OrderIndex, settle: str, time_ms: int) -> dict[str, Any]:
    maker = event["maker"] == account
    side = event["taker_side"] if not maker else ("sell" if event["taker_side"] == "buy" else "buy")
    client_id = event["maker_order"] if maker else event["taker_order"]
    price, qty = Decimal(event["price"]), Decimal(event["qty"])
    return {
        "symbol": event["market"], "id": event["seq"], "orderId": index.order_id(account, client_id) or 0,
        "side": side.upper(), "price": event["price"], "qty": event["qty"], "realizedPnl":
        event.get("maker_pnl" if maker else "taker_pnl", "0"), "quoteQty": text(price * qty),
        "commission": event.get("maker_fee" if maker else "taker_fee", "0"), "commissionAsset": settle,
        "time": time_ms, "positionSide": "BOTH", "buyer": side == "buy", "maker": maker,
    }


def _signed_notional(position: dict[str, Any], mark: str) -> Decimal:
    return Decimal(position["qty"]) * Decimal(mark)


def position_rows(engine: Engine, account: str, version: int,
                  view: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """positionRisk (v2 or v3): the native account view's positions (LP, margin, ADL quantile)."""
    view = account_view(engine, account) if view is None else view
    rows = []
    known = engine.accounts[account]
    updated = max(engine.now, 1)
    for name, market in futures_markets(engine).items():
        position = view["positions"].get(name)
        if position is None and version == 3:
            continue  # v3 lists open positions only
        mode, leverage = known.setting(name)
        mark = mark_text(engine, market)
        qty = position["qty"] if position else "0"
        notional = _signed_notional(position, mark) if position else ZERO
        isolated = position is not None and position["margin_mode"] == "isolated"
        margin = position["margin"] if isolated else "0"
        upnl = position["upnl"] if position else "0"
        row: dict[str, Any] = {
            "symbol": name, "positionSide": "BOTH", "positionAmt": qty,
            "entryPrice": position["entry_price"] if position else "0", "breakEvenPrice": "0", "markPrice": mark,
            "unRealizedProfit": upnl, "liquidationPrice": (position or {}).get("liquidation_price") or "0",
            "isolatedMargin": text(Decimal(margin) + Decimal(upnl)) if isolated else "0",
            "notional": text(notional), "marginAsset": market.settle.name, "isolatedWallet": margin,
            "updateTime": updated,
        }
        if version == 3:
            row.update({"initialMargin": _initial_margin(engine, market, position), "maintMargin":
                        position["maintenance_margin"] if position else "0",
                        "positionInitialMargin": _initial_margin(engine, market, position),
                        "openOrderInitialMargin": "0", "adl": (position or {}).get("adl_quantile", 0),
                        "bidNotional": "0", "askNotional": "0"})
        else:
            row.update({"leverage": str(position["leverage"] if position else leverage),
                        "marginType": "isolated" if (position["margin_mode"] if position else mode) == "isolated"
                        else "cross", "isAutoAddMargin": "false", "maxNotionalValue": max_notional(market, leverage)})
        rows.append(row)
    return rows


def _initial_margin(engine: Engine, market: Market, position: dict[str, Any] | None) -> str:
    if position is None:
        return "0"
    lots = market.qty_lots("qty", position["qty"].lstrip("-"))
    mark = engine.mark(market.name) or 0
    return market.settle.format(initial_margin_units(market, lots, mark, int(position["leverage"])))


def max_notional(market: Market, leverage: int) -> str:
    """The largest notional the leverage allows: the cap of the last tier whose max leverage admits it."""
    allowed = [tier.max_notional for tier in market.tiers if tier.max_leverage >= leverage]
    return format_fraction(allowed[-1]) if allowed else "0"


def account_json(engine: Engine, account: str, version: int) -> dict[str, Any]:
    """account (v2 / v3): per settle asset the wallet, uPnL, margins and what is available (the engine's
    free balance); positions as in positionRisk."""
    view = account_view(engine, account)
    known = engine.accounts[account]
    updated = max(engine.now, 1)
    markets = futures_markets(engine)
    assets = sorted({market.settle.name for market in markets.values()} | set(view["balances"]))
    rows, totals = [], {key: ZERO for key in ("wallet", "upnl", "mm", "im", "pim", "oim", "free", "cross")}
    for name in assets:
        asset = engine.assets[name]
        wallet_units = engine.ledger.balance(L.trader(account), name)
        upnl = mm = pim = isolated = ZERO
        for market_name, position in view["positions"].items():
            market = engine.markets[market_name]
            if market.settle.name != name:
                continue
            upnl += Decimal(position["upnl"])
            mm += Decimal(position["maintenance_margin"])
            pim += Decimal(_initial_margin(engine, market, position))
            if position["margin_mode"] == "isolated":
                isolated += Decimal(position["margin"])
        oim = sum((Decimal(asset.format(order.reserved)) for order in known.orders.values()
                   if engine.markets[order.market].settle.name == name), ZERO)
        wallet = Decimal(asset.format(wallet_units)) + isolated
        free = Decimal(asset.format(max(engine.free(known, name), 0)))
        row = {"asset": name, "walletBalance": text(wallet), "unrealizedProfit": text(upnl),
               "marginBalance": text(wallet + upnl), "maintMargin": text(mm), "initialMargin": text(pim + oim),
               "positionInitialMargin": text(pim), "openOrderInitialMargin": text(oim),
               "crossWalletBalance": asset.format(wallet_units), "crossUnPnl": text(upnl),
               "availableBalance": text(free), "maxWithdrawAmount": text(free), "marginAvailable": True,
               "updateTime": updated}
        rows.append(row)
        for key, value in (("wallet", wallet), ("upnl", upnl), ("mm", mm), ("im", pim + oim), ("pim", pim),
                           ("oim", oim), ("free", free), ("cross", Decimal(asset.format(wallet_units)))):
            totals[key] += value
    positions = position_rows(engine, account, 3, view)
    out: dict[str, Any] = {
        "totalInitialMargin": text(totals["im"]), "totalMaintMargin": text(totals["mm"]),
        "totalWalletBalance": text(totals["wallet"]), "totalUnrealizedProfit": text(totals["upnl"]),
        "totalMarginBalance": text(totals["wallet"] + totals["upnl"]),
        "totalPositionInitialMargin": text(totals["pim"]), "totalOpenOrderInitialMargin": text(totals["oim"]),
        "totalCrossWalletBalance": text(totals["cross"]), "totalCrossUnPnl": text(totals["upnl"]),
        "availableBalance": text(totals["free"]), "maxWithdrawAmount": text(totals["free"]),
        "assets": rows,
        "positions": [{key: row[key] for key in ("symbol", "positionSide", "positionAmt", "unrealizedProfit",
                                                 "isolatedMargin", "notional", "isolatedWallet", "initialMargin",
                                                 "maintMargin", "updateTime") if key in row}
                      for row in ({**position, "unrealizedProfit": position["unRealizedProfit"]}
                                  for position in positions)],
    }
    if version == 2:
        out.update({"feeTier": 0, "canTrade": True, "canDeposit": True, "canWithdraw": True, "updateTime": 0,
                    "multiAssetsMargin": False})
    return out


def leverage_brackets(market: Market) -> dict[str, Any]:
    floor = Decimal(0)
    brackets = []
    for number, tier in enumerate(market.tiers, start=1):
        cap = Decimal(tier.max_notional.numerator) / tier.max_notional.denominator
        brackets.append({"bracket": number, "initialLeverage": tier.max_leverage, "notionalCap": text(cap),
                         "notionalFloor": text(floor), "maintMarginRatio": format_fraction(tier.mmr),
                         "cum": format_fraction(tier.cum)})
        floor = cap
    return {"symbol": market.name, "brackets": brackets}


def insurance_balances(engine: Engine, now_ms: int) -> list[dict[str, Any]]:
    """Each insurance fund with the futures symbols that share it (Binance's symbol groups)."""
    out = []
    markets = futures_markets(engine)
    for fund, asset_name in engine.funds.items():
        symbols = sorted(name for name, market in markets.items() if market.fund == fund)
        if not symbols:
            continue
        asset = engine.assets[asset_name]
        points = engine.fund_book.balances.get(fund, [])
        updated = max(points[-1][0], 1) if points else now_ms
        out.append({"symbols": symbols, "assets": [{"asset": asset_name, "marginBalance": asset.format(
            engine.ledger.balance(L.fund(fund), asset_name)), "updateTime": updated}]})
    return out
