"""Margin (borrowing) accounts and their loans: plain state and the pure maths of SPEC §9.

A margin account belongs to a trader and is one of `cross`, `cross_pro` or `isolated:<PAIR>`. Its
assets are a ledger account (`margin:<id>:<name>`); its liabilities are loans, one per borrowed
asset, kept here because a debt is not money anyone holds. What was lent came out of the venue's
`lending` ledger account, so `lending` holds exactly minus the principal outstanding.

Interest accrues hourly: at a borrow the first hour is charged at once, and then at every whole
UTC hour the loan stays open, `ceil(principal·daily_rate/24)` per hour (a trader's debit, rounded
up). Accrual is lazy, a function of the engine's time, so nothing changes state merely because time
passed (a refused command stays a no-op) and a loan left for a month costs nothing to carry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from solvent.money import ceil_fraction

HOUR_MS = 3_600_000


def hour_of(time_ms: int) -> int:
    """The index of the UTC hour holding `time_ms`."""
    return time_ms // HOUR_MS


def hourly_interest(principal: int, daily_rate: Fraction) -> int:
    """Interest of one hour on `principal` units: principal·rate/24, rounded up (the trader's debit)."""
    if not principal or not daily_rate:
        return 0
    return ceil_fraction(principal * daily_rate / 24)


@dataclass(slots=True)
class Loan:
    """A borrowed asset: `principal` still owed, `interest` accrued up to hour `hour` (inclusive)."""

    principal: int = 0
    interest: int = 0
    hour: int = 0

    def interest_at(self, hour: int, daily_rate: Fraction) -> int:
        """Interest owed at hour `hour`: what was accrued plus one charge per hour begun since."""
        return self.interest + max(0, hour - self.hour) * hourly_interest(self.principal, daily_rate)

    def settle_to(self, hour: int, daily_rate: Fraction) -> None:
        """Bring the accrued interest up to `hour` (before the principal changes)."""
        self.interest = self.interest_at(hour, daily_rate)
        self.hour = max(self.hour, hour)

    @property
    def open(self) -> bool:
        return bool(self.principal or self.interest)


@dataclass(slots=True)
class MarginAccount:
    account: str
    name: str  # cross, cross_pro or isolated:<PAIR>
    kind: str  # cross, cross_pro or isolated
    pair: str | None = None  # the spot pair of an isolated account
    loans: dict[str, Loan] = field(default_factory=dict)
    #: a `margin_call` event was emitted and the level has not recovered above the call level since
    called: bool = False

    @property
    def holder(self) -> str:
        """The ledger account of its assets."""
        return margin_holder(self.account, self.name)


def margin_holder(account: str, name: str) -> str:
    return "margin:" + account + ":" + name


def value_units(units: int, asset_decimals: int, index: Fraction, valuation_decimals: int) -> Fraction:
    """Exact value of `units` of an asset in units of the valuation asset (USDT), at `index` USDT per coin."""
    return Fraction(units * 10**valuation_decimals, 10**asset_decimals) * index


def margin_level(assets: Fraction, liabilities: Fraction) -> Fraction | None:
    """Margin level = total asset value / total liability value (debt + interest); None without debt."""
    if liabilities <= 0:
        return None
    return assets / liabilities
