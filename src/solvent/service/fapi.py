"""A Binance USDⓈ-M-compatible API (`/fapi/v1`, `/fapi/v2`, `/fapi/v3`), so trading clients written
against Binance's futures API (CCXT's `binanceusdm`, python-binance, ...) work unchanged.

A thin adapter: every change is the same engine command the native trader API submits, through the
same writer (stamped, journaled, then applied); every figure is read from the engine and the native
views (`fapi_views`). Nothing here decides a rule; a command the engine refuses changes nothing and
is answered with Binance's error code for it. Signing and errors: `fapi_auth`.

The routes are left out of the native OpenAPI schema: they follow Binance's documentation, not ours.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from solvent.engine.core import Engine
from solvent.engine.reports import health
from solvent.engine.timefmt import parse_time
from solvent.markets import Market
from solvent.service.access import Service
from solvent.service.fapi_auth import FapiError, Params, bad_symbol, read_params, secret_of, verify
from solvent.service.fapi_orders import OrderIndex, OrderRecord, order_index
from solvent.service.fapi_views import (
    account_json,
    exchange_info,
    futures_markets,
    insurance_balances,
    leverage_brackets,
    max_notional,
    order_json,
    position_rows,
    premium_index,
    ticker_24h,
    user_trade,
)
from solvent.service.venue import Result
from solvent.service.writer import WriterUnavailable

router = APIRouter(prefix="/fapi", include_in_schema=False)

_SIDES = {"BUY": "buy", "SELL": "sell"}
_TIFS = {"GTC": "gtc", "IOC": "ioc", "FOK": "fok", "GTX": "post_only"}
_MODES = {"ISOLATED": "isolated", "CROSSED": "cross", "CROSS": "cross"}
_DEPTHS = (5, 10, 20, 50, 100, 500, 1000)


def install(app: FastAPI) -> None:
    """Mount the routes and answer their refusals in Binance's shape."""
    app.include_router(router)

    async def refused(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, FapiError)
        return JSONResponse({"code": error.code, "msg": error.msg}, status_code=error.status)

    app.add_exception_handler(FapiError, refused)


# ---- plumbing ---------------------------------------------------------------------------------------
class Call:
    """One request: its service, engine, parameters, and (signed requests) the key's account."""

    def __init__(self, request: Request, service: Service, params: Params, account: str | None = None) -> None:
        self.request, self.service, self.params, self.account = request, service, params, account

    @property
    def engine(self) -> Engine:
        return self.service.venue.engine

    def orders(self) -> OrderIndex:
        return order_index(self.request.app.state, self.engine)

    def market(self, required: bool = True) -> Market | None:
        name = self.params.require("symbol") if required else self.params.get("symbol")
        if name is None:
            return None
        market = futures_markets(self.engine).get(name)
        if market is None:
            raise bad_symbol()
        return market

    def known(self) -> bool:
        return self.account is not None and self.account in self.engine.accounts

    async def submit(self, command: dict[str, Any]) -> Result:
        """The command through the writer, as the native routes submit it (a refusal comes back as a
        `rejected` event for the caller to map)."""
        try:
            return await self.service.writer.submit(command)
        except WriterUnavailable:
            raise FapiError(-1001, "Internal error; unable to process your request. Please try again.", 503) from None


async def public(request: Request) -> Call:
    params, _, _ = await read_params(request)
    return Call(request, request.app.state.service, params)


async def signed(request: Request) -> Call:
    service: Service = request.app.state.service
    params, query, body = await read_params(request)
    key = service.key(request.headers.get("X-MBX-APIKEY") or "")
    key = verify(request, params, query, body, key, secret_of(service, key))
    if not service.limiter.allow(key.key):
        raise FapiError(-1003, "Too many requests; please use the websocket for live updates.", 429)
    return Call(request, service, params, key.account)


def now_ms() -> int:
    return int(time.time() * 1000)


def _rejection(result: Result) -> dict[str, Any] | None:
    refusal = result.rejection
    if refusal is not None and refusal.get("internal"):
        raise FapiError(-1000, "An unknown error occurred while processing the request.", 500)
    return refusal


# ---- market data ------------------------------------------------------------------------------------
@router.get("/v1/ping")
async def ping() -> dict[str, Any]:
    return {}


@router.get("/v1/time")
async def server_time() -> dict[str, Any]:
    return {"serverTime": now_ms()}


@router.get("/v1/exchangeInfo")
async def info(request: Request) -> dict[str, Any]:
    call = await public(request)
    return exchange_info(call.engine, now_ms())


@router.get("/v1/depth")
async def depth(request: Request) -> dict[str, Any]:
    call = await public(request)
    market = call.market()
    assert market is not None
    limit = call.params.integer("limit", 500)
    if limit not in _DEPTHS:
        raise FapiError(-1130, "Invalid data sent for a parameter: limit.")
    bids, asks = call.engine.books[market.name].depth(limit)
    stamp = now_ms()
    return {"lastUpdateId": call.service.venue.seq, "E": stamp, "T": stamp,
            "bids": [[market.format_price(price), market.format_qty(lots)] for price, lots in bids],
            "asks": [[market.format_price(price), market.format_qty(lots)] for price, lots in asks]}


@router.get("/v1/ticker/24hr")
async def ticker(request: Request) -> Any:
    call = await public(request)
    market, index = call.market(required=False), call.orders()
    if market is not None:
        return ticker_24h(call.engine, index, market, now_ms())
    return [ticker_24h(call.engine, index, each, now_ms()) for each in futures_markets(call.engine).values()]


@router.get("/v1/premiumIndex")
async def premium(request: Request) -> Any:
    call = await public(request)
    market = call.market(required=False)
    if market is not None:
        return premium_index(call.engine, market, now_ms())
    return [premium_index(call.engine, each, now_ms()) for each in futures_markets(call.engine).values()]


@router.get("/v1/insuranceBalance")
async def insurance(request: Request) -> Any:
    """Each insurance fund's balance and the symbols sharing it; with `symbol`, its fund only."""
    call = await public(request)
    market = call.market(required=False)
    funds = insurance_balances(call.engine, now_ms())
    if market is None:
        return funds
    return next(fund for fund in funds if market.name in fund["symbols"])


@router.get("/v1/symbolAdlRisk")
async def symbol_adl_risk(request: Request) -> Any:
    """The engine's ADL risk level per symbol (low / medium / high, from fund coverage)."""
    call = await public(request)
    market = call.market(required=False)
    levels = call.service.cached("health", lambda: health(call.engine))
    rows = [{"symbol": name, "adlRisk": levels[name]["adl_risk"], "updateTime": max(call.engine.now, 1)}
            for name in futures_markets(call.engine) if name in levels]
    if market is not None:
        return next(row for row in rows if row["symbol"] == market.name)
    return rows


# ---- account ----------------------------------------------------------------------------------------
def _account(call: Call, version: int) -> dict[str, Any]:
    if not call.known():
        return account_json_empty(version)
    assert call.account is not None
    return account_json(call.engine, call.account, version)


def account_json_empty(version: int) -> dict[str, Any]:
    zero = {key: "0" for key in ("totalInitialMargin", "totalMaintMargin", "totalWalletBalance",
                                 "totalUnrealizedProfit", "totalMarginBalance", "totalPositionInitialMargin",
                                 "totalOpenOrderInitialMargin", "totalCrossWalletBalance", "totalCrossUnPnl",
                                 "availableBalance", "maxWithdrawAmount")}
    return {**zero, "assets": [], "positions": []}


@router.get("/v2/account")
async def account_v2(request: Request) -> dict[str, Any]:
    return _account(await signed(request), 2)


@router.get("/v3/account")
async def account_v3(request: Request) -> dict[str, Any]:
    return _account(await signed(request), 3)


@router.get("/v2/balance")
@router.get("/v3/balance")
async def balance(request: Request) -> list[dict[str, Any]]:
    call = await signed(request)
    rows = _account(call, 3)["assets"]
    return [{"accountAlias": call.account, "asset": row["asset"], "balance": row["walletBalance"],
             "crossWalletBalance": row["crossWalletBalance"], "crossUnPnl": row["crossUnPnl"],
             "availableBalance": row["availableBalance"], "maxWithdrawAmount": row["maxWithdrawAmount"],
             "marginAvailable": True, "updateTime": row["updateTime"]} for row in rows]


def _rows(call: Call, version: int = 3) -> list[dict[str, Any]]:
    if not call.known():
        return []
    assert call.account is not None
    return position_rows(call.engine, call.account, version)


async def _positions(request: Request, version: int) -> list[dict[str, Any]]:
    call = await signed(request)
    market = call.market(required=False)
    return [row for row in _rows(call, version) if market is None or row["symbol"] == market.name]


@router.get("/v2/positionRisk")
async def position_risk_v2(request: Request) -> list[dict[str, Any]]:
    return await _positions(request, 2)


@router.get("/v3/positionRisk")
async def position_risk_v3(request: Request) -> list[dict[str, Any]]:
    return await _positions(request, 3)


@router.get("/v1/leverageBracket")
async def leverage_bracket(request: Request) -> list[dict[str, Any]]:
    call = await signed(request)
    market = call.market(required=False)
    return [leverage_brackets(each) for each in futures_markets(call.engine).values()
            if market is None or each is market]


@router.get("/v1/adlQuantile")
async def adl_quantile(request: Request) -> list[dict[str, Any]]:
    """The engine's ADL quantile (0–4) of each open position (one-way mode: under BOTH and its side)."""
    call = await signed(request)
    market = call.market(required=False)
    out = []
    for row in _rows(call):
        if market is not None and row["symbol"] != market.name:
            continue
        long = not row["positionAmt"].startswith("-")
        quantile = row["adl"]
        out.append({"symbol": row["symbol"], "adlQuantile": {"LONG": quantile if long else 0,
                                                             "SHORT": 0 if long else quantile, "BOTH": quantile}})
    return out


# ---- settings -----------------------------------------------------------------------------------------
@router.post("/v1/leverage")
async def set_leverage(request: Request) -> dict[str, Any]:
    call = await signed(request)
    market = call.market()
    assert market is not None and call.account is not None
    leverage = call.params.integer("leverage", low=1, high=1000)
    if leverage is None:
        raise FapiError(-1102, "Mandatory parameter 'leverage' was not sent, was empty/null, or malformed.")
    result = await call.submit({"op": "leverage", "account": call.account, "market": market.name,
                                "leverage": leverage})
    refusal = _rejection(result)
    if refusal is not None:
        raise FapiError(-4028, f"Leverage {leverage} is not valid: {refusal['reason']}")
    return {"leverage": leverage, "maxNotionalValue": max_notional(market, leverage), "symbol": market.name}


@router.post("/v1/marginType")
async def set_margin_type(request: Request) -> dict[str, Any]:
    call = await signed(request)
    market = call.market()
    assert market is not None and call.account is not None
    mode = _MODES.get(call.params.require("marginType").upper())
    if mode is None:
        raise FapiError(-4020, "Invalid margin type.")
    known = call.engine.accounts.get(call.account)
    current, leverage = known.setting(market.name) if known is not None else ("cross", 20)
    if mode == current:
        raise FapiError(-4046, "No need to change margin type.")
    result = await call.submit({"op": "leverage", "account": call.account, "market": market.name,
                                "leverage": leverage, "margin_mode": mode})
    refusal = _rejection(result)
    if refusal is not None:
        raise FapiError(-4048, f"Margin type cannot be changed: {refusal['reason']}")
    return {"code": 200, "msg": "success"}


@router.post("/v1/positionMargin")
async def position_margin(request: Request) -> dict[str, Any]:
    """Add (type 1) or reduce (type 2) an isolated position's margin: the engine's `margin` op."""
    call = await signed(request)
    market = call.market()
    assert market is not None and call.account is not None
    amount = call.params.require("amount")
    kind = call.params.integer("type")
    if kind not in (1, 2) or amount.startswith("-"):
        raise FapiError(-1130, "Invalid data sent for a parameter: type or amount.")
    result = await call.submit({"op": "margin", "account": call.account, "market": market.name,
                                "amount": amount if kind == 1 else "-" + amount})
    refusal = _rejection(result)
    if refusal is not None:
        if refusal.get("field") == "market":
            raise FapiError(-4047, f"No isolated position: {refusal['reason']}")
        raise FapiError(-2019 if kind == 1 else -4051, "Margin is insufficient." if kind == 1 else
                        f"Isolated balance insufficient: {refusal['reason']}")
    return {"amount": float(amount), "code": 200, "msg": "Successfully modify position margin.", "type": kind}


# ---- orders ---------------------------------------------------------------------------------------------
def _order_command(call: Call, market: Market) -> dict[str, Any]:
    """Binance's order parameters as the engine's `order` command (leverage and margin mode: the
    account's settings for the symbol, as on Binance)."""
    params = call.params
    side = _SIDES.get(params.require("side").upper())
    if side is None:
        raise FapiError(-1117, "Invalid side.")
    kind = params.require("type").upper()
    if kind not in ("LIMIT", "MARKET"):
        raise FapiError(-1116, "Invalid orderType.")
    if params.get("positionSide") not in (None, "BOTH"):
        raise FapiError(-4061, "Order's position side does not match user's setting.")
    if params.get("closePosition") == "true":
        raise FapiError(-1106, "Parameter 'closePosition' sent when not required.")
    command: dict[str, Any] = {"op": "order", "account": call.account, "market": market.name, "side": side,
                               "type": kind.lower(), "qty": params.require("quantity"),
                               "reduce_only": params.get("reduceOnly") == "true"}
    tif = params.get("timeInForce")
    if kind == "LIMIT":
        command["price"] = params.require("price")
        command["tif"] = _TIFS.get((tif or "GTC").upper())
        if command["tif"] is None:
            raise FapiError(-1115, "Invalid timeInForce.")
    elif params.get("price") is not None:
        raise FapiError(-1106, "Parameter 'price' sent when not required.")
    client_id = params.get("newClientOrderId")
    if client_id is not None:
        command["id"] = client_id
    return command


def _order_refusal(refusal: dict[str, Any]) -> FapiError:
    reason = str(refusal.get("reason"))
    if reason.startswith("insufficient margin"):
        return FapiError(-2019, "Margin is insufficient.")
    if refusal.get("field") == "tif":
        return FapiError(-5022, "Due to the order could not be executed as maker, the Post Only order will be "
                                "rejected.")
    if refusal.get("field") == "reduce_only":
        return FapiError(-2022, "ReduceOnly Order is rejected.")
    return FapiError(-2010, f"Order rejected: {refusal.get('field')}: {reason}")


@router.post("/v1/order")
async def new_order(request: Request) -> dict[str, Any]:
    call = await signed(request)
    market = call.market()
    assert market is not None and call.account is not None
    result = await call.submit(_order_command(call, market))
    refusal = _rejection(result)
    if refusal is not None:
        raise _order_refusal(refusal)
    placed = next(event for event in result.events if event["type"] == "order")
    index = call.orders()
    record = index.find(call.account, index.order_id(call.account, placed["id"]), None)
    assert record is not None
    return order_json(call.engine, record)


def _find(call: Call, code: int, msg: str) -> OrderRecord:
    market = call.market()
    assert market is not None and call.account is not None
    order_id = call.params.integer("orderId")
    client_id = call.params.get("origClientOrderId")
    if order_id is None and client_id is None:
        raise FapiError(-1102, "Either orderId or origClientOrderId must be sent.")
    record = call.orders().find(call.account, order_id, client_id)
    if record is None or record.market != market.name:
        raise FapiError(code, msg)
    return record


@router.get("/v1/order")
async def get_order(request: Request) -> dict[str, Any]:
    call = await signed(request)
    return order_json(call.engine, _find(call, -2013, "Order does not exist."))


@router.delete("/v1/order")
async def cancel_order(request: Request) -> dict[str, Any]:
    call = await signed(request)
    record = _find(call, -2011, "Unknown order sent.")
    result = await call.submit({"op": "cancel", "account": call.account, "id": record.client_id})
    if _rejection(result) is not None:
        raise FapiError(-2011, "Unknown order sent.")
    call.orders()
    return order_json(call.engine, record)


def _open_records(call: Call, market: Market | None) -> list[OrderRecord]:
    if not call.known():
        return []
    assert call.account is not None
    index = call.orders()
    resting = sorted(call.engine.accounts[call.account].orders.values(), key=lambda order: order.seq)
    records = [index.find(call.account, None, order.oid) for order in resting
               if market is None or order.market == market.name]
    return [record for record in records if record is not None]


@router.get("/v1/openOrders")
async def open_orders(request: Request) -> list[dict[str, Any]]:
    call = await signed(request)
    market = call.market(required=False)
    return [order_json(call.engine, record) for record in _open_records(call, market)]


@router.delete("/v1/allOpenOrders")
async def cancel_all(request: Request) -> dict[str, Any]:
    call = await signed(request)
    market = call.market()
    assert market is not None
    if call.known():
        result = await call.submit({"op": "cancel_all", "account": call.account, "market": market.name})
        if _rejection(result) is not None:
            raise FapiError(-2011, "Unknown order sent.")
    return {"code": 200, "msg": "The operation of cancel all open order is done."}


def _window(params: Params, default_limit: int, max_limit: int) -> tuple[int | None, int | None, int]:
    limit = params.integer("limit", default_limit, 1, max_limit)
    assert limit is not None
    return params.integer("startTime"), params.integer("endTime"), limit


def _within(time_ms: int, start: int | None, end: int | None) -> bool:
    return (start is None or time_ms >= start) and (end is None or time_ms <= end)


@router.get("/v1/userTrades")
async def user_trades(request: Request) -> list[dict[str, Any]]:
    """The account's fills (the native trade history), oldest first."""
    call = await signed(request)
    market = call.market()
    assert market is not None and call.account is not None
    start, end, limit = _window(call.params, 500, 1000)
    from_id = call.params.integer("fromId")
    index = call.orders()
    out = []
    for event in call.service.venue.history_of(call.account, "trades"):
        if event["market"] != market.name or (from_id is not None and event["seq"] < from_id):
            continue
        when = parse_time(event["time"])
        if _within(when, start, end):
            out.append(user_trade(event, call.account, index, market.settle.name, when))
    return out[:limit] if from_id is not None or start is not None else out[-limit:]


@router.get("/v1/forceOrders")
async def force_orders(request: Request) -> list[dict[str, Any]]:
    """The account's forced liquidation orders (the engine's liquidations), newest last."""
    call = await signed(request)
    market = call.market(required=False)
    start, end, limit = _window(call.params, 50, 100)
    if call.params.get("autoCloseType") == "ADL" or call.account is None:
        return []
    index = call.orders()
    out = []
    for event in call.service.venue.history_of(call.account, "liquidations"):
        if event["type"] != "liquidation" or event["account"] != call.account:
            continue
        if market is not None and event["market"] != market.name:
            continue
        record = index.orders.get(event["seq"])
        if record is not None and _within(record.time, start, end):
            out.append(order_json(call.engine, record))
    return out[-limit:]


@router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "DELETE"])  # defined last: matched last
async def unknown(path: str) -> None:
    raise FapiError(-1000, f"Unknown endpoint /fapi/{path}: this venue serves a subset of Binance's futures API.",
                    404)
