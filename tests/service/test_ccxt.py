"""The real, unmodified CCXT `binanceusdm` client against a real `solvent serve` (issue 8): markets,
book, ticker, funding, balance, orders, trades, leverage, margin type, isolated margin, positions with
the native API's liquidation price, ADL rank, a forced liquidation, the insurance balance; and the
refusals mapped to the ccxt exceptions Binance's codes give."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ccxt
import httpx
import pytest

from solvent.service import auth
from tests.service.server import Server
from tests.service.support import ROOT_SECRET, Signer, build_venue

SYMBOL = "BTC/USDT:USDT"


class Venue:
    """A running server with the support venue (alice, bob: 100k USDT each, a 100k fund)."""

    def __init__(self, server: Server, client: httpx.Client) -> None:
        self.server, self.client = server, client
        self.root = Signer(client, auth.ROOT_KEY, ROOT_SECRET)
        self.secrets = build_venue(self.root)
        # a spot pair is not a futures symbol: the USDⓈ-M API must leave it out
        self.root.ok("POST", "/api/v1/operator/markets", {"market": "ETHUSDT", "type": "spot", "base": "BTC",
                                                          "quote": "USDT", "tick_size": "0.01", "lot_size": "0.001"})
        self.requests: list[tuple[str, str]] = []

    def exchange(self, account: str, secret: str | None = None, **options: Any) -> Any:
        """An unmodified `ccxt.binanceusdm` whose URLs point here. `fetch` is wrapped only to record
        which paths ccxt asks for (every one must be ours)."""
        exchange = ccxt.binanceusdm({"apiKey": f"key-{account}", "secret": secret or self.secrets[account],
                                     "options": {"fetchCurrencies": False, **options}})
        for name, url in list(exchange.urls["api"].items()):
            exchange.urls["api"][name] = self.server.url + "/" + url.split("/", 3)[3]
        original: Callable[..., Any] = exchange.fetch

        def fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
            self.requests.append((method, url.removeprefix(self.server.url).split("?")[0]))
            return original(url, method, headers, body)

        exchange.fetch = fetch
        return exchange

    def native_position(self, account: str) -> dict[str, Any]:
        signer = Signer(self.client, f"key-{account}", self.secrets[account])
        return signer.ok("GET", f"/api/v1/accounts/{account}")["positions"]  # type: ignore[no-any-return]

    def state_hash(self) -> str:
        return str(self.client.get("/api/v1/public/head").json()["state_hash"])


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venue]:
    tmp: Path = tmp_path_factory.mktemp("ccxt")
    server = Server(str(tmp / "journal.db"), tmp / "server.log").start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            yield Venue(server, client)
    finally:
        server.ensure_dead()


def test_ccxt_binanceusdm_trades_liquidates_and_reads_the_fund(venue: Venue) -> None:
    alice, bob = venue.exchange("alice"), venue.exchange("bob")

    markets = alice.load_markets()
    assert list(markets) == [SYMBOL]  # the spot pair is left out
    market = markets[SYMBOL]
    assert market["swap"] and market["linear"] and market["settle"] == "USDT" and market["active"]
    assert market["precision"] == {"amount": 0.001, "price": 0.1, "base": 1e-08, "quote": 1e-08}
    assert market["limits"]["amount"]["min"] == 0.001 and market["limits"]["cost"]["min"] == 0.0001

    assert alice.fetch_balance()["USDT"] == {"free": 100000.0, "used": 0.0, "total": 100000.0}
    assert alice.set_leverage(10, SYMBOL)["leverage"] == 10
    assert alice.set_margin_mode("isolated", SYMBOL)["code"] == 200
    # Binance answers a second switch with -4046 (HTTP 400), which ccxt's set_margin_mode swallows
    assert alice.set_margin_mode("isolated", SYMBOL)["code"] == -4046

    ask = bob.create_order(SYMBOL, "limit", "sell", 1, 7000)
    assert ask["status"] == "open" and ask["price"] == 7000 and ask["amount"] == 1
    book = alice.fetch_order_book(SYMBOL)
    assert book["asks"] == [[7000.0, 1.0]] and book["bids"] == []

    bought = alice.create_order(SYMBOL, "market", "buy", 0.5)
    assert bought["status"] == "closed" and bought["filled"] == 0.5 and bought["average"] == 7000
    resting = alice.create_order(SYMBOL, "limit", "buy", 0.2, 6000)
    assert resting["status"] == "open" and resting["filled"] == 0

    assert [order["id"] for order in alice.fetch_open_orders(SYMBOL)] == [resting["id"]]
    fetched = alice.fetch_order(resting["id"], SYMBOL)
    assert fetched["status"] == "open" and fetched["clientOrderId"] == resting["clientOrderId"]
    assert alice.fetch_order(bought["id"], SYMBOL)["status"] == "closed"
    assert alice.cancel_order(resting["id"], SYMBOL)["status"] == "canceled"
    assert alice.fetch_open_orders(SYMBOL) == []
    assert bob.fetch_order(ask["id"], SYMBOL)["filled"] == 0.5

    trades = alice.fetch_my_trades(SYMBOL)
    assert [(t["side"], t["amount"], t["price"], t["order"], t["takerOrMaker"]) for t in trades] == [
        ("buy", 0.5, 7000, bought["id"], "taker")]
    assert trades[0]["fee"] == {"currency": "USDT", "cost": 1.4}  # 3500 · 0.04% taker
    assert bob.fetch_my_trades(SYMBOL)[0]["takerOrMaker"] == "maker"

    ticker = alice.fetch_ticker(SYMBOL)
    assert ticker["last"] == 7000 and ticker["baseVolume"] == 0.5 and ticker["quoteVolume"] == 3500
    venue.root.ok("POST", "/api/v1/operator/mark-prices", {"market": "BTCUSDT", "price": "7000"})
    venue.root.ok("POST", "/api/v1/operator/funding", {"market": "BTCUSDT", "rate": "0.0001"})
    funding = alice.fetch_funding_rate(SYMBOL)
    assert funding["markPrice"] == 7000 and funding["fundingRate"] == 0.0001

    margin = alice.add_margin(SYMBOL, 10)
    assert margin["status"] == "ok" and margin["amount"] == 10

    [position] = alice.fetch_positions([SYMBOL])
    native = venue.native_position("alice")["BTCUSDT"]
    assert position["side"] == "long" and position["contracts"] == 0.5 and position["marginMode"] == "isolated"
    assert position["info"]["liquidationPrice"] == native["liquidation_price"] != "0"
    assert position["liquidationPrice"] == float(native["liquidation_price"])
    assert position["notional"] == 3500 and position["entryPrice"] == 7000
    [short] = bob.fetch_positions([SYMBOL])
    assert short["side"] == "short" and short["info"]["notional"] == "-3500"  # signed, as Binance's
    assert short["info"]["liquidationPrice"] == venue.native_position("bob")["BTCUSDT"]["liquidation_price"]

    [rank] = alice.fetch_positions_adl_rank([SYMBOL])
    assert rank["rank"] == native["adl_quantile"] == 4  # the only long: first in line

    # wallet 100000 − fee 1.4 − isolated margin 350 − 10 added; used: the position's IM 3500/10; total: the
    # wallet with the isolated margin (360 − 0.35 funding) and no uPnL at mark 7000
    assert alice.fetch_balance()["USDT"] == {"free": 99638.6, "used": 350.0, "total": 99998.25}

    # bob bids below; the operator's mark under alice's liquidation price liquidates her into that bid
    bob.create_order(SYMBOL, "limit", "buy", 1, 6000)
    liquidation_price = float(native["liquidation_price"])
    assert alice.fetch_my_liquidations(SYMBOL) == []
    venue.root.ok("POST", "/api/v1/operator/mark-prices", {"market": "BTCUSDT", "price": str(liquidation_price - 3)})
    [liquidation] = alice.fetch_my_liquidations(SYMBOL)
    history = venue.client.get("/api/v1/public/liquidations").json()
    assert liquidation["contracts"] == 0.5 and liquidation["price"] == 6000  # filled at bob's bid
    assert history[-1]["account"] == "alice" and history[-1]["average_fill"] == "6000"
    assert alice.fetch_positions([SYMBOL]) == []
    assert bob.fetch_my_liquidations(SYMBOL) == []

    funds = alice.fapiPublicGetInsuranceBalance()
    public = venue.client.get("/api/v1/public/funds").json()
    assert funds == [{"symbols": ["BTCUSDT"], "assets": [
        {"asset": "USDT", "marginBalance": public["BTCUSDT"]["balance"], "updateTime": liquidation["timestamp"]}]}]
    assert float(public["BTCUSDT"]["balance"]) < 100000  # the liquidation below bankruptcy cost the fund
    assert {path for _, path in venue.requests} <= {
        "/fapi/v1/exchangeInfo", "/fapi/v1/depth", "/fapi/v1/ticker/24hr", "/fapi/v1/premiumIndex",
        "/fapi/v3/account", "/fapi/v1/leverage", "/fapi/v1/marginType", "/fapi/v1/order", "/fapi/v1/openOrders",
        "/fapi/v1/userTrades", "/fapi/v1/positionMargin", "/fapi/v1/leverageBracket", "/fapi/v3/positionRisk",
        "/fapi/v1/adlQuantile", "/fapi/v1/forceOrders", "/fapi/v1/insuranceBalance"}


def test_ccxt_gets_the_exceptions_binances_codes_give_and_nothing_changes(venue: Venue) -> None:
    alice, bob = venue.exchange("alice"), venue.exchange("bob")
    alice.load_markets()
    theirs = bob.create_order(SYMBOL, "limit", "sell", 0.1, 9000, {"newClientOrderId": "bob-ask-1"})
    before = venue.state_hash()

    with pytest.raises(ccxt.AuthenticationError, match="-1022"):
        venue.exchange("alice", secret="0" * 64).fetch_balance()
    with pytest.raises(ccxt.AuthenticationError, match="-1022"):
        venue.exchange("alice", secret="0" * 64).create_order(SYMBOL, "limit", "buy", 0.1, 5000)
    stale = venue.exchange("alice")
    stale.nonce = lambda: stale.milliseconds() - 60_000  # a clock a minute behind: outside recvWindow
    with pytest.raises(ccxt.InvalidNonce, match="-1021"):
        stale.create_order(SYMBOL, "limit", "buy", 0.1, 5000)
    with pytest.raises(ccxt.OrderNotFound, match="-2013"):
        alice.fetch_order(theirs["id"], SYMBOL)
    with pytest.raises(ccxt.OrderNotFound, match="-2011"):
        alice.cancel_order(theirs["id"], SYMBOL)
    with pytest.raises(ccxt.OrderNotFound, match="-2013"):
        alice.fetch_order(None, SYMBOL, {"origClientOrderId": "bob-ask-1"})
    with pytest.raises(ccxt.BadSymbol, match="-1121"):
        alice.fapiPublicGetDepth({"symbol": "ETHUSDT"})  # the spot pair
    with pytest.raises(ccxt.ExchangeError, match="-2019"):
        alice.create_order(SYMBOL, "limit", "buy", 1000, 5000)  # 5M notional: more margin than 100k
    assert venue.state_hash() == before
    assert bob.fetch_order(theirs["id"], SYMBOL)["status"] == "open"
