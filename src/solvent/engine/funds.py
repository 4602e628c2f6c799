"""Insurance funds (SPEC §5): capacity, the drawdown rule, and the hash-chained history.

Every change of a fund's balance is recorded as an entry
`{time, fund, delta, reason, ref, balance_after, hash}` where
`hash = SHA-256(previous hash ‖ canonical JSON of the entry without its hash)`, the first entry
chaining from 64 zeros. Anyone holding a published history can re-verify it (`verify_chain`) and
a rewritten entry breaks every hash after it.

Capacity (what the fund may spend now) is `balance − floor`, the floor being the larger of
`fund_min_balance` and `(1 − fund_max_drawdown)·peak`, the peak being the highest balance the fund
held at any moment of the trailing `fund_drawdown_window_s` (Bybit/OKX's drawdown trigger).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

GENESIS = "0" * 64


def canonical(entry: Mapping[str, Any]) -> str:
    """The canonical JSON of an entry without its hash: sorted keys, no spaces."""
    return json.dumps({key: value for key, value in entry.items() if key != "hash"}, sort_keys=True,
                      separators=(",", ":"))


def chain_hash(previous: str, entry: Mapping[str, Any]) -> str:
    return hashlib.sha256((previous + canonical(entry)).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Broken:
    index: int
    reason: str


def verify_chain(entries: Sequence[Mapping[str, Any]], decimals: int | None = None) -> Broken | None:
    """Re-check a fund history: each hash, and (with `decimals`) that balances follow from the deltas.

    Returns the first broken entry, or None if the whole chain holds.
    """
    previous = GENESIS
    balance: Fraction | None = None
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or "hash" not in entry:
            return Broken(index, "not a fund history entry")
        expected = chain_hash(previous, entry)
        if entry["hash"] != expected:
            return Broken(index, f"hash {entry['hash']} does not match the entry (expected {expected})")
        try:
            delta, after = Fraction(str(entry["delta"])), Fraction(str(entry["balance_after"]))
        except (KeyError, ValueError):
            return Broken(index, "delta or balance_after is not a number")
        if balance is not None and balance + delta != after:
            return Broken(index, f"balance_after {entry['balance_after']} is not the previous balance plus delta")
        balance = after
        previous = entry["hash"]
    return None


class FundBook:
    """History and peak tracking of every fund of an engine."""

    def __init__(self) -> None:
        self.history: dict[str, list[dict[str, Any]]] = {}
        #: per fund: (time ms, balance units) after each change, for the drawdown window
        self.balances: dict[str, list[tuple[int, int]]] = {}

    def record(self, fund: str, time: str, time_ms: int, delta: str, reason: str, ref: str, balance_after: str,
               balance_units: int) -> dict[str, Any]:
        entries = self.history.setdefault(fund, [])
        entry: dict[str, Any] = {"time": time, "fund": fund, "delta": delta, "reason": reason, "ref": ref,
                                 "balance_after": balance_after}
        entry["hash"] = chain_hash(entries[-1]["hash"] if entries else GENESIS, entry)
        entries.append(entry)
        self.balances.setdefault(fund, []).append((time_ms, balance_units))
        return entry

    def head(self, fund: str) -> str:
        entries = self.history.get(fund)
        return entries[-1]["hash"] if entries else GENESIS

    def peak(self, fund: str, now_ms: int, window_ms: int) -> int:
        """Highest balance held at any moment in [now − window, now]."""
        points = self.balances.get(fund, [])
        start = now_ms - window_ms
        best = 0
        for time_ms, balance in reversed(points):
            best = max(best, balance)
            if time_ms <= start:  # the balance held when the window opened
                break
        return best


def floor_units(balance_peak: int, min_balance_units: int, max_drawdown: Fraction | None) -> int:
    """The fund's floor: max(min balance, (1 − max drawdown)·peak), rounded up (the fund spends less)."""
    floor = min_balance_units
    if max_drawdown is not None:
        kept = (1 - max_drawdown) * balance_peak
        floor = max(floor, -((-kept.numerator) // kept.denominator))
    return floor


def load_history(document: Any) -> dict[str, list[Mapping[str, Any]]]:
    """A published history: a list of entries, or {fund: [entries]}, or {"funds": {fund: [entries]}}."""
    if isinstance(document, list):
        grouped: dict[str, list[Mapping[str, Any]]] = {}
        for entry in document:
            name = entry.get("fund", "?") if isinstance(entry, Mapping) else "?"
            grouped.setdefault(str(name), []).append(entry)
        return grouped
    if isinstance(document, Mapping):
        inner = document.get("funds", document)
        if isinstance(inner, Mapping) and all(isinstance(v, list) for v in inner.values()):
            return {str(k): list(v) for k, v in inner.items()}
    raise ValueError("expected a list of fund history entries or {fund: [entries]}")


def verify_all(histories: Mapping[str, Iterable[Mapping[str, Any]]]) -> dict[str, Broken | None]:
    return {fund: verify_chain(list(entries)) for fund, entries in histories.items()}
