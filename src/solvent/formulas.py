"""Pure, exact maths of margin and liquidation (SPEC §2, §4): `fractions.Fraction` in, `Fraction` out.

Nothing here rounds, reads state or changes it. The engine converts its integers (ticks, lots,
units) to human quantities and calls these functions:

* linear (USDT-margined): `size`/`qty` in base units, prices in quote per base, money in the
  settle asset (= quote);
* inverse (coin-margined, BitMEX XBTUSD): `value` = |contracts|·contract_size in quote units
  (USD), prices in quote per coin, money in the coin.

Sign convention: `side` is s = +1 for a long and −1 for a short; sizes and values passed with a
`side` are magnitudes (> 0).

Rounding the engine applies to these exact results (SPEC §1: against the party it is computed for)
---------------------------------------------------------------------------------------------------
* Liquidation price shown: a long's rounds **down** to the tick, a short's **up**. A long is
  liquidated exactly when P ≤ LP (a short when P ≥ LP), so for a mark that is a whole number of
  ticks `mark ≤ ⌊LP⌋ ⇔ mark ≤ LP` (and `mark ≥ ⌈LP⌉ ⇔ mark ≥ LP`): the rounded figure gives the
  same answer as the exact one.
* Bankruptcy price: a long's rounds **up**, a short's **down**. Closing a long at or above ⌈BP⌉
  (a short at or below ⌊BP⌋) is at or beyond the exact BP, so the fund delta is ≥ 0: a fill at the
  rounded BP never needs the fund.
* Money derived from these (fund deltas, PnL, MM) is rounded by the engine into integer units
  against the trader (credits down, debits up), the residue going to the `rounding` account.
* `round_price_to_tick` is the one exact rounding helper offered here.

How the liquidation price is found, and the boundary decisions
--------------------------------------------------------------
Both contract types are solved in *notional space*: x = |q|·P (linear, settle units) or x = V/P
(inverse, coin units), the quantity the risk tiers are keyed on. There the position's equity is
linear in x,

    equity(x) = A + σ·(x − x_E)          A = WB − TMM₁ + UPNL₁, x_E = the notional at the entry price,
                                         σ = +s (linear) or −s (inverse: a long gains as V/P falls),

and so is the maintenance margin inside one tier k, MM_k(x) = x·mmr_k − cum_k. Equity = MM in
tier k gives one candidate root

    x_k = (A + cum_k − σ·x_E) / (mmr_k − σ)           (mmr_k − σ ≠ 0 because 0 < mmr < 1),

which is self-consistent when x_k lies in tier k's band (max_notional_{k−1}, max_notional_k]
(the first band starts at 0, the last one has no upper end, as in `tier_for`). With `cum`
derived (or published consistently, as Binance's are) MM is continuous in x, so equity − MM is
strictly monotone and has at most one root, which is that self-consistent candidate; if it lands
exactly on a boundary, both neighbouring tiers yield the same number and `tier_for` attributes it
to the lower tier (bands include their upper bound).

A table with an explicit, inconsistent `cum` can make MM jump at a boundary; then no candidate may
be consistent (or more than one may be). The functions return, deterministically, the edge of the
liquidated set {x > 0 : equity(x) ≤ MM(x)} on the side from which the price approaches: its
supremum when σ = +1 (linear long, inverse short), its infimum when σ = −1 (linear short, inverse
long). The supremum is always attained (bands are closed above); an infimum at a band's lower end
is not, so there the position is liquidated at every price beyond the returned one but not at it.

`None` means there is no positive price: for σ = +1 the position is never liquidated (a long whose
margin covers the notional, a 1x inverse short); for σ = −1 it is underwater at every price (an
account whose other positions already sank it), and the caller's own `equity ≤ MM` check decides.

The formulas use MM = notional·mmr − cum as published, which is negative below cum/mmr when the
first tier's cum is positive. The engine floors MM at 0 (a position is then liquidated only once
its equity is 0, i.e. at the bankruptcy price), so it combines the two: a long's effective
liquidation price is max(LP, BP), a short's min(LP, BP), either standing in when the other is None.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

ZERO = Fraction(0)


@dataclass(frozen=True, slots=True)
class Tier:
    """One row of a leveled maintenance-margin table (SPEC §2).

    The tier covers notionals in (previous tier's max_notional, max_notional]; the first starts at 0
    and the last also covers everything above its max_notional.
    """

    max_notional: Fraction  # upper bound of the band, inclusive (settle units; coin for inverse)
    mmr: Fraction  # maintenance margin rate
    max_leverage: int
    cum: Fraction  # maintenance amount (Binance "cum"): MM = notional·mmr − cum


def build_tiers(rows: Sequence[tuple[Fraction, Fraction, int, Fraction | None]]) -> tuple[Tier, ...]:
    """Validate `(max_notional, mmr, max_leverage, cum or None)` rows and build the tier table.

    A missing cum is derived as Binance does, so that MM is continuous at every boundary:

        cum_0 = 0
        cum_n = floor_n·(mmr_n − mmr_{n−1}) + cum_{n−1},   floor_n = max_notional_{n−1}

    At notional floor_n both tiers then give floor_n·mmr_{n−1} − cum_{n−1} = floor_n·mmr_n − cum_n.
    Exact: no rounding (Fractions).

    Raises ValueError naming the tier and the problem when: there are no rows; a max_notional is
    not > 0 or not strictly above the previous one; an mmr is not strictly between 0 and 1; a
    max_leverage is not an integer ≥ 1; max_leverage increases or mmr decreases from one tier to
    the next.
    """
    if not rows:
        raise ValueError("at least one tier is needed")
    tiers: list[Tier] = []
    for index, (max_notional_raw, mmr_raw, max_leverage, cum_raw) in enumerate(rows):
        max_notional, mmr = Fraction(max_notional_raw), Fraction(mmr_raw)
        where = f"tier {index}"
        if max_notional <= 0:
            raise ValueError(f"{where}: max_notional must be positive, got {max_notional}")
        if not 0 < mmr < 1:
            raise ValueError(f"{where}: mmr must be strictly between 0 and 1, got {mmr}")
        if isinstance(max_leverage, bool) or not isinstance(max_leverage, int) or max_leverage < 1:
            raise ValueError(f"{where}: max_leverage must be an integer of at least 1, got {max_leverage!r}")
        if tiers:
            previous = tiers[-1]
            if max_notional <= previous.max_notional:
                raise ValueError(f"{where}: max_notional must increase strictly "
                                 f"({max_notional} after {previous.max_notional})")
            if mmr < previous.mmr:
                raise ValueError(f"{where}: mmr must not decrease ({mmr} after {previous.mmr})")
            if max_leverage > previous.max_leverage:
                raise ValueError(f"{where}: max_leverage must not increase "
                                 f"({max_leverage} after {previous.max_leverage})")
            derived = previous.max_notional * (mmr - previous.mmr) + previous.cum
        else:
            derived = ZERO
        cum = derived if cum_raw is None else Fraction(cum_raw)
        tiers.append(Tier(max_notional, mmr, max_leverage, cum))
    return tuple(tiers)


def tier_for(tiers: Sequence[Tier], notional: Fraction) -> Tier:
    """The tier whose band holds `notional`: the first with notional ≤ max_notional.

    A notional exactly at a boundary belongs to the lower tier (bands are closed above); above the
    last max_notional the last tier applies (the venue would refuse to open that much, but a
    position can grow into it as the price moves).
    """
    for tier in tiers:
        if notional <= tier.max_notional:
            return tier
    return tiers[-1]


def maintenance_margin(tiers: Sequence[Tier], notional: Fraction) -> Fraction:
    """MM = N·mmr − cum, with (mmr, cum) of `tier_for(N)`.

    N is the position's notional: |q|·P (linear, settle units) or V/P (inverse, coin). Exact, and
    not floored at 0: below cum/mmr it is negative when the first tier's cum is positive; the
    engine floors it at 0 and rounds it up to a unit (a requirement on the trader).
    """
    tier = tier_for(tiers, notional)
    return notional * tier.mmr - tier.cum


def linear_pnl(qty: Fraction, entry: Fraction, price: Fraction) -> Fraction:
    """PnL = q·(P − E): q signed base units (long > 0), E the entry price, P the price valued at.

    In the settle asset, exact; the engine rounds a credit down and a debit up.
    """
    return qty * (price - entry)


def inverse_pnl(value: Fraction, entry: Fraction, price: Fraction) -> Fraction:
    """PnL = V·(1/E − 1/P) in coin: V = signed contracts × contract_size (quote units, long > 0).

    A long gains as P rises because the V dollars it bought are then worth fewer coins. Exact; the
    engine rounds a credit down and a debit up.
    """
    return value * (1 / entry - 1 / price)


def _check_position(side: int, size: Fraction, price: Fraction, what: str) -> None:
    if side not in (1, -1):
        raise ValueError(f"side must be +1 (long) or −1 (short), got {side!r}")
    if size <= 0:
        raise ValueError(f"size must be positive, got {size}")
    if price <= 0:
        raise ValueError(f"{what} must be positive, got {price}")


def _liquidation_notional(sigma: int, slack: Fraction, entry_notional: Fraction,
                          tiers: Sequence[Tier]) -> Fraction | None:
    """The notional x at which equity = MM, in notional space (see the module docstring).

        equity(x) − MM_k(x) = (A + cum_k − σ·x_E) + x·(σ − mmr_k)
        x_k = (A + cum_k − σ·x_E) / (mmr_k − σ)

    A = `slack` = WB − TMM₁ + UPNL₁, x_E = `entry_notional`, σ = +1 when equity rises with x
    (then the position is liquidated for x ≤ root), −1 when it falls (liquidated for x ≥ root).

    Band k is (lo, hi] with lo = previous max_notional (0 first) and hi = max_notional (∞ last).
    σ = +1: the liquidated part of band k is (lo, min(hi, x_k)], non-empty when x_k > lo; the
    answer is the largest min(hi, x_k). σ = −1: it is [max(lo, x_k), hi] ∩ (lo, hi], non-empty
    when x_k ≤ hi; the answer is the smallest max(lo, x_k). With continuous MM both reduce to the
    one self-consistent x_k. None when the answer is not a positive notional. Exact.
    """
    best: Fraction | None = None
    lower = ZERO
    last = len(tiers) - 1
    for index, tier in enumerate(tiers):
        root = (slack + tier.cum - sigma * entry_notional) / (tier.mmr - sigma)
        upper = None if index == last else tier.max_notional
        if sigma > 0:
            if root > lower:
                edge = root if upper is None or root <= upper else upper
                if best is None or edge > best:
                    best = edge
        elif upper is None or root <= upper:
            edge = root if root > lower else lower
            if best is None or edge < best:
                best = edge
        lower = tier.max_notional
    return best if best is not None and best > 0 else None


def linear_liquidation_price(side: int, size: Fraction, entry: Fraction, wallet: Fraction, tiers: Sequence[Tier],
                             other_mm: Fraction = ZERO, other_upnl: Fraction = ZERO) -> Fraction | None:
    """Liquidation price of a linear one-way position (Binance), the price P where equity = MM:

        WB − TMM₁ + UPNL₁ + s·|q|·(P − E) = |q|·P·mmr − cum
        ⇒  LP = (WB − TMM₁ + UPNL₁ + cum − s·|q|·E) / (|q|·mmr − s·|q|)

    s = `side` (+1 long, −1 short); |q| = `size` (base units); E = `entry`; (mmr, cum) = the tier of
    the notional |q|·LP *at the liquidation price*, found by trying every tier (module docstring).
    Isolated: WB = the position's margin, TMM₁ = UPNL₁ = 0. Cross: WB = the wallet balance,
    TMM₁ = `other_mm` and UPNL₁ = `other_upnl`, the MM and uPnL of the account's other cross
    positions in the same settle asset (held at their current marks).

    A long is liquidated at P ≤ LP, a short at P ≥ LP. None when no positive price solves it: a
    long whose margin (plus cum) covers the whole notional never is; a short is underwater at every
    price. Exact; the engine shows a long's LP rounded down to the tick and a short's rounded up.
    """
    _check_position(side, size, entry, "entry")
    notional = _liquidation_notional(side, wallet - other_mm + other_upnl, size * entry, tiers)
    return None if notional is None else notional / size


def linear_bankruptcy_price(side: int, size: Fraction, entry: Fraction, margin: Fraction) -> Fraction | None:
    """Bankruptcy price of a linear position standing alone: the price where equity is exactly 0.

        WB + s·|q|·(BP − E) = 0   ⇒   BP = E − s·WB/|q|

    WB = `margin` (isolated margin, or the whole equity behind the position at entry), |q| = `size`,
    E = `entry`, s = `side`. None when BP ≤ 0 (a long whose margin covers the notional can never
    go bankrupt). Exact; the engine rounds a long's BP up to the tick and a short's down, so a
    close at the rounded price never needs the insurance fund.
    """
    _check_position(side, size, entry, "entry")
    price = entry - side * margin / size
    return price if price > 0 else None


def cross_bankruptcy_price(side: int, size: Fraction, mark: Fraction, equity: Fraction, mm: Fraction,
                           total_mm: Fraction) -> Fraction | None:
    """Bankruptcy price of position j of a cross account (dYdX v4's bankruptcy price):

        e_j = equity·MM_j/ΣMM          the share of the account's equity position j stands for
        BP_j = P_j − s·e_j/|q_j|       closing j at BP_j loses exactly e_j from the mark

    `equity` = wallet + Σ uPnL at the marks, `mm` = MM_j, `total_mm` = ΣMM over the account's cross
    positions (> 0), P_j = `mark`, |q_j| = `size`, s = `side`. The shares e_j add up to the equity,
    so closing every position at its BP leaves the account at exactly 0. With one position
    (MM_j = ΣMM, equity = WB + s·|q|·(P − E)) it is the isolated BP = E − s·WB/|q|.

    None when BP_j ≤ 0. Exact; rounded like `linear_bankruptcy_price`.
    """
    if total_mm <= 0:
        raise ValueError(f"total_mm must be positive, got {total_mm}")
    if not 0 <= mm <= total_mm:
        raise ValueError(f"mm must be between 0 and total_mm ({total_mm}), got {mm}")
    return linear_bankruptcy_price(side, size, mark, equity * mm / total_mm)


def inverse_liquidation_price(side: int, value: Fraction, entry: Fraction, wallet: Fraction, tiers: Sequence[Tier],
                              other_mm: Fraction = ZERO, other_upnl: Fraction = ZERO) -> Fraction | None:
    """Liquidation price of a coin-margined (inverse) position, the price P where equity = MM in coin:

        WB − TMM₁ + UPNL₁ + s·V·(1/E − 1/P) = V·mmr/P − cum
        ⇒  P = V·(mmr + s) / (WB − TMM₁ + UPNL₁ + cum + s·V/E)

    V = `value` = |contracts|·contract_size (quote units, e.g. USD); WB, TMM₁, UPNL₁ and cum in
    coin (isolated: WB = the position's margin, TMM₁ = UPNL₁ = 0); E = `entry`; s = `side`.
    (mmr, cum) = the tier of the coin notional V/P at the liquidation price, iterated over as for
    linear (module docstring; in notional space σ = −s since V/P falls as P rises).

    A long is liquidated at P ≤ LP, a short at P ≥ LP. None when no positive price solves it: a
    short whose margin covers its value (1x) is never liquidated; a long is underwater at every
    price. Exact; the engine rounds a long's LP down to the tick and a short's up.
    """
    _check_position(side, value, entry, "entry")
    notional = _liquidation_notional(-side, wallet - other_mm + other_upnl, value / entry, tiers)
    return None if notional is None else value / notional


def inverse_bankruptcy_price(side: int, value: Fraction, entry: Fraction, margin: Fraction) -> Fraction | None:
    """Bankruptcy price of an inverse position standing alone: equity in coin is exactly 0.

        WB + s·V·(1/E − 1/BP) = 0   ⇒   1/BP = 1/E + s·WB/V   ⇒   BP = V / (V/E + s·WB)

    V = `value` (quote units), WB = `margin` (coin), E = `entry`, s = `side`. None when the
    denominator is ≤ 0: a short with WB ≥ V/E (1x or less) never goes bankrupt. Exact; rounded like
    `linear_bankruptcy_price` (a long's up, a short's down).
    """
    _check_position(side, value, entry, "entry")
    denominator = value / entry + side * margin
    return value / denominator if denominator > 0 else None


def inverse_cross_bankruptcy_price(side: int, value: Fraction, mark: Fraction, equity: Fraction, mm: Fraction,
                                   total_mm: Fraction) -> Fraction | None:
    """Bankruptcy price of inverse position j of a cross account, dYdX's rule in coin:

        e_j = equity·MM_j/ΣMM                  (coin)
        e_j + s·V_j·(1/P_j − 1/BP_j) = 0   ⇒   BP_j = V_j / (V_j/P_j + s·e_j)

    P_j = `mark`, V_j = `value`, `equity`, `mm` and `total_mm` in coin. With one position it is
    `inverse_bankruptcy_price` with the entry price and the margin. None when no positive BP.
    Exact; rounded like `linear_bankruptcy_price`.
    """
    if total_mm <= 0:
        raise ValueError(f"total_mm must be positive, got {total_mm}")
    if not 0 <= mm <= total_mm:
        raise ValueError(f"mm must be between 0 and total_mm ({total_mm}), got {mm}")
    return inverse_bankruptcy_price(side, value, mark, equity * mm / total_mm)


def linear_fund_delta(side: int, size: Fraction, fill: Fraction, bankruptcy: Fraction) -> Fraction:
    """What a liquidation fill does to the insurance fund (linear, settle asset):

        Δ = s·x·(F − BP)

    x = `size` filled (base units), F = `fill` price, BP = the position's bankruptcy price, s = the
    liquidated position's side. Δ > 0: the fill beat BP and the surplus (the margin left) goes to the
    fund; Δ < 0: a deficit the fund pays. Seed 004: long BP 6,950, fill 6,990 → +40; 6,930 → −20.
    Exact; the engine books it in units with the residue to the rounding account.
    """
    return side * size * (fill - bankruptcy)


def inverse_fund_delta(side: int, value: Fraction, fill: Fraction, bankruptcy: Fraction) -> Fraction:
    """The inverse fund delta, in coin:

        Δ = s·V·(1/BP − 1/F)

    V = `value` filled (quote units), F = `fill`, BP = bankruptcy price, s = side. It is the PnL of
    the fill measured from BP, where the position's equity is 0: V·(1/E − 1/F) − V·(1/E − 1/BP) for
    a long. Δ > 0 surplus to the fund, Δ < 0 deficit it pays. Exact.
    """
    return side * value * (1 / bankruptcy - 1 / fill)


def round_price_to_tick(price: Fraction, tick: Fraction, up: bool) -> Fraction:
    """The multiple of `tick` next to `price`: ⌈price/tick⌉·tick if `up`, else ⌊price/tick⌋·tick.

    Exact (integer floor/ceil of a Fraction); a price already on a tick is returned unchanged.
    The engine uses up for a short's LP and a long's BP, down for a long's LP and a short's BP.
    """
    if tick <= 0:
        raise ValueError(f"tick must be positive, got {tick}")
    steps = Fraction(price) / tick
    return (math.ceil(steps) if up else math.floor(steps)) * Fraction(tick)
