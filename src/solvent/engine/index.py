"""The liquidation index: which positions a mark-price step can have put underwater, in O(log n + k).

Per market, two heaps of trigger prices (in ticks, exact): a position on the *low* heap can only be
underwater once the mark is at or below its trigger, one on the *high* heap at or above it. A mark
step pops the crossed triggers only; nothing else is looked at.

* Isolated position: its exact liquidation price (long: low, short: high). Equity ≤ MM ⇔ the mark
  is at or beyond it, so the trigger is exact.
* Cross account: a bound, not a price. With slack `S = equity − MM` at the current marks and `n`
  cross positions in the settle asset, position `i` may use `S/n` of it: its trigger is where a
  move of its own mark alone would consume `S/n`, at the fastest rate the move can (PnL plus the
  growth of MM, `(1 + mmr_max)` per unit of value). As long as every mark stays inside its trigger
  the account cannot be underwater, whatever the other marks did; a crossed trigger only means
  "check exactly now" (and re-arm if still solvent).

Triggers are recomputed only for accounts whose money or positions changed since the last mark
step (`touch`) and for those whose trigger was crossed.
"""

from __future__ import annotations

import heapq
from fractions import Fraction
from typing import TYPE_CHECKING

from solvent.engine.accounts import ISOLATED

if TYPE_CHECKING:
    from solvent.engine.accounts import Account
    from solvent.engine.liquidation import LiquidationOps

#: a trigger that any mark crosses (the account is already underwater)
ALWAYS = Fraction(10**40)

Entry = tuple[Fraction, int, str, int]  # (key, tie-breaker, account id, version)


class LiquidationIndex:
    def __init__(self) -> None:
        self.low: dict[str, list[Entry]] = {}
        self.high: dict[str, list[Entry]] = {}
        self.version: dict[tuple[str, str], int] = {}
        self.dirty: set[str] = set()
        self._tie = 0

    def touch(self, account: str) -> None:
        self.dirty.add(account)

    def refresh(self, engine: LiquidationOps) -> None:
        """Re-arm the triggers of every account that changed since the last refresh."""
        if not self.dirty:
            return
        for name in sorted(self.dirty):
            account = engine.accounts.get(name)
            if account is not None:
                self.arm(engine, account)
        self.dirty.clear()

    def arm(self, engine: LiquidationOps, account: Account) -> None:
        """(Re)compute every trigger of the account; older heap entries become stale."""
        for market_name, position in account.positions.items():
            key = (account.id, market_name)
            self.version[key] = self.version.get(key, 0) + 1
            if position.qty == 0:
                continue
            market = engine.markets[market_name]
            side = 1 if position.qty > 0 else -1
            if position.mode == ISOLATED:
                trigger = self._isolated_trigger(engine, account, market_name)
            else:
                trigger = self._cross_trigger(engine, account, market_name, side)
            if trigger is None:
                continue
            self._tie += 1
            entry_version = self.version[key]
            if side > 0:
                heapq.heappush(self.low.setdefault(market.name, []), (-trigger, self._tie, account.id, entry_version))
            else:
                heapq.heappush(self.high.setdefault(market.name, []), (trigger, self._tie, account.id, entry_version))

    def crossed(self, market: str, mark: int) -> list[str]:
        """Pop every live entry of `market` whose trigger the mark has reached; their accounts, sorted."""
        found: set[str] = set()
        low = self.low.get(market, [])
        while low and -low[0][0] >= mark:
            _, _, account, version = heapq.heappop(low)
            if self.version.get((account, market)) == version:
                found.add(account)
        high = self.high.get(market, [])
        while high and high[0][0] <= mark:
            _, _, account, version = heapq.heappop(high)
            if self.version.get((account, market)) == version:
                found.add(account)
        return sorted(found)

    # ---- triggers ----------------------------------------------------------------------------------
    def _isolated_trigger(self, engine: LiquidationOps, account: Account, market_name: str) -> Fraction | None:
        market = engine.markets[market_name]
        for risk in engine.risk(account, market.settle.name):
            if risk.market is market:
                if risk.liquidation is None:
                    return None
                return market.ticks_from_human(risk.liquidation)
        return None

    def _cross_trigger(self, engine: LiquidationOps, account: Account, market_name: str, side: int) -> Fraction | None:
        market = engine.markets[market_name]
        slack, count = engine.cross_slack(account, market.settle.name)
        if slack <= 0:
            return ALWAYS if side > 0 else Fraction(0)
        position = account.positions[market_name]
        here = Fraction(engine.valuation_mark(market, position))
        rate = abs(position.qty) * market.scale * (1 + max(tier.mmr for tier in market.tiers))
        share = slack / count / rate
        if market.direction == 1:
            trigger = here - side * share
            return trigger if trigger > 0 else (None if side > 0 else trigger)
        inverse = 1 / here + side * share
        if inverse <= 0:
            return None
        return Fraction(1) / inverse
