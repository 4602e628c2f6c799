"""The Binance-compatible adapter in process: its signature check, its error mapping (Binance's codes,
4xx, never a success body), and that every refusal leaves the state hash equal."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from solvent.engine.core import Engine
from solvent.service.fapi_auth import FapiError, Params, check_timestamp, signed_payload
from solvent.service.fapi_orders import OrderIndex
from solvent.service.fapi_views import ticker_24h
from tests.service.conftest import Api, start
from tests.service.support import BTCUSDT

ORDER = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.1", "price": "7000",
         "timeInForce": "GTC"}


class Binance:
    """Signs as Binance clients do: HMAC-SHA256 hex of the urlencoded parameters, signature last."""

    def __init__(self, client: Any, key: str, secret: str) -> None:
        self.client, self.key, self.secret = client, key, secret

    def send(self, method: str, path: str, params: dict[str, Any] | None = None, *, secret: str | None = None,
             timestamp: int | None = None, in_query: bool | None = None) -> httpx.Response:
        values = {**(params or {}), "timestamp": timestamp or int(time.time() * 1000)}
        query = urlencode(values)
        signature = hmac.new((secret or self.secret).encode(), query.encode(), hashlib.sha256).hexdigest()
        signed = f"{query}&signature={signature}"
        headers = {"X-MBX-APIKEY": self.key}
        if in_query if in_query is not None else method in ("GET", "DELETE"):
            return self.client.request(method, f"{path}?{signed}", headers=headers)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return self.client.request(method, path, content=signed.encode(), headers=headers)

    def ok(self, method: str, path: str, params: dict[str, Any] | None = None) -> Any:
        response = self.send(method, path, params)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with start(str(tmp_path / "journal.db"), rate_limit=100_000) as client:
        yield Api(client)


@pytest.fixture
def alice(api: Api) -> Binance:
    return Binance(api.client, "key-alice", api.secrets["alice"])


def refused(response: httpx.Response, code: int, status: int = 400) -> None:
    """A Binance refusal: a 4xx status and `{code, msg}` with the code, never a success body."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "msg"} and body["code"] == code and body["msg"]


@pytest.mark.parametrize(("case", "secret", "tamper"), [
    ("another secret", "0" * 64, None),
    ("a parameter changed after signing", None, ("quantity=0.1", "quantity=1")),
    ("the signature not last", None, "reorder"),
])
def test_a_bad_signature_is_1022_and_books_nothing(api: Api, alice: Binance, case: str, secret: str | None,
                                                   tamper: Any) -> None:
    before = api.state_hash()
    if tamper is None:
        response = alice.send("POST", "/fapi/v1/order", ORDER, secret=secret)
    else:
        query = urlencode({**ORDER, "timestamp": int(time.time() * 1000)})
        signature = hmac.new(alice.secret.encode(), query.encode(), hashlib.sha256).hexdigest()
        body = (f"signature={signature}&{query}" if tamper == "reorder" else
                f"{query}&signature={signature}".replace(*tamper))
        response = api.client.post("/fapi/v1/order", content=body.encode(), headers={
            "X-MBX-APIKEY": "key-alice", "Content-Type": "application/x-www-form-urlencoded"})
    refused(response, -1022 if tamper != "reorder" else -1102)
    assert api.state_hash() == before
    assert alice.ok("GET", "/fapi/v1/openOrders") == []


def test_a_stale_or_future_timestamp_is_1021_and_a_late_one_inside_recv_window_passes(api: Api, alice: Binance) -> None:
    before = api.state_hash()
    now = int(time.time() * 1000)
    refused(alice.send("POST", "/fapi/v1/order", ORDER, timestamp=now - 6000), -1021)
    refused(alice.send("POST", "/fapi/v1/order", ORDER, timestamp=now + 5000), -1021)
    refused(alice.send("POST", "/fapi/v1/order", {**ORDER, "recvWindow": 70000}), -1131)
    assert api.state_hash() == before
    placed = alice.ok("POST", "/fapi/v1/order", {**ORDER, "recvWindow": 20000})
    assert placed["status"] == "NEW"
    late = alice.send("GET", "/fapi/v1/openOrders", {"recvWindow": 20000}, timestamp=now - 10000)
    assert late.status_code == 200 and [order["orderId"] for order in late.json()] == [placed["orderId"]]


def test_keys_missing_unknown_or_not_a_traders_are_refused(api: Api, alice: Binance) -> None:
    before = api.state_hash()
    refused(api.client.get("/fapi/v3/account?timestamp=1&signature=x"), -2014, 401)
    refused(Binance(api.client, "ghost", "x" * 64).send("GET", "/fapi/v3/account"), -2015, 401)
    refused(Binance(api.client, "root", api.root.secret).send("POST", "/fapi/v1/order", ORDER), -2015, 401)
    api.root.ok("DELETE", "/api/v1/operator/api-keys/key-bob")
    refused(Binance(api.client, "key-bob", api.secrets["bob"]).send("GET", "/fapi/v3/account"), -2015, 401)
    assert api.state_hash() != before  # only the revocation changed anything


def test_parameters_split_between_query_and_body_are_signed_together(api: Api, alice: Binance) -> None:
    """Binance's totalParams: the query string then the body, signature last."""
    query = "symbol=BTCUSDT&side=BUY&type=LIMIT"
    body = f"quantity=0.1&price=7000&timeInForce=GTC&timestamp={int(time.time() * 1000)}"
    signature = hmac.new(alice.secret.encode(), (query + body).encode(), hashlib.sha256).hexdigest()
    response = api.client.post(f"/fapi/v1/order?{query}", content=f"{body}&signature={signature}".encode(),
                               headers={"X-MBX-APIKEY": "key-alice",
                                        "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200 and response.json()["origQty"] == "0.1"


@pytest.mark.parametrize(("method", "path", "params"), [
    ("GET", "/fapi/v1/depth", {"symbol": "NOPE"}),
    ("GET", "/fapi/v1/ticker/24hr", {"symbol": "NOPE"}),
    ("GET", "/fapi/v1/premiumIndex", {"symbol": "NOPE"}),
    ("POST", "/fapi/v1/order", {**ORDER, "symbol": "NOPE"}),
    ("POST", "/fapi/v1/leverage", {"symbol": "NOPE", "leverage": 5}),
    ("GET", "/fapi/v3/positionRisk", {"symbol": "NOPE"}),
])
def test_an_unknown_symbol_is_1121_and_books_nothing(api: Api, alice: Binance, method: str, path: str,
                                                      params: dict[str, Any]) -> None:
    before = api.state_hash()
    refused(alice.send(method, path, params), -1121)
    assert api.state_hash() == before


def test_engine_refusals_map_to_binance_codes_and_change_nothing(api: Api, alice: Binance) -> None:
    before = api.state_hash()
    refused(alice.send("POST", "/fapi/v1/order", {**ORDER, "quantity": "1000"}), -2019)  # 7M notional
    refused(alice.send("POST", "/fapi/v1/order", {**ORDER, "quantity": "0.0001"}), -2010)  # not whole lots
    refused(alice.send("POST", "/fapi/v1/order", {**ORDER, "type": "STOP"}), -1116)
    refused(alice.send("POST", "/fapi/v1/order", {**ORDER, "side": "HOLD"}), -1117)
    refused(alice.send("POST", "/fapi/v1/order", {**ORDER, "positionSide": "LONG"}), -4061)
    refused(alice.send("POST", "/fapi/v1/order", {**ORDER, "reduceOnly": "true"}), -2022)
    refused(alice.send("POST", "/fapi/v1/order", {k: v for k, v in ORDER.items() if k != "quantity"}), -1102)
    refused(alice.send("GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": 999}), -2013)
    refused(alice.send("DELETE", "/fapi/v1/order", {"symbol": "BTCUSDT", "origClientOrderId": "none"}), -2011)
    refused(alice.send("POST", "/fapi/v1/marginType", {"symbol": "BTCUSDT", "marginType": "CROSSED"}), -4046)
    refused(alice.send("POST", "/fapi/v1/leverage", {"symbol": "BTCUSDT", "leverage": 51}), -4028)
    refused(alice.send("POST", "/fapi/v1/positionMargin", {"symbol": "BTCUSDT", "amount": "10", "type": 1}), -4047)
    assert api.state_hash() == before


def test_a_post_only_order_that_would_take_is_5022(api: Api, alice: Binance) -> None:
    bob = Binance(api.client, "key-bob", api.secrets["bob"])
    bob.ok("POST", "/fapi/v1/order", {**ORDER, "side": "SELL"})
    before = api.state_hash()
    refused(alice.send("POST", "/fapi/v1/order", {**ORDER, "timeInForce": "GTX"}), -5022)
    assert api.state_hash() == before


def test_orders_are_the_native_apis_orders(api: Api, alice: Binance) -> None:
    """An order placed here is the engine's order the native API shows, and the other way round."""
    placed = alice.ok("POST", "/fapi/v1/order", {**ORDER, "newClientOrderId": "mine-1"})
    native = api.alice.ok("GET", "/api/v1/accounts/alice/orders")
    assert [order["id"] for order in native] == ["mine-1"] and native[0]["price"] == "7000"
    api.alice.ok("POST", "/api/v1/accounts/alice/orders", {"market": "BTCUSDT", "side": "buy", "price": "6900",
                                                           "qty": "0.2", "client_order_id": "native-1"})
    listed = alice.ok("GET", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"})
    assert [(order["clientOrderId"], order["price"], order["origQty"]) for order in listed] == [
        ("mine-1", "7000", "0.1"), ("native-1", "6900", "0.2")]
    assert alice.ok("GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": placed["orderId"]}) == placed
    again = alice.ok("POST", "/fapi/v1/order", {**ORDER, "newClientOrderId": "mine-1"})  # a retry books nothing
    assert again["orderId"] == placed["orderId"]
    assert len(api.alice.ok("GET", "/api/v1/accounts/alice/orders")) == 2


def test_exchange_info_lists_the_futures_symbols_with_filters_from_ticks_and_lots(api: Api) -> None:
    api.root.ok("POST", "/api/v1/operator/markets", {"market": "ETHBTC", "type": "spot", "base": "BTC",
                                                     "quote": "USDT", "tick_size": "0.01", "lot_size": "0.001"})
    info = api.client.get("/fapi/v1/exchangeInfo").json()
    [symbol] = info["symbols"]
    assert symbol["symbol"] == "BTCUSDT" and symbol["contractType"] == "PERPETUAL" and symbol["status"] == "TRADING"
    assert symbol["marginAsset"] == "USDT" and {"LIMIT", "MARKET"} <= set(symbol["orderTypes"])
    filters = {entry["filterType"]: entry for entry in symbol["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.1" and filters["LOT_SIZE"]["stepSize"] == "0.001"
    assert filters["LOT_SIZE"]["minQty"] == "0.001" and filters["MIN_NOTIONAL"]["notional"] == "0.0001"
    assert symbol["maintMarginPercent"] == "1" and symbol["requiredMarginPercent"] == "2"  # tier 1: 1%, 50x
    brackets = Binance(api.client, "key-alice", api.secrets["alice"]).ok("GET", "/fapi/v1/leverageBracket")
    assert brackets[0]["brackets"][1] == {"bracket": 2, "initialLeverage": 20, "notionalCap": "250000",
                                          "notionalFloor": "50000", "maintMarginRatio": "0.025", "cum": "770"}


def test_the_account_assets_carry_an_update_time_and_the_routes_stay_out_of_the_schema(api: Api,
                                                                                       alice: Binance) -> None:
    account = alice.ok("GET", "/fapi/v2/account")
    [usdt] = account["assets"]
    assert usdt["asset"] == "USDT" and usdt["walletBalance"] == "100000" and usdt["updateTime"] > 0
    assert alice.ok("GET", "/fapi/v3/account")["totalWalletBalance"] == "100000"
    assert not [path for path in api.client.get("/openapi.json").json()["paths"] if path.startswith("/fapi")]


def test_the_signature_check_in_isolation() -> None:
    """signed_payload takes the signature off the end of the body, else of the query."""
    assert signed_payload(b"a=1&signature=ff", b"") == (b"a=1", "ff")
    assert signed_payload(b"a=1", b"b=2&signature=ee") == (b"a=1b=2", "ee")
    with pytest.raises(FapiError) as missing:
        signed_payload(b"a=1&signature=ff&b=2", b"")
    assert missing.value.code == -1102
    with pytest.raises(FapiError) as stale:
        check_timestamp(Params({"timestamp": "1000"}), 7001)
    assert (stale.value.code, stale.value.status) == (-1021, 400)
    check_timestamp(Params({"timestamp": "1000", "recvWindow": "6001"}), 7001)


def test_the_other_endpoints_read_the_engine(api: Api, alice: Binance) -> None:
    """ping, time, symbolAdlRisk (the health report's level), premiumIndex, v2 positionRisk, balance,
    cancelling all open orders, and the ADL quantile."""
    bob = Binance(api.client, "key-bob", api.secrets["bob"])
    assert api.client.get("/fapi/v1/ping").json() == {}
    assert abs(api.client.get("/fapi/v1/time").json()["serverTime"] - time.time() * 1000) < 5000
    alice.ok("POST", "/fapi/v1/leverage", {"symbol": "BTCUSDT", "leverage": 5})
    alice.ok("POST", "/fapi/v1/marginType", {"symbol": "BTCUSDT", "marginType": "ISOLATED"})
    bob.ok("POST", "/fapi/v1/order", {**ORDER, "side": "SELL", "quantity": "1"})
    alice.ok("POST", "/fapi/v1/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.4"})
    api.root.ok("POST", "/api/v1/operator/mark-prices", {"market": "BTCUSDT", "price": "7100"})
    health = api.client.get("/api/v1/public/health").json()["BTCUSDT"]
    assert api.client.get("/fapi/v1/symbolAdlRisk", params={"symbol": "BTCUSDT"}).json()["adlRisk"] == \
        health["adl_risk"]
    [premium] = api.client.get("/fapi/v1/premiumIndex").json()
    assert premium["markPrice"] == "7100" and premium["symbol"] == "BTCUSDT"
    [row] = [row for row in alice.ok("GET", "/fapi/v2/positionRisk") if row["symbol"] == "BTCUSDT"]
    native = api.alice.ok("GET", "/api/v1/accounts/alice")["positions"]["BTCUSDT"]
    assert (row["leverage"], row["marginType"], row["positionAmt"], row["notional"]) == ("5", "isolated", "0.4", "2840")
    assert row["liquidationPrice"] == native["liquidation_price"] != "0" and row["unRealizedProfit"] == "40"
    assert row["isolatedWallet"] == native["margin"] == "560" and row["isolatedMargin"] == "600"  # 560 + uPnL
    [short] = bob.ok("GET", "/fapi/v3/positionRisk")
    bob_native = api.bob.ok("GET", "/api/v1/accounts/bob")["positions"]["BTCUSDT"]
    assert short["notional"] == "-2840" and short["adl"] == bob_native["adl_quantile"]
    assert short["liquidationPrice"] == bob_native["liquidation_price"]
    [quantile] = bob.ok("GET", "/fapi/v1/adlQuantile")
    assert quantile["adlQuantile"] == {"LONG": 0, "SHORT": bob_native["adl_quantile"],
                                       "BOTH": bob_native["adl_quantile"]}
    [balance] = alice.ok("GET", "/fapi/v2/balance")
    assert balance["asset"] == "USDT" and float(balance["availableBalance"]) < 100000
    alice.ok("POST", "/fapi/v1/order", {**ORDER, "price": "6000"})
    assert len(alice.ok("GET", "/fapi/v1/openOrders")) == 1
    assert alice.ok("DELETE", "/fapi/v1/allOpenOrders", {"symbol": "BTCUSDT"})["code"] == 200
    assert alice.ok("GET", "/fapi/v1/openOrders") == [] == api.alice.ok("GET", "/api/v1/accounts/alice/orders")


def test_order_ids_survive_a_restart(tmp_path: Path) -> None:
    """orderId is the seq of the order's engine event: a venue restored from its snapshot and journal
    answers the same ids with the same orders."""
    db = str(tmp_path / "journal.db")
    with start(db, rate_limit=100_000) as client:
        api = Api(client)
        alice = Binance(client, "key-alice", api.secrets["alice"])
        placed = alice.ok("POST", "/fapi/v1/order", ORDER)
        alice.ok("DELETE", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": placed["orderId"]})
        kept = alice.ok("POST", "/fapi/v1/order", {**ORDER, "price": "6500"})
    with start(db, rate_limit=100_000) as client:
        alice = Binance(client, "key-alice", api.secrets["alice"])
        assert alice.ok("GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": placed["orderId"]})["status"] == \
            "CANCELED"
        assert alice.ok("GET", "/fapi/v1/openOrders") == [kept]


def test_an_unknown_fapi_path_is_a_binance_error(api: Api) -> None:
    refused(api.client.get("/fapi/v1/klines?symbol=BTCUSDT"), -1000, 404)


def test_the_24h_ticker_counts_the_fills_of_the_last_24_hours_of_engine_time() -> None:
    engine = Engine()
    engine.apply({"op": "add_asset", "asset": "USDT", "decimals": 8})
    engine.apply({"op": "add_asset", "asset": "BTC", "decimals": 8})
    engine.apply({"op": "add_market", **{k: v for k, v in BTCUSDT.items() if k != "market"}, "market": "BTCUSDT"})
    for name in ("maker", "taker"):
        engine.apply({"op": "deposit", "account": name, "asset": "USDT", "amount": "1000000"})

    def trade(hour: int, price: str, qty: str) -> None:
        time_ms = 1_600_000_000_000 + hour * 3_600_000
        for account, side in (("maker", "sell"), ("taker", "buy")):
            events = engine.apply({"op": "order", "account": account, "market": "BTCUSDT", "side": side,
                                   "price": price, "qty": qty, "time": time_ms})
            assert events[0]["type"] == "order", events

    trade(0, "7000", "1")  # 26 h before the last: outside the window
    trade(3, "7100", "0.5")
    trade(26, "7300", "0.5")
    index = OrderIndex(engine).update()
    ticker = ticker_24h(engine, index, engine.markets["BTCUSDT"], 0)
    assert (ticker["openPrice"], ticker["lastPrice"], ticker["highPrice"], ticker["lowPrice"]) == (
        "7100", "7300", "7300", "7100")
    assert (ticker["volume"], ticker["quoteVolume"], ticker["count"]) == ("1", "7200", 2)
    assert ticker["priceChange"] == "200" and ticker["weightedAvgPrice"] == "7200"
