"""Worked numbers for the pure formulas (SPEC §2, §4): each case derives its expected value in a comment."""

from __future__ import annotations

from fractions import Fraction as Q

import pytest
from hypothesis import given
from hypothesis import strategies as st

from solvent.formulas import (
    build_tiers,
    cross_bankruptcy_price,
    inverse_bankruptcy_price,
    inverse_fund_delta,
    inverse_liquidation_price,
    linear_bankruptcy_price,
    linear_fund_delta,
    linear_liquidation_price,
    maintenance_margin,
    tier_for,
)

# Binance BTCUSDT (SPEC §2): (max notional, mmr, max leverage), cum left to be derived.
BINANCE = [(50_000, "0.004", 125), (250_000, "0.005", 100), (1_000_000, "0.01", 50), (10_000_000, "0.025", 20),
           (20_000_000, "0.05", 10), (50_000_000, "0.1", 5), (100_000_000, "0.125", 4),
           (200_000_000, "0.15", 3), (300_000_000, "0.25", 2), (500_000_000, "0.5", 1)]


def binance() -> tuple:  # type: ignore[type-arg]
    return build_tiers([(Q(n), Q(m), lev, None) for n, m, lev in BINANCE])


def one_tier(mmr: str, cum: str = "0", cap: int = 10**9) -> tuple:  # type: ignore[type-arg]
    return build_tiers([(Q(cap), Q(mmr), 125, Q(cum))])


def test_binance_cum_derivation() -> None:
    # cum_n = floor_n·(mmr_n − mmr_{n−1}) + cum_{n−1}, floor_n = previous max notional:
    #   50,000·(0.005 − 0.004) + 0            = 50
    #   250,000·(0.01 − 0.005) + 50           = 1,300
    #   1,000,000·(0.025 − 0.01) + 1,300      = 16,300
    #   10,000,000·(0.05 − 0.025) + 16,300    = 266,300
    #   20,000,000·(0.1 − 0.05) + 266,300     = 1,266,300
    #   50,000,000·(0.125 − 0.1) + 1,266,300  = 2,516,300
    #   100,000,000·(0.15 − 0.125) + 2,516,300 = 5,016,300
    #   200,000,000·(0.25 − 0.15) + 5,016,300 = 25,016,300
    #   300,000,000·(0.5 − 0.25) + 25,016,300 = 100,016,300   (Binance publishes exactly these)
    assert [tier.cum for tier in binance()] == [0, 50, 1_300, 16_300, 266_300, 1_266_300, 2_516_300, 5_016_300,
                                                25_016_300, 100_016_300]


def test_maintenance_margin_is_continuous_at_every_tier_boundary() -> None:
    tiers = binance()
    for lower, upper in zip(tiers, tiers[1:], strict=False):
        at = lower.max_notional
        assert at * lower.mmr - lower.cum == at * upper.mmr - upper.cum
    assert tier_for(tiers, Q(50_000)) is tiers[0]
    assert tier_for(tiers, Q(50_000) + Q(1, 100)) is tiers[1]
    assert tier_for(tiers, Q(10**12)) is tiers[-1]
    # 60,000 notional: 60,000 × 0.5% − 50 = 250
    assert maintenance_margin(tiers, Q(60_000)) == 250


@pytest.mark.parametrize(("rows", "problem"), [
    ([], "at least one"),
    ([(Q(100), Q(1, 100), 10, None), (Q(50), Q(2, 100), 5, None)], "max_notional"),
    ([(Q(100), Q(3, 2), 10, None)], "mmr"),
    ([(Q(100), Q(1, 100), 0, None)], "max_leverage"),
], ids=["no tiers", "notional not increasing", "mmr of 150%", "zero leverage"])
def test_bad_tiers_are_refused(rows: list, problem: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError, match=problem):
        build_tiers(rows)


LINEAR = [
    # (name, side, size, entry, wallet, mmr, cum, other MM, other uPnL, expected LP, expected BP or None)
    ("seed 004 / SPEC §4: long 1 @ 7,500, 550 isolated, 1%, cum 20",
     # LP = (550 + 20 − 7,500)/(0.01 − 1) = −6,930/−0.99 = 7,000; BP = 7,500 − 550 = 6,950
     1, "1", "7500", "550", "0.01", "20", "0", "0", Q(7000), Q(6950)),
    ("the mirror short: short 1 @ 7,500, 550 isolated, 1%, cum 20",
     # LP = (550 + 20 + 7,500)/(0.01 + 1) = 8,070/1.01 = 7,990.0990…; BP = 7,500 + 550 = 8,050
     -1, "1", "7500", "550", "0.01", "20", "0", "0", Q(8070) / Q("1.01"), Q(8050)),
    ("cross long 2 @ 10,000 with other positions' MM 100 and uPnL −50",
     # LP = (1,000 − 100 − 50 + 0 − 20,000)/(0.01 − 2) = −19,150/−1.99 = 9,623.1155…
     1, "2", "10000", "1000", "0.005", "0", "100", "-50", Q(19150) / Q("1.99"), None),
    ("cross short 2 @ 10,000 with other positions' MM 100 and uPnL +50",
     # LP = (1,000 − 100 + 50 + 0 + 20,000)/(0.01 + 2) = 20,950/2.01 = 10,422.885…
     -1, "2", "10000", "1000", "0.005", "0", "100", "50", Q(20950) / Q("2.01"), None),
]


@pytest.mark.parametrize(("side", "size", "entry", "wallet", "mmr", "cum", "other_mm", "other_upnl", "lp", "bp"),
                         [case[1:] for case in LINEAR], ids=[case[0] for case in LINEAR])
def test_linear_liquidation_and_bankruptcy_prices(side: int, size: str, entry: str, wallet: str, mmr: str,
                                                   cum: str, other_mm: str, other_upnl: str, lp: Q,
                                                   bp: Q | None) -> None:
    tiers = one_tier(mmr, cum)
    assert linear_liquidation_price(side, Q(size), Q(entry), Q(wallet), tiers, Q(other_mm), Q(other_upnl)) == lp
    if bp is not None:
        assert linear_bankruptcy_price(side, Q(size), Q(entry), Q(wallet)) == bp


def test_liquidation_price_uses_the_tier_at_the_liquidation_price() -> None:
    # Tiers: ≤ 50,000 at 1% (cum 0), ≤ 250,000 at 2.5% (cum derived 50,000·0.015 = 750).
    # Long 5.1 BTC @ 10,000 (51,000: tier 2) with 5,100 margin. With tier 2:
    #   (5,100 + 750 − 51,000)/(5.1·0.025 − 5.1) = 9,079.94 → notional 46,307.7 is in tier 1: inconsistent.
    # With tier 1: (5,100 − 51,000)/(0.051 − 5.1) = 45,900/5.049 = 9,090.909… → 46,363.6, tier 1: consistent.
    tiers = build_tiers([(Q(50_000), Q(1, 100), 50, None), (Q(250_000), Q(25, 1000), 20, None)])
    lp = linear_liquidation_price(1, Q("5.1"), Q(10_000), Q(5_100), tiers)
    assert lp == Q(45_900) / Q("5.049")
    assert tier_for(tiers, Q("5.1") * lp) is tiers[0]


def test_a_fully_collateralized_long_has_no_liquidation_price() -> None:
    # 1x long: margin = notional; equity at P is P·q, MM is P·q·mmr: never equal for P > 0.
    assert linear_liquidation_price(1, Q(1), Q(7500), Q(7500), one_tier("0.01")) is None
    assert linear_bankruptcy_price(1, Q(1), Q(7500), Q(7500)) is None


def test_dydx_cross_bankruptcy_prices_share_the_equity_by_maintenance_margin() -> None:
    # Wallet 1,000. Long 1 BTC @ 10,000, mark 9,800 (uPnL −200, MM 98); short 10 ETH @ 500, mark 510 (uPnL −100,
    # MM 51). Equity 700, ΣMM 149. BTC takes 700·98/149 = 460.40…: BP 9,800 − 460.40 = 9,339.597…
    # ETH takes 700·51/149 = 239.597…: BP 510 + 23.9597 = 533.9597…; the shares add up to the equity.
    btc = cross_bankruptcy_price(1, Q(1), Q(9800), Q(700), Q(98), Q(149))
    eth = cross_bankruptcy_price(-1, Q(10), Q(510), Q(700), Q(51), Q(149))
    assert btc == Q(9800) - Q(700 * 98, 149)
    assert eth == Q(510) + Q(700 * 51, 149) / 10
    assert (Q(9800) - btc) * 1 + (eth - Q(510)) * 10 == 700


def test_one_position_cross_bankruptcy_equals_the_isolated_formula() -> None:
    # wallet 550, long 1 @ 7,500, mark 7,200: equity 250; BP = 7,200 − 250 = 6,950 = 7,500 − 550.
    assert cross_bankruptcy_price(1, Q(1), Q(7200), Q(250), Q(52), Q(52)) == linear_bankruptcy_price(
        1, Q(1), Q(7500), Q(550)) == 6950


INVERSE = [
    ("inverse long 10,000 USD @ 10,000 with 0.1 BTC (10x), 0.5%",
     # LP = V(mmr + 1)/(WB + V/E) = 10,000·1.005/(0.1 + 1) = 9,136.36…; BP = V/(WB + V/E) = 10,000/1.1
     1, "10000", "10000", "0.1", Q(10050) / Q("1.1"), Q(10000) / Q("1.1")),
    ("inverse short 10,000 USD @ 10,000 with 0.1 BTC, 0.5%",
     # LP = V(mmr − 1)/(WB − V/E) = −9,950/−0.9 = 11,055.55…; BP = −V/(WB − V/E) = 11,111.11…
     -1, "10000", "10000", "0.1", Q(9950) / Q("0.9"), Q(10000) / Q("0.9")),
]


@pytest.mark.parametrize(("side", "value", "entry", "wallet", "lp", "bp"), [case[1:] for case in INVERSE],
                         ids=[case[0] for case in INVERSE])
def test_inverse_liquidation_and_bankruptcy_prices(side: int, value: str, entry: str, wallet: str, lp: Q,
                                                    bp: Q) -> None:
    tiers = one_tier("0.005")
    found = inverse_liquidation_price(side, Q(value), Q(entry), Q(wallet), tiers)
    assert found == lp
    assert inverse_bankruptcy_price(side, Q(value), Q(entry), Q(wallet)) == bp
    # substitute back: at the LP equity equals MM; at the BP equity is 0 (coin)
    equity = Q(wallet) + side * Q(value) * (1 / Q(entry) - 1 / found)
    assert equity == Q(value) / found * Q("0.005")
    assert Q(wallet) + side * Q(value) * (1 / Q(entry) - 1 / bp) == 0


@pytest.mark.parametrize(("side", "fill", "bankruptcy", "delta"), [
    (1, 6990, 6950, 40),     # seed 004: a long closed above its BP adds 1·(6,990 − 6,950) = +40
    (1, 6930, 6950, -20),    # ... below it costs the fund 1·(6,930 − 6,950) = −20
    (-1, 8000, 8050, 50),    # a short closed below its BP: −1·(8,000 − 8,050) = +50
    (-1, 8100, 8050, -50),   # ... above it: −1·(8,100 − 8,050) = −50
], ids=["long surplus", "long deficit", "short surplus", "short deficit"])
def test_fund_delta(side: int, fill: int, bankruptcy: int, delta: int) -> None:
    assert linear_fund_delta(side, Q(1), Q(fill), Q(bankruptcy)) == delta


def test_inverse_fund_delta_in_coin() -> None:
    # long 10,000 USD, BP 9,000, filled at 9,100: 10,000·(1/9,000 − 1/9,100) = 0.01221… BTC to the fund
    assert inverse_fund_delta(1, Q(10000), Q(9100), Q(9000)) == Q(10000) * (Q(1, 9000) - Q(1, 9100))


@given(side=st.sampled_from((1, -1)), size=st.integers(1, 10_000), entry=st.integers(100, 100_000),
       leverage=st.integers(2, 100), mmr=st.sampled_from(("0.004", "0.005", "0.01", "0.025")))
def test_substituting_lp_and_bp_back_gives_mm_and_zero(side: int, size: int, entry: int, leverage: int,
                                                        mmr: str) -> None:
    tiers = one_tier(mmr)
    q, e = Q(size, 1000), Q(entry)
    wallet = q * e / leverage
    lp = linear_liquidation_price(side, q, e, wallet, tiers)
    bp = linear_bankruptcy_price(side, q, e, wallet)
    assert lp is not None and bp is not None
    assert wallet + side * q * (lp - e) == q * lp * Q(mmr)
    assert wallet + side * q * (bp - e) == 0
    value = q * 10_000
    ilp = inverse_liquidation_price(side, value, e, value / e / leverage, tiers)
    if ilp is not None:
        equity = value / e / leverage + side * value * (1 / e - 1 / ilp)
        assert equity == value / ilp * Q(mmr)
