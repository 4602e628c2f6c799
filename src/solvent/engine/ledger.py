"""Double-entry ledger: the only way money moves.

Every movement debits one ledger account and credits another, in one asset, by a positive integer
amount, with a reason and a reference. Ledger accounts are named by kind:

* `trader:<id>`          a trader's wallet (cross margin lives here)
* `isolated:<id>:<mkt>`  the margin of an isolated position
* `fund:<name>`          an insurance fund
* `fees`                 trading fees collected by the venue
* `rounding`             residues of rounding (SPEC §1)
* `clearing:<mkt>`       the market's settlement account: realized PnL and funding pass through it.
                         Futures PnL is zero-sum only across all positions, so while positions are
                         open it holds the difference; it returns to zero when open interest does.
* `margin:<id>:<name>`   the assets of a trader's margin (borrowing) account (SPEC §9)
* `lending`              the venue's lending pool: a borrow is paid out of it and repaid principal
                         returns to it, so it holds exactly minus the principal lent out
* `interest`             interest paid on borrowed assets (the venue's income, like `fees`)
* `desk`                 the venue's liquidation desk: where a margin liquidation converts an asset
                         that has no spot book at the index price less/plus slippage, the desk is the
                         other side; it holds what it took (positive) against what it paid (negative)
* `external`             the world outside the venue: deposits come from it, withdrawals go to it,
                         so the sum of every other account changes only by deposits and withdrawals.

Accounts that hold someone's money (trader, isolated, margin, fund, fees, rounding, interest) can never go below
zero; an attempt is a broken invariant and stops loudly instead of booking.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

EXTERNAL = "external"
FEES = "fees"
ROUNDING = "rounding"
LENDING = "lending"
INTEREST = "interest"
DESK = "desk"

#: Prefixes of the accounts that may hold a negative balance (transit and outside accounts).
_MAY_BE_NEGATIVE = ("external", "clearing:", "lending", "desk")


class InvariantBroken(RuntimeError):
    """The engine tried to do something that must never happen; nothing was booked."""


class Entry(NamedTuple):
    seq: int
    time: int
    debit: str
    credit: str
    asset: str
    amount: int
    reason: str
    ref: str


def trader(account: str) -> str:
    return "trader:" + account


def isolated(account: str, market: str) -> str:
    return "isolated:" + account + ":" + market


def fund(name: str) -> str:
    return "fund:" + name


def clearing(market: str) -> str:
    return "clearing:" + market


class Ledger:
    """Balances per (ledger account, asset) and the journal of every entry."""

    def __init__(self) -> None:
        self.balances: dict[tuple[str, str], int] = {}
        self.entries: list[Entry] = []

    def balance(self, account: str, asset: str) -> int:
        return self.balances.get((account, asset), 0)

    def transfer(self, debit: str, credit: str, asset: str, amount: int, reason: str, ref: str,
                 time: int) -> None:
        """Move `amount` units of `asset` from `debit` to `credit`. Zero amounts are not booked."""
        if amount == 0:
            return
        if amount < 0:
            raise InvariantBroken(f"negative transfer {amount} {asset} {debit}->{credit} ({reason})")
        if debit == credit:
            raise InvariantBroken(f"transfer to itself: {debit} ({reason})")
        balances = self.balances
        key = (debit, asset)
        after = balances.get(key, 0) - amount
        if after < 0 and not debit.startswith(_MAY_BE_NEGATIVE):
            raise InvariantBroken(f"{debit} would hold {after} {asset} after {reason} {ref}")
        balances[key] = after
        credit_key = (credit, asset)
        balances[credit_key] = balances.get(credit_key, 0) + amount
        self.entries.append(Entry(len(self.entries), time, debit, credit, asset, amount, reason, ref))

    def totals(self) -> dict[str, int]:
        """Sum of every account but `external`, per asset: equals net deposits at all times."""
        out: dict[str, int] = {}
        for (account, asset), amount in self.balances.items():
            if account != EXTERNAL:
                out[asset] = out.get(asset, 0) + amount
        return out

    def accounts(self, prefix: str) -> Iterator[tuple[str, str, int]]:
        for (account, asset), amount in self.balances.items():
            if account.startswith(prefix):
                yield account, asset, amount
