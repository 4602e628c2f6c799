"""Worked numbers for the engine: fees, realized PnL after partial closes, funding, deposits and
withdrawals, isolated margin, inverse contracts. Each expected figure is derived in a comment."""

from __future__ import annotations

from solvent.engine import ledger as L
from tests.helpers import conserved, inverse_venue, ok, refused, trade, venue, wallet

U = 10**8  # units per USDT / BTC at 8 decimals


def test_fees_taker_and_maker_on_one_btc_at_7500() -> None:
    # notional 1 × 7,500 = 7,500 USDT; taker 0.04% = 3, maker 0.02% = 1.5.
    engine = venue()
    ok(engine, {"op": "deposit", "account": "a", "asset": "USDT", "amount": "10000"})
    ok(engine, {"op": "deposit", "account": "b", "asset": "USDT", "amount": "10000"})
    trade(engine, "a", "b", "7500", "1")
    assert wallet(engine, "a") == 10000 * U - 3 * U
    assert wallet(engine, "b") == 10000 * U - 150_000_000
    assert engine.ledger.balance(L.FEES, "USDT") == 450_000_000
    conserved(engine, {"USDT": 20000 * U + 100000 * U})


def test_fee_fraction_of_a_unit_rounds_up_for_the_trader() -> None:
    # USDT with 2 decimals: 0.001 BTC × 7,500.1 = 7.5001 USDT = 750.01 cents.
    # taker 0.04% → 0.300004 cents → charged 1 cent (a debit rounds up);
    # maker 0.02% → 0.150002 cents → charged 1 cent.
    engine = venue(usdt_decimals=2)
    ok(engine, {"op": "deposit", "account": "a", "asset": "USDT", "amount": "100"})
    ok(engine, {"op": "deposit", "account": "b", "asset": "USDT", "amount": "100"})
    trade(engine, "a", "b", "7500.1", "0.001")
    assert wallet(engine, "a") == 100_00 - 1
    assert wallet(engine, "b") == 100_00 - 1
    assert engine.ledger.balance(L.FEES, "USDT") == 2


def test_fund_fee_share_moves_part_of_each_fee_to_the_fund() -> None:
    # 25% of the 3 USDT taker fee (0.75) and of the 1.5 maker fee (0.375) go to the fund.
    engine = venue(fund_fee_share="0.25")
    ok(engine, {"op": "deposit", "account": "a", "asset": "USDT", "amount": "10000"})
    ok(engine, {"op": "deposit", "account": "b", "asset": "USDT", "amount": "10000"})
    trade(engine, "a", "b", "7500", "1")
    assert engine.ledger.balance(L.fund("BTCUSDT"), "USDT") == 100000 * U + 75_000_000 + 37_500_000
    assert engine.ledger.balance(L.FEES, "USDT") == 450_000_000 - 112_500_000


def test_realized_pnl_after_two_opens_and_two_partial_closes() -> None:
    # a buys 1 @ 7,500 and 1 @ 7,600: cost 15,100, entry 7,550.
    # sells 0.5 @ 7,700: realized 0.5 × (7,700 − 7,550) = +75; entry stays 7,550, qty 1.5.
    # sells 0.3 @ 7,400: realized 0.3 × (7,400 − 7,550) = −45; qty 1.2, entry 7,550.
    engine = venue(maker_fee="0", taker_fee="0")
    for name in ("a", "b"):
        ok(engine, {"op": "deposit", "account": name, "asset": "USDT", "amount": "100000"})
    trade(engine, "a", "b", "7500", "1")
    trade(engine, "a", "b", "7600", "1")
    start = wallet(engine, "a")
    ok(engine, {"op": "order", "account": "b", "market": "BTCUSDT", "side": "buy", "price": "7700", "qty": "0.5"})
    ok(engine, {"op": "order", "account": "a", "market": "BTCUSDT", "side": "sell", "price": "7700", "qty": "0.5"})
    assert wallet(engine, "a") - start == 75 * U
    ok(engine, {"op": "order", "account": "b", "market": "BTCUSDT", "side": "buy", "price": "7400", "qty": "0.3"})
    ok(engine, {"op": "order", "account": "a", "market": "BTCUSDT", "side": "sell", "price": "7400", "qty": "0.3"})
    assert wallet(engine, "a") - start == 30 * U
    position = engine.state()["accounts"]["a"]["positions"]["BTCUSDT"]
    assert position["qty"] == "1.2"
    assert position["entry_price"] == "7550"
    conserved(engine, {"USDT": 200000 * U + 100000 * U})


def test_entry_price_is_kept_exactly_as_cost() -> None:
    # buys 0.001 @ 7,500.1 and 0.002 @ 7,500.2: cost 7.5001 + 15.0004 = 22.5005 for 0.003,
    # entry 7,500.1666… — not a whole tick, shown to 12 decimals; the cost itself stays exact.
    engine = venue(maker_fee="0", taker_fee="0")
    for name in ("a", "b"):
        ok(engine, {"op": "deposit", "account": name, "asset": "USDT", "amount": "1000"})
    trade(engine, "a", "b", "7500.1", "0.001")
    trade(engine, "a", "b", "7500.2", "0.002")
    assert engine.accounts["a"].positions["BTCUSDT"].cost == 75001 + 2 * 75002
    assert engine.state()["accounts"]["a"]["positions"]["BTCUSDT"]["entry_price"] == "7500.166666666667"


def test_flip_closes_then_opens() -> None:
    # a long 1 @ 7,500 sells 3 @ 7,600: closes 1 (+100) and opens a short of 2 at 7,600.
    engine = venue(maker_fee="0", taker_fee="0")
    for name in ("a", "b"):
        ok(engine, {"op": "deposit", "account": name, "asset": "USDT", "amount": "100000"})
    trade(engine, "a", "b", "7500", "1")
    start = wallet(engine, "a")
    ok(engine, {"op": "order", "account": "b", "market": "BTCUSDT", "side": "buy", "price": "7600", "qty": "3"})
    ok(engine, {"op": "order", "account": "a", "market": "BTCUSDT", "side": "sell", "price": "7600", "qty": "3"})
    assert wallet(engine, "a") - start == 100 * U
    position = engine.state()["accounts"]["a"]["positions"]["BTCUSDT"]
    assert (position["qty"], position["entry_price"]) == ("-2", "7600")
    assert engine.state()["markets"]["BTCUSDT"]["open_interest"] == "2"


def test_funding_longs_pay_shorts_and_residue_goes_to_rounding() -> None:
    # Positions: a long 0.003, b short 0.001, c short 0.002; mark 7,000.1, rate 0.0001 (USDT 2 decimals).
    # a pays 0.003 × 7,000.1 × 0.0001 = 0.00210003 USDT = 0.210003 cents → 1 cent (debit up);
    # b receives 0.070001 cents → 0; c receives 0.140002 cents → 0; residue 1 cent → rounding.
    engine = venue(usdt_decimals=2, maker_fee="0", taker_fee="0")
    for name in ("a", "b", "c"):
        ok(engine, {"op": "deposit", "account": name, "asset": "USDT", "amount": "100"})
    trade(engine, "a", "b", "7000", "0.001")
    trade(engine, "a", "c", "7000", "0.002")
    ok(engine, {"op": "mark_price", "market": "BTCUSDT", "price": "7000.1"})
    before = {name: wallet(engine, name) for name in "abc"}
    events = ok(engine, {"op": "funding", "market": "BTCUSDT", "rate": "0.0001"})
    assert [event["amount"] for event in events if event["type"] == "funding"] == ["-0.01", "0", "0"]
    assert wallet(engine, "a") == before["a"] - 1
    assert engine.ledger.balance(L.ROUNDING, "USDT") == 1
    assert engine.ledger.balance(L.clearing("BTCUSDT"), "USDT") == 0


def test_funding_one_btc_at_7000_rate_one_bp() -> None:
    # 1 × 7,000 × 0.0001 = 0.7 USDT from the long to the short; negative rate reverses it.
    engine = venue(maker_fee="0", taker_fee="0")
    for name in ("a", "b"):
        ok(engine, {"op": "deposit", "account": name, "asset": "USDT", "amount": "10000"})
    trade(engine, "a", "b", "7000", "1")
    ok(engine, {"op": "mark_price", "market": "BTCUSDT", "price": "7000"})
    ok(engine, {"op": "funding", "market": "BTCUSDT", "rate": "0.0001"})
    assert (wallet(engine, "a"), wallet(engine, "b")) == (10000 * U - 70_000_000, 10000 * U + 70_000_000)
    ok(engine, {"op": "funding", "market": "BTCUSDT", "rate": "-0.0002"})
    assert (wallet(engine, "a"), wallet(engine, "b")) == (10000 * U + 70_000_000, 10000 * U - 70_000_000)


def test_isolated_funding_comes_from_position_margin() -> None:
    # a long 1 @ 7,000 isolated 10x: margin 700; funding 0.7 is paid from that margin.
    engine = venue(maker_fee="0", taker_fee="0")
    for name in ("a", "b"):
        ok(engine, {"op": "deposit", "account": name, "asset": "USDT", "amount": "10000"})
    trade(engine, "a", "b", "7000", "1", buyer_order={"margin_mode": "isolated", "leverage": 10})
    ok(engine, {"op": "mark_price", "market": "BTCUSDT", "price": "7000"})
    ok(engine, {"op": "funding", "market": "BTCUSDT", "rate": "0.0001"})
    assert engine.ledger.balance(L.isolated("a", "BTCUSDT"), "USDT") == 700 * U - 70_000_000
    assert wallet(engine, "a") == 9300 * U


def test_withdraw_only_the_free_balance() -> None:
    # a: 1,000 USDT, long 1 @ 7,500 cross 10x: IM 750 at mark 7,500, so free is 250 (no fees).
    engine = venue(maker_fee="0", taker_fee="0")
    ok(engine, {"op": "deposit", "account": "a", "asset": "USDT", "amount": "1000"})
    ok(engine, {"op": "deposit", "account": "b", "asset": "USDT", "amount": "10000"})
    trade(engine, "a", "b", "7500", "1", buyer_order={"leverage": 10}, seller_order={"leverage": 10})
    ok(engine, {"op": "mark_price", "market": "BTCUSDT", "price": "7500"})
    rejection = refused(engine, {"op": "withdraw", "account": "a", "asset": "USDT", "amount": "250.00000001"})
    assert rejection["field"] == "amount"
    ok(engine, {"op": "withdraw", "account": "a", "asset": "USDT", "amount": "250"})
    assert wallet(engine, "a") == 750 * U
    # a mark of 7,400 is an unrealized loss of 100 and IM 740: free = 750 − 100 − 740 < 0.
    ok(engine, {"op": "mark_price", "market": "BTCUSDT", "price": "7400"})
    refused(engine, {"op": "withdraw", "account": "a", "asset": "USDT", "amount": "0.00000001"})


def test_isolated_margin_add_and_remove() -> None:
    # a long 1 @ 7,500 isolated 20x: margin 375. Add 175 → 550. Remove at most 550 − 375 = 175 at mark 7,500.
    engine = venue(maker_fee="0", taker_fee="0")
    ok(engine, {"op": "deposit", "account": "a", "asset": "USDT", "amount": "1000"})
    ok(engine, {"op": "deposit", "account": "b", "asset": "USDT", "amount": "10000"})
    trade(engine, "a", "b", "7500", "1", buyer_order={"margin_mode": "isolated", "leverage": 20})
    ok(engine, {"op": "margin", "account": "a", "market": "BTCUSDT", "amount": "175"})
    ok(engine, {"op": "mark_price", "market": "BTCUSDT", "price": "7500"})
    assert engine.state()["accounts"]["a"]["positions"]["BTCUSDT"]["margin"] == "550"
    refused(engine, {"op": "margin", "account": "a", "market": "BTCUSDT", "amount": "-175.00000001"})
    ok(engine, {"op": "margin", "account": "a", "market": "BTCUSDT", "amount": "-175"})
    refused(engine, {"op": "margin", "account": "a", "market": "BTCUSDT", "amount": "626"})


def test_inverse_pnl_in_coin() -> None:
    # XBTUSD, 1 USD contracts: a long 1,000 @ 10,000 closes @ 11,000:
    # PnL = 1,000 × (1/10,000 − 1/11,000) = 0.0090909… BTC → credited 0.00909090 (down).
    engine = inverse_venue()
    for name in ("a", "b"):
        ok(engine, {"op": "deposit", "account": name, "asset": "BTC", "amount": "1"})
    fees_off = {"op": "add_market", "market": "FREE", **{**__import__("tests.helpers", fromlist=["XBTUSD"]).XBTUSD,
                                                          "maker_fee": "0", "taker_fee": "0", "fund": "XBT"}}
    ok(engine, fees_off)
    trade(engine, "a", "b", "10000", "1000", market="FREE")
    start = wallet(engine, "a", "BTC")
    ok(engine, {"op": "order", "account": "b", "market": "FREE", "side": "buy", "price": "11000", "qty": "1000"})
    ok(engine, {"op": "order", "account": "a", "market": "FREE", "side": "sell", "price": "11000", "qty": "1000"})
    assert wallet(engine, "a", "BTC") - start == 909090
    # b lost exactly 0.0090909… and paid 909091 (a debit rounds up); the 1 unit is rounding residue.
    assert engine.ledger.balance(L.ROUNDING, "BTC") == 1
    assert engine.ledger.balance(L.clearing("FREE"), "BTC") == 0


def test_inverse_maker_rebate_is_paid_from_fees() -> None:
    # 1,000 contracts @ 10,000 = 0.1 BTC; taker 0.075% = 0.000075, maker −0.025% = rebate 0.000025.
    engine = inverse_venue()
    for name in ("a", "b"):
        ok(engine, {"op": "deposit", "account": name, "asset": "BTC", "amount": "1"})
    trade(engine, "a", "b", "10000", "1000", market="XBTUSD")
    assert wallet(engine, "b", "BTC") == U + 2500
    assert engine.ledger.balance(L.FEES, "BTC") == 7500 - 2500


def test_sub_accounts_have_a_parent_that_exists_and_is_not_itself_a_sub() -> None:
    engine = venue()
    ok(engine, {"op": "add_account", "account": "parent"})
    ok(engine, {"op": "add_account", "account": "sub1", "parent": "parent"})
    assert refused(engine, {"op": "add_account", "account": "sub2", "parent": "nobody"})["field"] == "parent"
    assert refused(engine, {"op": "add_account", "account": "subsub", "parent": "sub1"})["field"] == "parent"
    assert refused(engine, {"op": "add_account", "account": "parent"})["field"] == "account"
    assert refused(engine, {"op": "add_account", "account": "a:b"})["field"] == "account"
    assert engine.state()["accounts"]["sub1"]["parent"] == "parent"
    # margin is separate: the parent's deposit does not fund the sub's orders
    ok(engine, {"op": "deposit", "account": "parent", "asset": "USDT", "amount": "1000"})
    assert refused(engine, {"op": "order", "account": "sub1", "market": "BTCUSDT", "side": "buy", "price": "7000",
                            "qty": "0.01"})["reason"].startswith("insufficient margin")
