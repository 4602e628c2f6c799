"""Table tests of `solvent.formulas` (SPEC §2, §4): each case is named by a sentence and its comment
derives the expected number by hand. Everything is exact (Fractions), so every check is `==`.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction as Q

import pytest
from hypothesis import given
from hypothesis import strategies as st

from solvent.formulas import (
    Tier,
    build_tiers,
    cross_bankruptcy_price,
    inverse_bankruptcy_price,
    inverse_cross_bankruptcy_price,
    inverse_fund_delta,
    inverse_liquidation_price,
    inverse_pnl,
    linear_bankruptcy_price,
    linear_fund_delta,
    linear_liquidation_price,
    linear_pnl,
    maintenance_margin,
    round_price_to_tick,
    tier_for,
)

LONG, SHORT = 1, -1

# Binance BTCUSDT, SPEC §2: (max notional, mmr, max leverage); cum left for build_tiers to derive.
BINANCE_BTCUSDT_ROWS = [
    (50_000, "0.004", 125), (250_000, "0.005", 100), (1_000_000, "0.01", 50), (10_000_000, "0.025", 20),
    (20_000_000, "0.05", 10), (50_000_000, "0.1", 5), (100_000_000, "0.125", 4), (200_000_000, "0.15", 3),
    (300_000_000, "0.25", 2), (500_000_000, "0.5", 1),
]
BINANCE = build_tiers([(Q(cap), Q(mmr), leverage, None) for cap, mmr, leverage in BINANCE_BTCUSDT_ROWS])

# The SPEC §4 / seed 004 market: one tier, mmr 1 %, cum 20.
SEED_004 = build_tiers([(Q(50_000), Q("0.01"), 50, Q(20))])

# Two tiers: ≤ 50,000 at 1 % (cum 0), ≤ 250,000 at 2.5 %; derived cum = 50,000·(0.025 − 0.01) + 0 = 750.
TWO_TIERS = build_tiers([(Q(50_000), Q("0.01"), 50, None), (Q(250_000), Q("0.025"), 20, None)])

# BitMEX-like XBTUSD tiers in coin notional: ≤ 200 XBT at 0.5 %, ≤ 400 XBT at 1 %; cum = 200·0.005 = 1 XBT.
XBT_TIERS = build_tiers([(Q(200), Q("0.005"), 100, None), (Q(400), Q("0.01"), 50, None)])


def linear_equity(side: int, size: Q, entry: Q, wallet: Q, price: Q, other_upnl: Q = Q(0)) -> Q:
    """WB + UPNL₁ + s·|q|·(P − E)."""
    return wallet + other_upnl + linear_pnl(side * size, entry, price)


def linear_mm(tiers: Sequence[Tier], size: Q, price: Q, other_mm: Q = Q(0)) -> Q:
    """TMM₁ + MM(|q|·P)."""
    return other_mm + maintenance_margin(tiers, size * price)


def inverse_equity(side: int, value: Q, entry: Q, wallet: Q, price: Q, other_upnl: Q = Q(0)) -> Q:
    """WB + UPNL₁ + s·V·(1/E − 1/P), in coin."""
    return wallet + other_upnl + inverse_pnl(side * value, entry, price)


def inverse_mm(tiers: Sequence[Tier], value: Q, price: Q, other_mm: Q = Q(0)) -> Q:
    """TMM₁ + MM(V/P), in coin."""
    return other_mm + maintenance_margin(tiers, value / price)


# ---------------------------------------------------------------------------------------------------------------
# Risk tiers (SPEC §2)
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("index", "cum"), [
    # cum_0 = 0 by definition.
    pytest.param(0, 0, id="the first tier (0-50k, 0.40%) has no maintenance amount"),
    # cum_1 = 50,000·(0.005 − 0.004) + 0 = 50
    pytest.param(1, 50, id="50k-250k at 0.50%: 50,000 times 0.1% is 50"),
    # cum_2 = 250,000·(0.01 − 0.005) + 50 = 1,250 + 50 = 1,300
    pytest.param(2, 1_300, id="250k-1M at 1%: 1,250 plus 50 is 1,300"),
    # cum_3 = 1,000,000·(0.025 − 0.01) + 1,300 = 15,000 + 1,300 = 16,300
    pytest.param(3, 16_300, id="1M-10M at 2.5%: 15,000 plus 1,300 is 16,300"),
    # cum_4 = 10,000,000·(0.05 − 0.025) + 16,300 = 250,000 + 16,300 = 266,300
    pytest.param(4, 266_300, id="10M-20M at 5%: 250,000 plus 16,300 is 266,300"),
    # cum_5 = 20,000,000·(0.1 − 0.05) + 266,300 = 1,000,000 + 266,300 = 1,266,300
    pytest.param(5, 1_266_300, id="20M-50M at 10%: 1,000,000 plus 266,300 is 1,266,300"),
    # cum_6 = 50,000,000·(0.125 − 0.1) + 1,266,300 = 1,250,000 + 1,266,300 = 2,516,300
    pytest.param(6, 2_516_300, id="50M-100M at 12.5%: 1,250,000 plus 1,266,300 is 2,516,300"),
    # cum_7 = 100,000,000·(0.15 − 0.125) + 2,516,300 = 2,500,000 + 2,516,300 = 5,016,300
    pytest.param(7, 5_016_300, id="100M-200M at 15%: 2,500,000 plus 2,516,300 is 5,016,300"),
    # cum_8 = 200,000,000·(0.25 − 0.15) + 5,016,300 = 20,000,000 + 5,016,300 = 25,016,300
    pytest.param(8, 25_016_300, id="200M-300M at 25%: 20,000,000 plus 5,016,300 is 25,016,300"),
    # cum_9 = 300,000,000·(0.5 − 0.25) + 25,016,300 = 75,000,000 + 25,016,300 = 100,016,300
    pytest.param(9, 100_016_300, id="300M-500M at 50%: 75,000,000 plus 25,016,300 is 100,016,300"),
])
def test_binance_btcusdt_maintenance_amounts_are_derived_as_binance_publishes_them(index: int, cum: int) -> None:
    assert BINANCE[index].cum == cum


@pytest.mark.parametrize(("index", "mm"), [
    # at 50,000: 50,000·0.004 − 0 = 200 = 50,000·0.005 − 50
    pytest.param(0, 200, id="at 50k both the 0.40% and the 0.50% tier give 200"),
    # at 250,000: 250,000·0.005 − 50 = 1,200 = 250,000·0.01 − 1,300
    pytest.param(1, 1_200, id="at 250k both give 1,200"),
    # at 1,000,000: 10,000 − 1,300 = 8,700 = 25,000 − 16,300
    pytest.param(2, 8_700, id="at 1M both give 8,700"),
    # at 10,000,000: 250,000 − 16,300 = 233,700 = 500,000 − 266,300
    pytest.param(3, 233_700, id="at 10M both give 233,700"),
    # at 20,000,000: 1,000,000 − 266,300 = 733,700 = 2,000,000 − 1,266,300
    pytest.param(4, 733_700, id="at 20M both give 733,700"),
    # at 50,000,000: 5,000,000 − 1,266,300 = 3,733,700 = 6,250,000 − 2,516,300
    pytest.param(5, 3_733_700, id="at 50M both give 3,733,700"),
    # at 100,000,000: 12,500,000 − 2,516,300 = 9,983,700 = 15,000,000 − 5,016,300
    pytest.param(6, 9_983_700, id="at 100M both give 9,983,700"),
    # at 200,000,000: 30,000,000 − 5,016,300 = 24,983,700 = 50,000,000 − 25,016,300
    pytest.param(7, 24_983_700, id="at 200M both give 24,983,700"),
    # at 300,000,000: 75,000,000 − 25,016,300 = 49,983,700 = 150,000,000 − 100,016,300
    pytest.param(8, 49_983_700, id="at 300M both give 49,983,700"),
])
def test_maintenance_margin_is_continuous_at_every_binance_boundary(index: int, mm: int) -> None:
    lower, upper = BINANCE[index], BINANCE[index + 1]
    at = lower.max_notional
    assert at * lower.mmr - lower.cum == mm
    assert at * upper.mmr - upper.cum == mm
    assert maintenance_margin(BINANCE, at) == mm
    # one cent above the boundary the upper tier applies and MM has only grown by 0.01·mmr_upper
    assert maintenance_margin(BINANCE, at + Q(1, 100)) == mm + Q(1, 100) * upper.mmr


@pytest.mark.parametrize(("notional", "index"), [
    pytest.param(Q(0), 0, id="a zero notional is in the first tier"),
    pytest.param(Q(50_000), 0, id="exactly 50k is still in the first tier (bands include their upper bound)"),
    pytest.param(Q("50000.01"), 1, id="one cent above 50k is in the second tier"),
    pytest.param(Q(250_000), 1, id="exactly 250k is in the second tier"),
    pytest.param(Q("250000.01"), 2, id="one cent above 250k is in the third tier"),
    pytest.param(Q(10_000_000), 3, id="exactly 10M is in the 2.5% tier"),
    pytest.param(Q("10000000.01"), 4, id="one cent above 10M is in the 5% tier"),
    pytest.param(Q(500_000_000), 9, id="exactly 500M is in the last tier"),
    pytest.param(Q(10**12), 9, id="above the last max notional the last tier still applies"),
])
def test_tier_for_at_and_just_above_boundaries(notional: Q, index: int) -> None:
    assert tier_for(BINANCE, notional) is BINANCE[index]


@pytest.mark.parametrize(("notional", "mm"), [
    # 60,000 is in tier 2: 60,000·0.005 − 50 = 300 − 50 = 250
    pytest.param(Q(60_000), Q(250), id="60k of notional needs 250 (0.5% minus 50)"),
    # 6,000,000 is in tier 4: 6,000,000·0.025 − 16,300 = 150,000 − 16,300 = 133,700
    pytest.param(Q(6_000_000), Q(133_700), id="6M of notional needs 133,700 (2.5% minus 16,300)"),
    # 40,000 is in tier 1: 40,000·0.004 = 160
    pytest.param(Q(40_000), Q(160), id="40k of notional needs 160 (0.4%)"),
])
def test_maintenance_margin_on_the_binance_table(notional: Q, mm: Q) -> None:
    assert maintenance_margin(BINANCE, notional) == mm


def test_an_explicit_cum_is_kept_and_the_next_one_derived_from_it() -> None:
    # SPEC §10's tier (50k, 1%, cum 20) followed by (250k, 2.5%): cum = 50,000·(0.025 − 0.01) + 20 = 770.
    tiers = build_tiers([(Q(50_000), Q("0.01"), 50, Q(20)), (Q(250_000), Q("0.025"), 20, None)])
    assert [tier.cum for tier in tiers] == [20, 770]


@pytest.mark.parametrize(("rows", "problem"), [
    pytest.param([], "at least one tier", id="an empty table is refused"),
    pytest.param([(Q(250_000), Q("0.01"), 50, None), (Q(50_000), Q("0.02"), 20, None)],
                 "tier 1: max_notional must increase", id="max notionals out of order are refused"),
    pytest.param([(Q(50_000), Q("0.01"), 50, None), (Q(50_000), Q("0.02"), 20, None)],
                 "tier 1: max_notional must increase", id="a repeated max notional is refused"),
    pytest.param([(Q(0), Q("0.01"), 50, None)], "tier 0: max_notional must be positive",
                 id="a zero max notional is refused"),
    pytest.param([(Q(50_000), Q(1), 1, None)], "tier 0: mmr must be strictly between 0 and 1",
                 id="an mmr of 100% is refused"),
    pytest.param([(Q(50_000), Q("1.5"), 1, None)], "tier 0: mmr must be strictly between 0 and 1",
                 id="an mmr of 150% is refused"),
    pytest.param([(Q(50_000), Q(0), 1, None)], "tier 0: mmr must be strictly between 0 and 1",
                 id="a zero mmr is refused"),
    pytest.param([(Q(50_000), Q("0.01"), 0, None)], "tier 0: max_leverage must be an integer of at least 1",
                 id="a leverage of 0 is refused"),
    pytest.param([(Q(50_000), Q("0.01"), 50, None), (Q(250_000), Q("0.02"), 100, None)],
                 "tier 1: max_leverage must not increase", id="a leverage growing with notional is refused"),
    pytest.param([(Q(50_000), Q("0.02"), 50, None), (Q(250_000), Q("0.01"), 20, None)],
                 "tier 1: mmr must not decrease", id="an mmr falling with notional is refused"),
])
def test_build_tiers_refuses_a_bad_table(rows: list[tuple[Q, Q, int, Q | None]], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        build_tiers(rows)


# ---------------------------------------------------------------------------------------------------------------
# Linear, isolated (SPEC §4)
# ---------------------------------------------------------------------------------------------------------------

LINEAR_ISOLATED = [
    # (side, size, entry, margin, tiers, LP, BP)
    pytest.param(
        # LP = (550 + 20 − 1·7,500)/(1·0.01 − 1) = −6,930/−0.99 = 7,000; at 7,000 equity 550 − 500 = 50,
        # MM 7,000·1% − 20 = 50. BP = 7,500 − 550/1 = 6,950.
        LONG, Q(1), Q(7_500), Q(550), SEED_004, Q(7_000), Q(6_950),
        id="SPEC §4: long 1 BTC at 7,500 with 550 of margin, mmr 1%, cum 20 is liquidated at 7,000, bankrupt at 6,950"),
    pytest.param(
        # LP = (550 + 20 + 1·7,500)/(1·0.01 + 1) = 8,070/1.01 = 807,000/101 = 7,990.0990…; at it equity
        # 550 − (LP − 7,500) = 8,050 − LP and MM 0.01·LP − 20 agree since 1.01·LP = 8,070. BP = 7,500 + 550 = 8,050.
        SHORT, Q(1), Q(7_500), Q(550), SEED_004, Q(807_000, 101), Q(8_050),
        id="the mirror short (1 BTC at 7,500, 550, 1%, cum 20) is liquidated at 8,070/1.01 and bankrupt at 8,050"),
    pytest.param(
        # 2x: margin 3,750. LP = (3,750 + 20 − 7,500)/(−0.99) = 3,730/0.99 = 373,000/99 = 3,767.67…;
        # BP = 7,500 − 3,750 = 3,750.
        LONG, Q(1), Q(7_500), Q(3_750), SEED_004, Q(373_000, 99), Q(3_750),
        id="a 2x long is liquidated just above half its entry and bankrupt at half"),
    pytest.param(
        # 1x short: margin 7,500. LP = (7,500 + 20 + 7,500)/1.01 = 15,020/1.01 = 1,502,000/101 = 14,871.28…;
        # BP = 7,500 + 7,500 = 15,000: a 1x short still goes bankrupt when the price doubles.
        SHORT, Q(1), Q(7_500), Q(7_500), SEED_004, Q(1_502_000, 101), Q(15_000),
        id="a 1x short is liquidated just below twice its entry and bankrupt at twice"),
    pytest.param(
        # Binance table, 100 BTC at 60,000 = 6,000,000 (tier 1M-10M: 2.5%, cum 16,300), margin 600,000 (10x).
        # LP = (600,000 + 16,300 − 6,000,000)/(100·0.025 − 100) = −5,383,700/−97.5 = 2,153,480/39 = 55,217.44;
        # its notional 5,521,743.6 is in the same tier. BP = 60,000 − 600,000/100 = 54,000.
        LONG, Q(100), Q(60_000), Q(600_000), BINANCE, Q(2_153_480, 39), Q(54_000),
        id="on the Binance table a 10x long of 100 BTC at 60,000 is liquidated at 55,217.44 in the 2.5% tier"),
    pytest.param(
        # LP = (600,000 + 16,300 + 6,000,000)/(100·0.025 + 100) = 6,616,300/102.5 = 2,646,520/41 = 64,549.27;
        # notional 6,454,926.8, same tier. BP = 60,000 + 6,000 = 66,000.
        SHORT, Q(100), Q(60_000), Q(600_000), BINANCE, Q(2_646_520, 41), Q(66_000),
        id="on the Binance table the mirror short is liquidated at 64,549.27"),
]


@pytest.mark.parametrize(("side", "size", "entry", "margin", "tiers", "liquidation", "bankruptcy"), LINEAR_ISOLATED)
def test_linear_isolated_liquidation_and_bankruptcy_prices(side: int, size: Q, entry: Q, margin: Q,
                                                           tiers: tuple[Tier, ...], liquidation: Q,
                                                           bankruptcy: Q) -> None:
    lp = linear_liquidation_price(side, size, entry, margin, tiers)
    bp = linear_bankruptcy_price(side, size, entry, margin)
    assert lp == liquidation
    assert bp == bankruptcy
    # substitute back: equity = MM at the LP, equity = 0 at the BP
    assert linear_equity(side, size, entry, margin, lp) == linear_mm(tiers, size, lp)
    assert linear_equity(side, size, entry, margin, bp) == 0


@pytest.mark.parametrize(("side", "size", "entry", "margin", "tiers"), [
    # 1x long, cum 20: LP = (7,500 + 20 − 7,500)/(−0.99) = −20.2 ≤ 0; BP = 7,500 − 7,500 = 0.
    pytest.param(LONG, Q(1), Q(7_500), Q(7_500), SEED_004, id="a 1x long (margin = notional) has neither"),
    # margin beyond the notional: LP = (9,000 + 20 − 7,500)/(−0.99) < 0; BP = 7,500 − 9,000 < 0.
    pytest.param(LONG, Q(1), Q(7_500), Q(9_000), SEED_004, id="an over-collateralised long has neither"),
    # no cum: LP = (7,500 − 7,500)/(−0.99) = 0, not a positive price.
    pytest.param(LONG, Q(1), Q(7_500), Q(7_500), TWO_TIERS, id="a 1x long with cum 0 has an LP of exactly 0: none"),
])
def test_a_long_whose_margin_covers_the_notional_has_no_liquidation_or_bankruptcy_price(
        side: int, size: Q, entry: Q, margin: Q, tiers: tuple[Tier, ...]) -> None:
    assert linear_liquidation_price(side, size, entry, margin, tiers) is None
    assert linear_bankruptcy_price(side, size, entry, margin) is None
    # and indeed it is healthy at any price, down to a hundredth of a dollar
    for price in (Q(1, 100), Q(1), Q(3_000), Q(7_500)):
        assert linear_equity(side, size, entry, margin, price) > linear_mm(tiers, size, price)


# ---------------------------------------------------------------------------------------------------------------
# Tier iteration: the tier used is the one at the liquidation price
# ---------------------------------------------------------------------------------------------------------------

TIER_CROSSING = [
    # (side, size, entry, margin, tiers, LP, index of the tier at LP, index of the tier at entry)
    pytest.param(
        # Entry notional 4.8·10,000 = 48,000 (tier 0, 1%), margin 4,800. Tier 0 would give
        # (4,800 + 0 + 48,000)/(4.8·1.01) = 52,800/4.848 = 10,891.09, notional 52,277 > 50,000: not tier 0.
        # Tier 1 (2.5%, cum 750): (4,800 + 750 + 48,000)/(4.8·1.025) = 53,550/4.92 = 446,250/41 = 10,884.15,
        # notional 52,243.9, in tier 1: consistent.
        SHORT, Q("4.8"), Q(10_000), Q(4_800), TWO_TIERS, Q(446_250, 41), 1, 0,
        id="a short opened in the 1% tier is liquidated in the 2.5% tier its loss has grown it into"),
    pytest.param(
        # Entry notional 18·60,000 = 1,080,000 (2.5%, cum 16,300), margin 108,000 (10x). That tier would give
        # (108,000 + 16,300 − 1,080,000)/(18·0.025 − 18) = 955,700/17.55 = 54,455.8, notional 980,205 < 1M: not it.
        # The 1% tier (cum 1,300): (108,000 + 1,300 − 1,080,000)/(0.18 − 18) = 970,700/17.82 = 48,535,000/891
        # = 54,472.50, notional 980,505, in 250k-1M: consistent.
        LONG, Q(18), Q(60_000), Q(108_000), BINANCE, Q(48_535_000, 891), 2, 3,
        id="on the Binance table a long opened in the 2.5% tier is liquidated in the 1% tier as its notional shrinks"),
    pytest.param(
        # Entry notional 5·11,000 = 55,000 (tier 1), margin 5,500. Tier 0: (5,500 − 55,000)/(0.05 − 5) = 49,500/4.95
        # = 10,000, notional 50,000 = the boundary, which belongs to tier 0: consistent. Tier 1 gives the same,
        # (5,500 + 750 − 55,000)/(0.125 − 5) = 48,750/4.875 = 10,000, as MM is continuous there.
        LONG, Q(5), Q(11_000), Q(5_500), TWO_TIERS, Q(10_000), 0, 1,
        id="an LP exactly on a tier boundary is the same from both tiers and attributed to the lower one"),
]


@pytest.mark.parametrize(("side", "size", "entry", "margin", "tiers", "liquidation", "tier_at_lp", "tier_at_entry"),
                         TIER_CROSSING)
def test_the_liquidation_price_uses_the_tier_of_the_notional_at_that_price(
        side: int, size: Q, entry: Q, margin: Q, tiers: tuple[Tier, ...], liquidation: Q, tier_at_lp: int,
        tier_at_entry: int) -> None:
    lp = linear_liquidation_price(side, size, entry, margin, tiers)
    assert lp == liquidation
    assert tier_for(tiers, size * entry) is tiers[tier_at_entry]
    assert tier_for(tiers, size * lp) is tiers[tier_at_lp]
    tier = tiers[tier_at_lp]
    # self-consistency: the closed formula with that tier's mmr and cum gives the same price
    assert (margin + tier.cum - side * size * entry) / (size * tier.mmr - side * size) == lp
    assert linear_equity(side, size, entry, margin, lp) == linear_mm(tiers, size, lp)


# MM that jumps at 50,000 because the second tier's cum was given by hand instead of derived (750).
JUMP_DOWN = build_tiers([(Q(50_000), Q("0.01"), 50, Q(0)), (Q(250_000), Q("0.025"), 20, Q(1_000))])
JUMP_UP = build_tiers([(Q(50_000), Q("0.01"), 50, Q(0)), (Q(250_000), Q("0.025"), 20, Q(0))])


def test_with_an_inconsistent_cum_a_long_is_liquidated_at_the_boundary_where_no_tier_is_consistent() -> None:
    # Long 5 at 11,000, margin 5,400; MM drops from 500 (tier 0 at 50,000) to 250 + 0.025·ε just above it.
    # Tier 0: (5,400 − 55,000)/(0.05 − 5) = 49,600/4.95 = 10,020.2, notional 50,101 > 50,000: inconsistent.
    # Tier 1: (5,400 + 1,000 − 55,000)/(0.125 − 5) = 48,600/4.875 = 9,969.2, notional 49,846 ≤ 50,000: inconsistent.
    # The highest liquidated price is the boundary itself, 50,000/5 = 10,000: equity 5,400 − 5,000 = 400 ≤ MM 500.
    lp = linear_liquidation_price(LONG, Q(5), Q(11_000), Q(5_400), JUMP_DOWN)
    assert lp == 10_000
    assert linear_equity(LONG, Q(5), Q(11_000), Q(5_400), lp) <= linear_mm(JUMP_DOWN, Q(5), lp)
    above = lp + Q(1, 100)  # one cent above: equity 400.05 > MM 50,000.05·0.025 − 1,000 = 250.00125
    assert linear_equity(LONG, Q(5), Q(11_000), Q(5_400), above) > linear_mm(JUMP_DOWN, Q(5), above)


def test_with_an_inconsistent_cum_a_short_gets_the_boundary_it_is_liquidated_just_beyond() -> None:
    # Short 4.8 at 10,000, margin 3,000; MM jumps from 500 (tier 0 at 50,000) to 1,250 just above.
    # Tier 0: (3,000 + 48,000)/(4.8·1.01) = 51,000/4.848 = 10,519.8, notional 50,495 > 50,000: inconsistent.
    # Tier 1: (3,000 + 0 + 48,000)/(4.8·1.025) = 10,365.9, notional 49,756 ≤ 50,000: the whole tier is liquidated.
    # The infimum of the liquidated prices is 50,000/4.8 = 31,250/3 = 10,416.67, not itself liquidated
    # (equity 3,000 − 2,000 = 1,000 > MM 500); every price above it is (equity below 1,000, MM above 1,250).
    lp = linear_liquidation_price(SHORT, Q("4.8"), Q(10_000), Q(3_000), JUMP_UP)
    assert lp == Q(31_250, 3)
    assert linear_equity(SHORT, Q("4.8"), Q(10_000), Q(3_000), lp) > linear_mm(JUMP_UP, Q("4.8"), lp)
    above = round_price_to_tick(lp, Q("0.1"), up=True)  # the displayed 10,416.7 is liquidated
    assert above == Q("10416.7")
    assert linear_equity(SHORT, Q("4.8"), Q(10_000), Q(3_000), above) <= linear_mm(JUMP_UP, Q("4.8"), above)


# ---------------------------------------------------------------------------------------------------------------
# Linear, cross (SPEC §4: WB = wallet, TMM₁ and UPNL₁ from the account's other positions)
# ---------------------------------------------------------------------------------------------------------------

LINEAR_CROSS = [
    # (side, size, entry, wallet, other MM, other uPnL, LP)
    pytest.param(
        # WB − TMM₁ + UPNL₁ = 1,000 − 150 − 300 = 550, the seed's isolated margin, so the LP is the seed's:
        # (550 + 20 − 7,500)/(0.01 − 1) = 7,000. At 7,000: equity 1,000 − 300 − 500 = 200, MM 150 + 50 = 200.
        LONG, Q(1), Q(7_500), Q(1_000), Q(150), Q(-300), Q(7_000),
        id="cross long: wallet 1,000 less the other positions' MM 150 and loss 300 leaves the seed's 550, LP 7,000"),
    pytest.param(
        # 500 − 40 + 100 = 560: LP = (560 + 20 + 7,500)/(0.01 + 1) = 8,080/1.01 = 8,000.
        # At 8,000: equity 500 + 100 − 500 = 100, MM 40 + (80 − 20) = 100.
        SHORT, Q(1), Q(7_500), Q(500), Q(40), Q(100), Q(8_000),
        id="cross short: wallet 500, the other positions' MM 40 and profit 100, is liquidated at 8,000"),
    pytest.param(
        # The other positions' profit moves the long's LP down: 1,000 − 150 + 300 = 1,150:
        # (1,150 + 20 − 7,500)/(0.01 − 1) = −6,330/−0.99 = 633,000/99 = 6,393.94
        LONG, Q(1), Q(7_500), Q(1_000), Q(150), Q(300), Q(633_000, 99),
        id="cross long: the other positions' profit of 300 lowers the LP to 6,393.94"),
]


@pytest.mark.parametrize(("side", "size", "entry", "wallet", "other_mm", "other_upnl", "liquidation"), LINEAR_CROSS)
def test_linear_cross_liquidation_price_counts_the_other_positions(side: int, size: Q, entry: Q, wallet: Q,
                                                                   other_mm: Q, other_upnl: Q,
                                                                   liquidation: Q) -> None:
    lp = linear_liquidation_price(side, size, entry, wallet, SEED_004, other_mm, other_upnl)
    assert lp == liquidation
    assert linear_equity(side, size, entry, wallet, lp, other_upnl) == linear_mm(SEED_004, size, lp, other_mm)


def test_a_cross_short_that_is_underwater_at_every_price_has_no_liquidation_price() -> None:
    # wallet 100, other positions lose 8,000: LP = (100 − 8,000 + 20 + 7,500)/1.01 = −380/1.01 < 0.
    # Even at a price of 0.01 the equity 100 − 8,000 + 7,499.99 = −400.01 is below MM 0.0001 − 20.
    assert linear_liquidation_price(SHORT, Q(1), Q(7_500), Q(100), SEED_004, Q(0), Q(-8_000)) is None
    tiny = Q(1, 100)
    assert linear_equity(SHORT, Q(1), Q(7_500), Q(100), tiny, Q(-8_000)) <= linear_mm(SEED_004, Q(1), tiny)


def test_dydx_cross_bankruptcy_prices_split_the_equity_by_maintenance_margin() -> None:
    # Wallet 1,000. Long 1 BTC at 10,000, mark 9,600: uPnL −400, MM (1%) 96. Short 10 ETH at 300, mark 320:
    # uPnL −200, MM (1%) 32. Equity 1,000 − 400 − 200 = 400, ΣMM 128.
    # BTC's share 400·96/128 = 300: BP = 9,600 − 300/1 = 9,300.
    # ETH's share 400·32/128 = 100: BP = 320 + 100/10 = 330.
    btc = cross_bankruptcy_price(LONG, Q(1), Q(9_600), Q(400), Q(96), Q(128))
    eth = cross_bankruptcy_price(SHORT, Q(10), Q(320), Q(400), Q(32), Q(128))
    assert (btc, eth) == (9_300, 330)
    # the shares add up to the account equity: 1·(9,600 − 9,300) + 10·(330 − 320) = 300 + 100 = 400
    assert 1 * (9_600 - btc) + 10 * (eth - 320) == 400
    # closing both at their BPs leaves the account at exactly 0: 1,000 + (9,300 − 10,000) − 10·(330 − 300) = 0
    assert Q(1_000) + linear_pnl(Q(1), Q(10_000), btc) + linear_pnl(Q(-10), Q(300), eth) == 0


@pytest.mark.parametrize(("side", "mark", "bankruptcy"), [
    # wallet 550, long 1 at 7,500, mark 7,200: equity 550 − 300 = 250; BP = 7,200 − 250 = 6,950 = 7,500 − 550.
    pytest.param(LONG, Q(7_200), Q(6_950), id="one long in a cross account goes bankrupt where an isolated one does"),
    # wallet 550, short 1 at 7,500, mark 7,800: equity 250; BP = 7,800 + 250 = 8,050 = 7,500 + 550.
    pytest.param(SHORT, Q(7_800), Q(8_050), id="one short in a cross account goes bankrupt where an isolated one does"),
])
def test_a_single_cross_position_has_the_isolated_bankruptcy_price(side: int, mark: Q, bankruptcy: Q) -> None:
    equity = linear_equity(side, Q(1), Q(7_500), Q(550), mark)
    mm = maintenance_margin(SEED_004, mark)  # MM_j = ΣMM: the share is the whole equity, whatever MM is
    assert cross_bankruptcy_price(side, Q(1), mark, equity, mm, mm) == bankruptcy
    assert linear_bankruptcy_price(side, Q(1), Q(7_500), Q(550)) == bankruptcy


@pytest.mark.parametrize(("mm", "total_mm", "problem"), [
    pytest.param(Q(0), Q(0), "total_mm must be positive", id="no maintenance margin at all cannot be shared"),
    pytest.param(Q(5), Q(4), "mm must be between 0 and total_mm", id="a position's MM above the total is refused"),
])
def test_cross_bankruptcy_price_refuses_inconsistent_maintenance_margins(mm: Q, total_mm: Q, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        cross_bankruptcy_price(LONG, Q(1), Q(7_000), Q(100), mm, total_mm)
    with pytest.raises(ValueError, match=problem):
        inverse_cross_bankruptcy_price(LONG, Q(1), Q(7_000), Q(100), mm, total_mm)


@pytest.mark.parametrize(("side", "size", "entry"), [
    pytest.param(0, Q(1), Q(7_500), id="a side of 0 is refused"),
    pytest.param(LONG, Q(0), Q(7_500), id="a zero size is refused"),
    pytest.param(SHORT, Q(-1), Q(7_500), id="a negative size is refused (the side carries the sign)"),
    pytest.param(LONG, Q(1), Q(0), id="a zero entry price is refused"),
])
def test_liquidation_and_bankruptcy_prices_refuse_a_malformed_position(side: int, size: Q, entry: Q) -> None:
    with pytest.raises(ValueError):
        linear_liquidation_price(side, size, entry, Q(550), SEED_004)
    with pytest.raises(ValueError):
        linear_bankruptcy_price(side, size, entry, Q(550))
    with pytest.raises(ValueError):
        inverse_liquidation_price(side, size, entry, Q(1), XBT_TIERS)
    with pytest.raises(ValueError):
        inverse_bankruptcy_price(side, size, entry, Q(1))


# ---------------------------------------------------------------------------------------------------------------
# Fund delta of a liquidation fill
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("side", "size", "fill", "bankruptcy", "delta"), [
    # 1·(6,990 − 6,950) = +40
    pytest.param(LONG, Q(1), Q(6_990), Q(6_950), Q(40), id="seed 004: the long filled at 6,990 leaves 40 to the fund"),
    # 1·(6,930 − 6,950) = −20
    pytest.param(LONG, Q(1), Q(6_930), Q(6_950), Q(-20), id="seed 004: the long filled at 6,930 costs the fund 20"),
    # −1·(8,010 − 8,050) = +40
    pytest.param(SHORT, Q(1), Q(8_010), Q(8_050), Q(40), id="the mirror short bought back at 8,010 leaves 40"),
    # −1·(8,070 − 8,050) = −20
    pytest.param(SHORT, Q(1), Q(8_070), Q(8_050), Q(-20), id="the mirror short bought back at 8,070 costs 20"),
    # 0.25·(6,950 − 6,950) = 0
    pytest.param(LONG, Q("0.25"), Q(6_950), Q(6_950), Q(0), id="a fill exactly at the bankruptcy price is neutral"),
    # 0.3·(6,990 − 6,950) = 12: a partial fill contributes pro rata
    pytest.param(LONG, Q("0.3"), Q(6_990), Q(6_950), Q(12), id="a partial fill of 0.3 at 6,990 leaves 12"),
])
def test_linear_fund_delta(side: int, size: Q, fill: Q, bankruptcy: Q, delta: Q) -> None:
    assert linear_fund_delta(side, size, fill, bankruptcy) == delta


@pytest.mark.parametrize(("side", "fill", "bankruptcy", "delta"), [
    # 10,000·(1/8,000 − 1/10,000) = 1.25 − 1 = 0.25 XBT
    pytest.param(LONG, Q(10_000), Q(8_000), Q("0.25"), id="inverse long filled at 10,000 above its BP leaves 0.25"),
    # 10,000·(1/8,000 − 1/5,000) = 1.25 − 2 = −0.75 XBT
    pytest.param(LONG, Q(5_000), Q(8_000), Q("-0.75"), id="inverse long filled at 5,000 below its BP costs 0.75"),
    # −10,000·(1/10,000 − 1/8,000) = −(1 − 1.25) = +0.25 XBT
    pytest.param(SHORT, Q(8_000), Q(10_000), Q("0.25"), id="inverse short bought at 8,000 below its BP leaves 0.25"),
    # −10,000·(1/10,000 − 1/12,500) = −(1 − 0.8) = −0.2 XBT
    pytest.param(SHORT, Q(12_500), Q(10_000), Q("-0.2"), id="inverse short bought at 12,500 above its BP costs 0.2"),
])
def test_inverse_fund_delta_in_coin(side: int, fill: Q, bankruptcy: Q, delta: Q) -> None:
    assert inverse_fund_delta(side, Q(10_000), fill, bankruptcy) == delta


# ---------------------------------------------------------------------------------------------------------------
# Inverse (coin-margined, XBTUSD, contract_size 1 USD)
# ---------------------------------------------------------------------------------------------------------------

ZERO_CUM = build_tiers([(Q(10**6), Q("0.005"), 100, None)])  # one tier, 0.5 %, cum 0

INVERSE = [
    # (side, value, entry, margin, tiers, LP, BP)
    pytest.param(
        # 10,000 contracts = 10,000 USD at 10,000: 1 XBT, margin 0.1 XBT (10x).
        # LP = V·(mmr + 1)/(WB + cum + V/E) = 10,000·1.005/(0.1 + 0 + 1) = 10,050/1.1 = 100,500/11 = 9,136.36.
        # BP = V/(V/E + WB) = 10,000/1.1 = 100,000/11 = 9,090.91.
        LONG, Q(10_000), Q(10_000), Q("0.1"), ZERO_CUM, Q(100_500, 11), Q(100_000, 11),
        id="inverse long of 10,000 USD at 10,000 with 0.1 XBT is liquidated at 9,136.36 and bankrupt at 9,090.91"),
    pytest.param(
        # LP = 10,000·(0.005 − 1)/(0.1 − 1) = −9,950/−0.9 = 99,500/9 = 11,055.56.
        # BP = 10,000/(1 − 0.1) = 100,000/9 = 11,111.11.
        SHORT, Q(10_000), Q(10_000), Q("0.1"), ZERO_CUM, Q(99_500, 9), Q(100_000, 9),
        id="the mirror inverse short is liquidated at 11,055.56 and bankrupt at 11,111.11"),
    pytest.param(
        # 1x long: WB = V/E = 1. LP = 10,050/(1 + 1) = 5,025; BP = 10,000/2 = 5,000:
        # an unleveraged inverse long still goes bankrupt when the price halves.
        LONG, Q(10_000), Q(10_000), Q(1), ZERO_CUM, Q(5_025), Q(5_000),
        id="a 1x inverse long is liquidated at 5,025 and bankrupt at half its entry"),
    pytest.param(
        # 1,950,000 USD at 10,000 = 195 XBT (tier ≤ 200, 0.5 %), margin 19.5 XBT. Tier 0 would give
        # 1,950,000·1.005/(19.5 + 195) = 1,959,750/214.5 = 9,136.36, coin notional 213.4 > 200: not tier 0.
        # Tier 1 (1 %, cum 1): 1,950,000·1.01/(19.5 + 1 + 195) = 1,969,500/215.5 = 3,939,000/431 = 9,139.21,
        # coin notional 213.4 ≤ 400: consistent. BP = 1,950,000/(195 + 19.5) = 3,900,000/429 = 9,090.91.
        LONG, Q(1_950_000), Q(10_000), Q("19.5"), XBT_TIERS, Q(3_939_000, 431), Q(3_900_000, 429),
        id="an inverse long whose coin notional grows into the 1% tier as the price falls is liquidated there"),
]


@pytest.mark.parametrize(("side", "value", "entry", "margin", "tiers", "liquidation", "bankruptcy"), INVERSE)
def test_inverse_liquidation_and_bankruptcy_prices(side: int, value: Q, entry: Q, margin: Q, tiers: tuple[Tier, ...],
                                                   liquidation: Q, bankruptcy: Q) -> None:
    lp = inverse_liquidation_price(side, value, entry, margin, tiers)
    bp = inverse_bankruptcy_price(side, value, entry, margin)
    assert lp == liquidation
    assert bp == bankruptcy
    # substitute back, in coin: equity = MM at the LP (e.g. the first case: 1.1 − 10,000·11/100,500
    # = 550/100,500 = 10,000·0.005·11/100,500), equity = 0 at the BP (0.1 + 1 − 10,000·11/100,000 = 0)
    assert inverse_equity(side, value, entry, margin, lp) == inverse_mm(tiers, value, lp)
    assert inverse_equity(side, value, entry, margin, bp) == 0


@pytest.mark.parametrize("margin", [
    # WB = V/E = 1 XBT. LP denominator WB + cum − V/E = 0 and BP denominator V/E − WB = 0: no price.
    # Indeed equity 1 − 10,000·(1/10,000 − 1/P) = 10,000/P stays above MM 10,000·0.005/P at every P.
    pytest.param(Q(1), id="a 1x inverse short is never liquidated nor bankrupt"),
    # WB = 1.5 > V/E: the denominators are +0.5 (LP: P = 10,000·(0.005 − 1)/0.5 < 0) and −0.5 (BP): no price.
    pytest.param(Q("1.5"), id="an inverse short with more margin than its value is never liquidated nor bankrupt"),
])
def test_an_inverse_short_covered_in_coin_is_never_liquidated_nor_bankrupt(margin: Q) -> None:
    assert inverse_liquidation_price(SHORT, Q(10_000), Q(10_000), margin, ZERO_CUM) is None
    assert inverse_bankruptcy_price(SHORT, Q(10_000), Q(10_000), margin) is None
    for price in (Q(10_000), Q(10**6), Q(10**12)):
        assert inverse_equity(SHORT, Q(10_000), Q(10_000), margin, price) > inverse_mm(ZERO_CUM, Q(10_000), price)
        assert inverse_equity(SHORT, Q(10_000), Q(10_000), margin, price) > 0


def test_an_inverse_long_underwater_at_every_price_has_no_liquidation_price() -> None:
    # WB − TMM₁ + UPNL₁ + V/E = 0.1 − 1.2 + 1 = −0.1 < 0: even as P → ∞ equity tends to −0.1 < MM → 0.
    assert inverse_liquidation_price(LONG, Q(10_000), Q(10_000), Q("0.1"), ZERO_CUM, Q(0), Q("-1.2")) is None


def test_inverse_cross_liquidation_price_counts_the_other_positions() -> None:
    # wallet 0.5 XBT, other positions' MM 0.1 and loss 0.3: WB − TMM₁ + UPNL₁ = 0.1, the isolated case above,
    # so LP = 10,050/1.1 = 100,500/11 again.
    lp = inverse_liquidation_price(LONG, Q(10_000), Q(10_000), Q("0.5"), ZERO_CUM, Q("0.1"), Q("-0.3"))
    assert lp == Q(100_500, 11)
    assert inverse_equity(LONG, Q(10_000), Q(10_000), Q("0.5"), lp, Q("-0.3")) == inverse_mm(
        ZERO_CUM, Q(10_000), lp, Q("0.1"))


def test_inverse_cross_bankruptcy_prices_split_the_equity_by_maintenance_margin() -> None:
    # Equity 0.4 XBT over two positions with MM 0.03 and 0.01: shares 0.3 and 0.1.
    # Long 10,000 USD, mark 8,000: 1/BP = 1/8,000 + 0.3/10,000 → BP = 10,000/(1.25 + 0.3) = 10,000/1.55 = 200,000/31.
    # Short 4,000 USD, mark 10,000: 1/BP = 1/10,000 − 0.1/4,000 → BP = 4,000/(0.4 − 0.1) = 40,000/3.
    long_bp = inverse_cross_bankruptcy_price(LONG, Q(10_000), Q(8_000), Q("0.4"), Q("0.03"), Q("0.04"))
    short_bp = inverse_cross_bankruptcy_price(SHORT, Q(4_000), Q(10_000), Q("0.4"), Q("0.01"), Q("0.04"))
    assert (long_bp, short_bp) == (Q(200_000, 31), Q(40_000, 3))
    # closing at the BPs loses exactly the shares, which add up to the equity
    assert inverse_pnl(Q(10_000), Q(8_000), long_bp) == Q("-0.3")
    assert inverse_pnl(Q(-4_000), Q(10_000), short_bp) == Q("-0.1")


@pytest.mark.parametrize(("side", "mark"), [
    pytest.param(LONG, Q(9_500), id="one inverse long in a cross account has the isolated bankruptcy price"),
    pytest.param(SHORT, Q(10_400), id="one inverse short in a cross account has the isolated bankruptcy price"),
])
def test_a_single_inverse_cross_position_has_the_isolated_bankruptcy_price(side: int, mark: Q) -> None:
    # equity at the mark = 0.1 + s·10,000·(1/10,000 − 1/mark); all of it is the position's share, and
    # s·V·(1/mark − 1/BP) = −equity gives the same BP as 0.1 + s·V·(1/E − 1/BP) = 0.
    equity = inverse_equity(side, Q(10_000), Q(10_000), Q("0.1"), mark)
    assert inverse_cross_bankruptcy_price(side, Q(10_000), mark, equity, Q(1), Q(1)) == inverse_bankruptcy_price(
        side, Q(10_000), Q(10_000), Q("0.1"))


# ---------------------------------------------------------------------------------------------------------------
# Rounding to the tick (SPEC §1), as the engine applies it
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("price", "tick", "up", "rounded"), [
    # 807,000/101 = 7,990.0990…: ⌈79,900.99⌉·0.1 = 7,990.1, ⌊79,900.99⌋·0.1 = 7,990.0
    pytest.param(Q(807_000, 101), Q("0.1"), True, Q("7990.1"), id="the mirror short's LP shown rounded up is 7,990.1"),
    pytest.param(Q(807_000, 101), Q("0.1"), False, Q("7990"), id="rounded down it would be 7,990.0"),
    pytest.param(Q(7_000), Q("0.1"), False, Q(7_000), id="a price already on a tick stays put rounding down"),
    pytest.param(Q(7_000), Q("0.1"), True, Q(7_000), id="a price already on a tick stays put rounding up"),
    # 100,000/11 = 9,090.909…: ⌈18,181.8⌉·0.5 = 9,091.0, ⌊18,181.8⌋·0.5 = 9,090.5
    pytest.param(Q(100_000, 11), Q("0.5"), True, Q("9091"), id="an XBTUSD long's BP rounds up to the half dollar"),
    pytest.param(Q(100_000, 11), Q("0.5"), False, Q("9090.5"), id="an XBTUSD long's LP would round down"),
])
def test_round_price_to_tick(price: Q, tick: Q, up: bool, rounded: Q) -> None:
    assert round_price_to_tick(price, tick, up) == rounded


def test_round_price_to_tick_refuses_a_zero_tick() -> None:
    with pytest.raises(ValueError, match="tick must be positive"):
        round_price_to_tick(Q(7_000), Q(0), True)


@pytest.mark.parametrize(("side", "margin"), [
    pytest.param(LONG, Q(550), id="a long's LP rounded down: liquidated exactly at whole-tick marks at or below it"),
    pytest.param(SHORT, Q(550), id="a short's LP rounded up: liquidated exactly at whole-tick marks at or above it"),
    pytest.param(LONG, Q(3_333), id="a long with an LP off the tick grid"),
])
def test_the_rounded_liquidation_price_decides_like_the_exact_one_for_whole_tick_marks(side: int, margin: Q) -> None:
    tick = Q("0.1")
    lp = linear_liquidation_price(side, Q(1), Q(7_500), margin, SEED_004)
    assert lp is not None
    shown = round_price_to_tick(lp, tick, up=side < 0)
    for step in range(-3, 4):
        mark = shown + step * tick
        liquidated = linear_equity(side, Q(1), Q(7_500), margin, mark) <= linear_mm(SEED_004, Q(1), mark)
        assert liquidated == (mark <= shown if side > 0 else mark >= shown)


@pytest.mark.parametrize(("side", "margin"), [
    pytest.param(LONG, Q("550.03"), id="a long's BP rounded up never needs the fund when filled there"),
    pytest.param(SHORT, Q("550.03"), id="a short's BP rounded down never needs the fund when filled there"),
])
def test_the_rounded_bankruptcy_price_never_needs_the_fund(side: int, margin: Q) -> None:
    # BP = 7,500 ∓ 550.03 = 6,949.97 (long) or 8,050.03 (short), off the 0.1 grid.
    bp = linear_bankruptcy_price(side, Q(1), Q(7_500), margin)
    assert bp is not None
    shown = round_price_to_tick(bp, Q("0.1"), up=side > 0)
    assert shown == (Q("6950") if side > 0 else Q("8050"))
    assert linear_fund_delta(side, Q(1), shown, bp) >= 0


# ---------------------------------------------------------------------------------------------------------------
# Properties: the exact prices solve their equations, whatever the position and tier table
# ---------------------------------------------------------------------------------------------------------------

@st.composite
def tier_tables(draw: st.DrawFn, unit: Q) -> tuple[Tier, ...]:
    """1-4 tiers with continuous MM (cum derived, the first one possibly positive), bounds in multiples of unit/8."""
    count = draw(st.integers(1, 4))
    steps = draw(st.lists(st.integers(1, 16), min_size=count, max_size=count))
    rates = sorted(draw(st.lists(st.integers(1, 499), min_size=count, max_size=count)))
    first_cum = draw(st.sampled_from((Q(0), unit / 1000, unit / 50)))
    rows: list[tuple[Q, Q, int, Q | None]] = []
    bound = Q(0)
    for index in range(count):
        bound += unit * steps[index] / 8
        rows.append((bound, Q(rates[index], 1000), 100 - index, first_cum if index == 0 else None))
    return build_tiers(rows)


def sample_notionals(tiers: Sequence[Tier], around: Q | None) -> list[Q]:
    """Notionals at, and a hair either side of, every tier boundary and `around`."""
    points = [tier.max_notional for tier in tiers] + ([around] if around is not None else [])
    samples = [Q(1, 10**6), tiers[-1].max_notional * 10]
    for point in points:
        samples += [point, point * (1 - Q(1, 10**6)), point * (1 + Q(1, 10**6))]
    return [sample for sample in samples if sample > 0]


@st.composite
def linear_cases(draw: st.DrawFn) -> tuple[int, Q, Q, Q, Q, Q, tuple[Tier, ...]]:
    side = draw(st.sampled_from((LONG, SHORT)))
    size = Q(draw(st.integers(1, 100_000)), 1_000)
    entry = Q(draw(st.integers(1, 10**7)), 10)
    notional = size * entry
    wallet = notional * draw(st.integers(0, 200)) / 100  # 0 to 2x the notional
    other_mm = notional * draw(st.integers(0, 20)) / 100
    other_upnl = notional * draw(st.integers(-50, 50)) / 100
    return side, size, entry, wallet, other_mm, other_upnl, draw(tier_tables(notional))


@given(linear_cases())
def test_linear_liquidation_price_solves_equity_equals_mm_and_bounds_the_liquidated_prices(
        case: tuple[int, Q, Q, Q, Q, Q, tuple[Tier, ...]]) -> None:
    side, size, entry, wallet, other_mm, other_upnl, tiers = case
    lp = linear_liquidation_price(side, size, entry, wallet, tiers, other_mm, other_upnl)

    def liquidated(price: Q) -> bool:
        return linear_equity(side, size, entry, wallet, price, other_upnl) <= linear_mm(tiers, size, price, other_mm)

    if lp is not None:
        assert lp > 0
        assert linear_equity(side, size, entry, wallet, lp, other_upnl) == linear_mm(tiers, size, lp, other_mm)
    for notional in sample_notionals(tiers, None if lp is None else size * lp):
        price = notional / size
        if lp is None:  # a long is never liquidated, a short always is
            assert liquidated(price) == (side < 0)
        else:
            assert liquidated(price) == (price <= lp if side > 0 else price >= lp)


@given(linear_cases())
def test_linear_bankruptcy_price_leaves_exactly_zero_equity(case: tuple[int, Q, Q, Q, Q, Q, tuple[Tier, ...]]) -> None:
    side, size, entry, margin, _, _, _ = case
    bp = linear_bankruptcy_price(side, size, entry, margin)
    if bp is None:
        assert side > 0 and margin >= size * entry
    else:
        assert bp > 0
        assert linear_equity(side, size, entry, margin, bp) == 0


@st.composite
def inverse_cases(draw: st.DrawFn) -> tuple[int, Q, Q, Q, Q, Q, tuple[Tier, ...]]:
    side = draw(st.sampled_from((LONG, SHORT)))
    value = Q(draw(st.integers(1, 10**7)))  # contracts of 1 USD
    entry = Q(draw(st.integers(1, 10**6)), 2)  # XBTUSD ticks of 0.5
    coin = value / entry
    wallet = coin * draw(st.integers(0, 200)) / 100
    other_mm = coin * draw(st.integers(0, 20)) / 100
    other_upnl = coin * draw(st.integers(-50, 50)) / 100
    return side, value, entry, wallet, other_mm, other_upnl, draw(tier_tables(coin))


@given(inverse_cases())
def test_inverse_liquidation_price_solves_equity_equals_mm_and_bounds_the_liquidated_prices(
        case: tuple[int, Q, Q, Q, Q, Q, tuple[Tier, ...]]) -> None:
    side, value, entry, wallet, other_mm, other_upnl, tiers = case
    lp = inverse_liquidation_price(side, value, entry, wallet, tiers, other_mm, other_upnl)

    def liquidated(price: Q) -> bool:
        return (inverse_equity(side, value, entry, wallet, price, other_upnl)
                <= inverse_mm(tiers, value, price, other_mm))

    if lp is not None:
        assert lp > 0
        assert inverse_equity(side, value, entry, wallet, lp, other_upnl) == inverse_mm(tiers, value, lp, other_mm)
    for notional in sample_notionals(tiers, None if lp is None else value / lp):
        price = value / notional
        if lp is None:  # a short is never liquidated, a long always is
            assert liquidated(price) == (side > 0)
        else:
            assert liquidated(price) == (price <= lp if side > 0 else price >= lp)


@given(inverse_cases())
def test_inverse_bankruptcy_price_leaves_exactly_zero_equity(case: tuple[int, Q, Q, Q, Q, Q, tuple[Tier, ...]]) -> None:
    side, value, entry, margin, _, _, _ = case
    bp = inverse_bankruptcy_price(side, value, entry, margin)
    if bp is None:
        assert side < 0 and margin >= value / entry
    else:
        assert bp > 0
        assert inverse_equity(side, value, entry, margin, bp) == 0


@given(side=st.sampled_from((LONG, SHORT)), size=st.integers(1, 10_000), mark=st.integers(1, 10**6),
       equity=st.integers(-10**6, 10**6), mm=st.integers(0, 1_000), other_mm=st.integers(0, 1_000))
def test_a_cross_position_closed_at_its_bankruptcy_price_loses_exactly_its_equity_share(
        side: int, size: int, mark: int, equity: int, mm: int, other_mm: int) -> None:
    if mm + other_mm == 0:
        return
    share = Q(equity * mm, mm + other_mm)
    bp = cross_bankruptcy_price(side, Q(size, 100), Q(mark), Q(equity), Q(mm), Q(mm + other_mm))
    if bp is None:
        assert side * share >= Q(mark) * Q(size, 100)  # the share would carry the price to 0 or below
    else:
        assert linear_pnl(side * Q(size, 100), Q(mark), bp) == -share
