"""Liquidation (SPEC §4), auto-deleveraging (§6) and socialized loss (§7).

A mark-price step checks the positions of that market (`LiquidationIndex` keeps this from being a
scan of all positions); a position (isolated) or an account's cross positions in one settle asset
(cross) with equity ≤ MM at the mark are liquidated:

1. the account's open orders in the scope are cancelled;
2. the quantity to close follows `partial` (none, tier_step, fraction with cooldown);
3. an IOC order walks the book no further than the worst price at which the fund can still pay every
   deficit it creates (checked before every fill), nor beyond `max_slippage` from the bankruptcy
   price, nor beyond the bankruptcy price itself with `order_price: bankruptcy`;
4. each fill settles the trader exactly as if closed at the bankruptcy price (the trader loses the
   margin, never more), and the fund takes the difference `Δ = s·x·(F − BP)`: a surplus (all, or
   capped at `surplus_fee_rate`·notional with the rest back to the trader) or a deficit;
5. what the book could not take goes to ADL against opposite positions at BP (or the mark), or with
   `shortfall: socialize` the deficit the fund cannot pay is charged to the profitable side.
"""

from __future__ import annotations

import hashlib
from fractions import Fraction
from typing import Any

from solvent.engine import ledger as L
from solvent.engine.accounts import CROSS, ISOLATED, Account, Position
from solvent.engine.book import RestingOrder
from solvent.engine.ledger import InvariantBroken
from solvent.engine.margin import maintenance_margin_exact, upnl_exact
from solvent.engine.trading import TradingOps
from solvent.engine.views import PositionRisk, StateViews
from solvent.markets import Market
from solvent.money import ceil_fraction, floor_fraction

Fill = tuple[RestingOrder, int]


def value_exact(market: Market, lots: int, ticks: Fraction | int) -> Fraction:
    """`market.value` at a price that may not be a whole tick (a bankruptcy price)."""
    if market.direction == 1:
        return Fraction(lots) * ticks
    return Fraction(lots) / ticks


class LiquidationOps(TradingOps, StateViews):
    """Mixin of `Engine`: the liquidation check of a mark-price step and everything it triggers."""

    # ---- when is an account underwater ---------------------------------------------------------
    def isolated_underwater(self, account: Account, position: Position, market: Market) -> bool:
        mark = self.valuation_mark(market, position)
        margin = self.ledger.balance(L.isolated(account.id, market.name), market.settle.name)
        return margin + upnl_exact(market, position, mark) <= maintenance_margin_exact(market, position, mark)

    def cross_underwater(self, account: Account, settle: str) -> bool:
        slack, count = self.cross_slack(account, settle)
        return count > 0 and slack <= 0

    def underwater_scope(self, account: Account, market: Market) -> str | None:
        """The scope to liquidate if the account's position in `market` is underwater now: the market
        (isolated) or `cross:<settle>` (the account's cross positions in that asset)."""
        position = account.positions.get(market.name)
        if position is None or position.qty == 0:
            return None
        if position.mode == ISOLATED:
            return market.name if self.isolated_underwater(account, position, market) else None
        return "cross:" + market.settle.name if self.cross_underwater(account, market.settle.name) else None

    def underwater_scopes(self, market: Market) -> list[tuple[Account, str]]:
        """Full scan (the reference the index is tested against): every (account, scope) of `market`'s
        positions that is underwater now."""
        out: list[tuple[Account, str]] = []
        for account, _position in self.open_positions(market.name):
            scope = self.underwater_scope(account, market)
            if scope is not None:
                out.append((account, scope))
        return out

    def indexed_underwater_scopes(self, market: Market) -> list[tuple[Account, str]]:
        """What `underwater_scopes` finds, through the index: only crossed triggers are checked
        exactly; a crossed trigger of a solvent account is re-armed."""
        index = self.index
        index.refresh(self)
        mark = self.mark(market.name)
        if mark is None:
            return []
        out: list[tuple[Account, str]] = []
        for name in index.crossed(market.name, mark):
            account = self.accounts[name]
            # re-arm every popped account: one left underwater (a partial liquidation's cooldown) must
            # be found again by the next step, and one liquidated now is re-armed after it changes
            index.arm(self, account)
            scope = self.underwater_scope(account, market)
            if scope is not None:
                out.append((account, scope))
        if self.verify_index:
            expected = [(account.id, scope) for account, scope in self.underwater_scopes(market)]
            found = sorted((account.id, scope) for account, scope in out)
            if found != sorted(expected):
                raise InvariantBroken(f"index found {found}, a full scan {sorted(expected)}")
        return out

    # ---- the mark-price step -------------------------------------------------------------------
    def check_liquidations(self, market: Market) -> None:
        """Liquidate every underwater scope of `market`; a liquidation's fills can sink the makers who
        took them, so check again until nothing is underwater (each pass closes positions: it ends)."""
        while True:
            scopes = [(account, scope) for account, scope in self.indexed_underwater_scopes(market)
                      if self.cooldowns.get((account.id, market.name), -1) <= self.now]
            if not scopes:
                return
            before = [(account.id, _open_lots(account)) for account, _ in scopes]
            for account, scope in scopes:
                if scope.startswith("cross:"):
                    self.liquidate_cross(account, scope[6:])
                else:
                    self.liquidate_isolated(account, self.markets[scope])
            if before == [(account.id, _open_lots(account)) for account, _ in scopes]:
                return  # nothing could be closed (no bankruptcy price): never loop on it

    def liquidate_isolated(self, account: Account, market: Market) -> None:
        position = account.positions[market.name]
        self.cancel_orders(account, {market.name}, "liquidation")
        if position.qty == 0 or not self.isolated_underwater(account, position, market):
            return
        self._liquidate_position(account, market, position)

    def liquidate_cross(self, account: Account, settle: str) -> None:
        markets = {p.market for p in account.positions.values()
                   if p.qty and p.mode == CROSS and self.markets[p.market].settle.name == settle}
        self.cancel_orders(account, markets, "liquidation")
        # largest maintenance margin first, checking again after each (SPEC §4 step 2)
        while self.cross_underwater(account, settle):
            risks = [risk for risk in self.risk(account, settle) if risk.position.mode == CROSS]
            if not risks:
                return
            risks.sort(key=lambda r: (-r.mm, r.market.name))
            before = sum(abs(r.position.qty) for r in risks)
            self._liquidate_position(account, risks[0].market, risks[0].position)
            after = sum(abs(p.qty) for p in account.positions.values() if p.mode == CROSS and p.qty)
            if after >= before:  # nothing could close (cooldown): stop rather than loop
                return

    # ---- one position ----------------------------------------------------------------------------
    def _risk_of(self, account: Account, market: Market) -> PositionRisk | None:
        for risk in self.risk(account, market.settle.name):
            if risk.market is market:
                return risk
        return None

    def _liquidate_position(self, account: Account, market: Market, position: Position) -> None:
        risk = self._risk_of(account, market)
        if risk is None or risk.bankruptcy is None:
            return
        lots = self._lots_to_close(account, market, position)
        if lots == 0:
            return
        side = 1 if position.qty > 0 else -1
        bankruptcy = market.ticks_from_human(risk.bankruptcy)
        liquidation = None if risk.liquidation is None else market.ticks_from_human(risk.liquidation)
        mark = self.valuation_mark(market, position)
        ref = f"{market.name}:L{self.seq + 1}"
        fund_before = self.ledger.balance(L.fund(market.fund), market.settle.name)
        deep = self._below_backstop_ratio(account, market, position)
        fills = [] if deep else self._liquidation_fills(account, market, side, lots, bankruptcy)
        self.books[market.name].execute(fills)
        filled = 0
        notional = 0
        fee = 0
        touched = {account.id}
        for maker, fill_lots in fills:
            _delta, taken = self._settle_bankrupt(account, market, position, fill_lots, maker.price, bankruptcy, ref)
            maker_pnl, maker_fee = self._maker_fill(market, maker, fill_lots, -side, ref)
            self.emit("trade", market=market.name, price=market.format_price(maker.price),
                      qty=market.format_qty(fill_lots), taker=account.id, taker_order=ref,
                      taker_side="sell" if side > 0 else "buy", maker=maker.account, maker_order=maker.oid,
                      maker_fee=market.settle.format(maker_fee), maker_pnl=market.settle.format(maker_pnl),
                      liquidation=True)
            filled += fill_lots
            notional += maker.price * fill_lots
            fee += taken
            touched.add(maker.account)
        remaining = lots - filled
        adl_lots = 0
        backstop_lots = 0
        if remaining and self._backstop_account(account) is not None:
            backstop_lots = self._backstop_takeover(account, market, position, remaining, bankruptcy, ref)
            remaining -= backstop_lots
        if remaining:
            adl_lots = self._close_without_book(account, market, position, remaining, bankruptcy, ref)
        self._release_isolated_rest(account, market, position, ref)
        settle = market.settle
        fund_after = self.ledger.balance(L.fund(market.fund), settle.name)
        average = None if filled == 0 else _average(market, notional, filled)
        self.liquidation_history.append(self.emit(
                  "liquidation", account=account.id, market=market.name, side="long" if side > 0 else "short",
                  margin_mode=position.mode, qty=market.format_qty(lots), mark_price=market.format_price(mark),
                  liquidation_price=_ticks_text(market, liquidation, up=side < 0),
                  bankruptcy_price=_ticks_text(market, bankruptcy, up=side > 0),
                  average_fill=average, filled_qty=market.format_qty(filled),
                  fund_delta=settle.format(fund_after - fund_before), fee=settle.format(fee),
                  fund=market.fund, fund_balance_after=settle.format(fund_after),
                  adl_qty=market.format_qty(adl_lots), backstop_qty=market.format_qty(backstop_lots), ref=ref))
        for name in sorted(touched):
            self._trim_reduce_only(self.accounts[name], market)
        self._sweep_rounding(market)

    # ---- backstop (Hyperliquid's HLP vault, a keeper, a venue's takeover account) ------------------
    def _backstop_account(self, liquidated: Account) -> Account | None:
        name = self.policy.backstop
        if name is None or name == liquidated.id:
            return None
        return self.accounts.get(name)

    def _below_backstop_ratio(self, account: Account, market: Market, position: Position) -> bool:
        """Equity below `backstop_ratio`·MM: too deep for the book, the backstop takes it whole."""
        if self._backstop_account(account) is None:
            return False
        mark = self.valuation_mark(market, position)
        if position.mode == ISOLATED:
            equity = self.ledger.balance(L.isolated(account.id, market.name), market.settle.name) + upnl_exact(
                market, position, mark)
            maintenance = maintenance_margin_exact(market, position, mark)
        else:
            risks = [risk for risk in self.risk(account, market.settle.name) if risk.position.mode == CROSS]
            equity = Fraction(self.ledger.balance(L.trader(account.id), market.settle.name))
            equity += sum((risk.upnl for risk in risks), Fraction(0)) * 10**market.settle.decimals
            maintenance = sum((risk.mm for risk in risks), Fraction(0)) * 10**market.settle.decimals
        return equity < self.policy.backstop_ratio * maintenance

    def _backstop_takeover(self, account: Account, market: Market, position: Position, lots: int,
                           bankruptcy: Fraction, ref: str) -> int:
        """The backstop takes `lots` over at the mark with the remaining margin (less the clawback)."""
        backstop = self._backstop_account(account)
        mark = self.mark(market.name)
        if backstop is None or mark is None:
            return 0
        side = 1 if position.qty > 0 else -1
        self._settle_bankrupt(account, market, position, lots, mark, bankruptcy, ref, backstop=backstop.id)
        self._fill_position(backstop, market, side, lots, mark, CROSS, market.max_leverage, ref)
        self.emit("backstop", account=backstop.id, market=market.name, qty=market.format_qty(lots),
                  price=market.format_price(mark), against=account.id, ref=ref)
        return lots

    def _lots_to_close(self, account: Account, market: Market, position: Position) -> int:
        lots = abs(position.qty)
        policy = self.policy
        if policy.partial == "tier_step":
            mark = self.valuation_mark(market, position)
            notional = market.notional_units(lots, mark)
            tiers = market.tiers
            tier = market.tier_at(notional)
            index = tiers.index(tier)
            if index == 0:
                return lots
            target = tiers[index - 1].max_notional * 10**market.settle.decimals
            keep = lots
            # the largest position (in lots) whose notional at the mark is within the lower tier
            per_lot = market.notional_units(1, mark)
            keep = floor_fraction(Fraction(target) / per_lot) if per_lot else 0
            return max(1, lots - max(0, keep))
        if policy.partial == "fraction":
            cooldowns = self.cooldowns
            key = (account.id, market.name)
            if cooldowns.get(key, -1) > self.now:
                return 0
            mark = self.valuation_mark(market, position)
            notional = Fraction(market.notional_units(lots, mark)) / 10**market.settle.decimals
            if notional > policy.partial_min_notional:
                cooldowns[key] = self.now + policy.partial_cooldown_s * 1000
                return min(lots, max(1, ceil_fraction(lots * policy.partial_fraction)))
        return lots

    def _liquidation_fills(self, account: Account, market: Market, side: int, lots: int,
                           bankruptcy: Fraction) -> list[Fill]:
        """The fills of the IOC liquidation order: the book in priority order, cut where the fund could
        no longer pay (IF balance + Δ ≥ floor before every fill), at `max_slippage`, or at BP."""
        policy = self.policy
        limit: int | None = None
        if policy.order_price == "bankruptcy":
            limit = ceil_fraction(bankruptcy) if side > 0 else floor_fraction(bankruptcy)
        elif policy.max_slippage is not None:
            bound = bankruptcy * (1 - side * policy.max_slippage)
            limit = ceil_fraction(bound) if side > 0 else floor_fraction(bound)
        if limit is not None and limit <= 0:
            limit = 1
        candidates, _ = self.books[market.name].plan(-side, limit, lots, account.id)
        socialize = policy.shortfall == "socialize"
        budget = self.fund_capacity(market.fund)
        out: list[Fill] = []
        for maker, fill_lots in candidates:
            delta = self._fund_delta(market, side, fill_lots, maker.price, bankruptcy)
            if delta >= 0 or socialize:
                out.append((maker, fill_lots))
                budget += floor_fraction(delta) if delta >= 0 else 0
                continue
            per_lot = -self._fund_delta(market, side, 1, maker.price, bankruptcy)
            affordable = min(fill_lots, floor_fraction(budget / per_lot))
            while affordable > 0 and ceil_fraction(affordable * per_lot) > budget:
                affordable -= 1
            if affordable > 0:
                out.append((maker, affordable))
                budget -= ceil_fraction(affordable * per_lot)
            if affordable < fill_lots:
                break
        return out

    def _fund_delta(self, market: Market, side: int, lots: int, price: int | Fraction,
                    bankruptcy: Fraction) -> Fraction:
        """Δ = s·x·(F − BP) in settle units (inverse: s·x·cs·(1/BP − 1/F)), exact."""
        return market.direction * side * market.scale * (value_exact(market, lots, price)
                                                         - value_exact(market, lots, bankruptcy))

    def _settle_bankrupt(self, account: Account, market: Market, position: Position, lots: int,
                         price: int | Fraction, bankruptcy: Fraction, ref: str,
                         backstop: str | None = None) -> tuple[int, int]:
        """Close `lots` of a bankrupt position at `price`: the trader settles as if at BP (losing the
        margin share, never more), the fund takes Δ. Returns (fund delta booked, fee the fund took)."""
        asset = market.settle.name
        side = 1 if position.qty > 0 else -1
        before = abs(position.qty)
        cost_part = position.cost if lots == before else position.cost * Fraction(lots, before)
        at_bankruptcy = market.direction * side * market.scale * (value_exact(market, lots, bankruptcy) - cost_part)
        owed = floor_fraction(Fraction(at_bankruptcy))
        holder = L.isolated(account.id, market.name) if position.mode == ISOLATED else L.trader(account.id)
        if owed >= 0:
            self.transfer(L.clearing(market.name), holder, asset, owed, "liquidation_pnl", ref)
        else:
            self.collect(holder, market, -owed, "liquidation_pnl", ref)
        position.qty -= side * lots
        position.cost = position.cost - cost_part
        if type(position.cost) is Fraction and position.cost.denominator == 1:
            position.cost = position.cost.numerator
        if side > 0:
            self.open_interest[market.name] -= lots
        delta = self._fund_delta(market, side, lots, price, bankruptcy)
        fund_account = L.fund(market.fund)
        clearing = L.clearing(market.name)
        taken = 0
        if delta > 0 and backstop is not None:
            # the remaining margin goes with the position to the backstop; `clawback` of it to the fund
            surplus = floor_fraction(delta)
            to_fund = floor_fraction(surplus * self.policy.clawback)
            self.transfer(clearing, L.trader(backstop), asset, surplus - to_fund, "backstop_margin", ref)
            if to_fund:
                self.transfer(clearing, fund_account, asset, to_fund, "clawback", ref)
                self.fund_event(market.fund, to_fund, "clawback", ref)
            return to_fund, 0
        if delta > 0:
            surplus = floor_fraction(delta)
            to_fund = surplus
            if self.policy.surplus == "capped":
                cap = floor_fraction(Fraction(market.notional_units(lots, round(price))) * self.policy.surplus_fee_rate)
                to_fund = min(surplus, cap)
                self.transfer(clearing, L.trader(account.id), asset, surplus - to_fund, "liquidation_surplus_returned",
                              ref)
            taken = to_fund if self.policy.surplus == "capped" else 0
            if to_fund:
                self.transfer(clearing, fund_account, asset, to_fund, "liquidation_surplus", ref)
                self.fund_event(market.fund, to_fund, "liquidation_surplus", ref)
            return to_fund, taken
        if delta < 0:
            deficit = ceil_fraction(-delta)
            uncovered = self.cover_deficit(market, deficit, ref, reason="liquidation_deficit")
            if uncovered:
                self._socialize(market, side, uncovered, ref)
            return -(deficit - uncovered), 0
        return 0, 0

    def _release_isolated_rest(self, account: Account, market: Market, position: Position, ref: str) -> None:
        """A fully closed isolated position's last rounding units go back to the trader's wallet."""
        if position.mode != ISOLATED or position.qty != 0:
            return
        holder = L.isolated(account.id, market.name)
        rest = self.ledger.balance(holder, market.settle.name)
        self.transfer(holder, L.trader(account.id), market.settle.name, rest, "margin_release", ref)

    # ---- what the book cannot take -----------------------------------------------------------------
    def _close_without_book(self, account: Account, market: Market, position: Position, lots: int,
                            bankruptcy: Fraction, ref: str) -> int:
        """ADL the remaining quantity against opposite positions (SPEC §6). Returns the lots deleveraged."""
        side = 1 if position.qty > 0 else -1
        price = self._adl_price(market, side, lots, bankruptcy)
        plan = self.adl_plan(market, side, lots, account.id)
        self.adl_rounds[market.name] = self.adl_rounds.get(market.name, 0) + 1
        closed = 0
        for counter, take in plan:
            counter_account = self.accounts[counter.id] if isinstance(counter, Account) else counter
            self.cancel_orders(counter_account, {market.name}, "adl")
            counter_position = counter_account.positions[market.name]
            self._settle_bankrupt(account, market, position, take, price, bankruptcy, ref)
            pnl = self._fill_position(counter_account, market, side, take, price, counter_position.mode,
                                      counter_position.leverage, ref)
            fee = 0
            if self.policy.adl_fee == "maker" and market.maker_fee > 0:
                fee = self._charge_fee(counter_account, market, market.notional_units(take, price), market.maker_fee,
                                       ref)
            closed += take
            self.emit("adl", account=counter_account.id, market=market.name, qty=market.format_qty(take),
                      price=market.format_price(price), against=account.id, realized_pnl=market.settle.format(pnl),
                      fee=market.settle.format(fee), ref=ref)
        if closed < lots:
            self.emit("deficit", market=market.name, fund=market.fund, ref=ref,
                      unclosed_qty=market.format_qty(lots - closed), reason="no opposite positions to deleverage")
        return closed

    def _adl_price(self, market: Market, side: int, lots: int, bankruptcy: Fraction) -> int:
        """BP rounded to the tick on the side where the fund never pays (SPEC §1), or the mark (OKX) when
        the fund can pay what the mark costs it."""
        at_bankruptcy = ceil_fraction(bankruptcy) if side > 0 else floor_fraction(bankruptcy)
        if self.policy.adl_price == "mark":
            mark = self.mark(market.name)
            if mark is not None:
                delta = self._fund_delta(market, side, lots, mark, bankruptcy)
                if delta >= 0 or ceil_fraction(-delta) <= self.fund_capacity(market.fund):
                    return mark
        return max(1, at_bankruptcy)

    def adl_plan(self, market: Market, side: int, lots: int, exclude: str) -> list[tuple[Account, int]]:
        """Opposite positions to close against a bankrupt one of `side`, best-ranked first (SPEC §6)."""
        ranked = self.adl_ranking(market, -side, exclude)
        if self.policy.adl_rank == "pro_rata":
            return self._pro_rata(market, ranked, lots)
        plan: list[tuple[Account, int]] = []
        left = lots
        for account, _score in ranked:
            if left == 0:
                break
            take = min(left, abs(account.positions[market.name].qty))
            plan.append((account, take))
            left -= take
        return plan

    def adl_ranking(self, market: Market, side: int, exclude: str | None = None) -> list[tuple[Account, Fraction]]:
        """Positions of `side` in `market` in ADL order (first is deleveraged first), with their scores."""
        rows: list[tuple[Account, Fraction]] = []
        for account, position in self.open_positions(market.name):
            if account.id == exclude or (position.qty > 0) != (side > 0):
                continue
            rows.append((account, self._adl_score(account, market, position)))
        rank = self.policy.adl_rank
        if rank == "random_start" and rows:
            rows.sort(key=lambda row: row[0].id)
            # the start comes from state that only ADL itself changes, so it reproduces (dYdX)
            rounds = self.adl_rounds.get(market.name, 0)
            digest = hashlib.sha256(f"{market.name}:{rounds}:{len(rows)}".encode()).digest()
            start = int.from_bytes(digest[:8], "big") % len(rows)
            return rows[start:] + rows[:start]
        rows.sort(key=lambda row: (-row[1], row[0].id))
        return rows

    def adl_quantiles(self) -> dict[tuple[str, str], int]:
        """Binance's indicator: each position's 20% band of the ADL ranking of its side, 4 = first in line."""
        out: dict[tuple[str, str], int] = {}
        for market in self.markets.values():
            for side in (1, -1):
                ranked = self.adl_ranking(market, side)
                count = len(ranked)
                for place, (account, _score) in enumerate(ranked):
                    out[account.id, market.name] = 4 - (5 * place) // count
        return out

    def _adl_score(self, account: Account, market: Market, position: Position) -> Fraction:
        mark = self.valuation_mark(market, position)
        upnl = upnl_exact(market, position, mark)
        entry_value = Fraction(market.scale * position.cost) if market.direction == 1 else market.scale * position.cost
        if entry_value == 0:
            return Fraction(0)
        pnl_ratio = upnl / abs(entry_value)
        rank = self.policy.adl_rank
        if rank == "hyperliquid":
            if upnl <= 0:
                return Fraction(-1) + pnl_ratio / 10**6
            account_value = self._account_value(account, market)
            if account_value <= 0:
                return Fraction(10**12)
            mark_ratio = Fraction(mark) / (Fraction(position.cost) / abs(position.qty)) if market.direction == 1 else \
                Fraction(abs(position.qty)) / (Fraction(position.cost) * mark)
            return mark_ratio * Fraction(market.notional_units(position.qty, mark)) / account_value
        if rank == "pro_rata":
            return upnl
        # pnl_leverage (BitMEX): PnL% × EffLev if profitable, PnL% / EffLev otherwise;
        # EffLev = |mark value| / (equity of the position), equity = what it would leave at the mark.
        equity = self._position_equity(account, market, position, upnl)
        notional = Fraction(market.notional_units(position.qty, mark))
        if equity <= 0:
            leverage = Fraction(10**9)
        else:
            leverage = notional / equity
        if pnl_ratio > 0:
            return pnl_ratio * leverage
        return pnl_ratio / leverage if leverage else pnl_ratio

    def _position_equity(self, account: Account, market: Market, position: Position, upnl: Fraction) -> Fraction:
        if position.mode == ISOLATED:
            return self.ledger.balance(L.isolated(account.id, market.name), market.settle.name) + upnl
        return self._account_value(account, market)

    def _account_value(self, account: Account, market: Market) -> Fraction:
        settle = market.settle.name
        value = Fraction(self.ledger.balance(L.trader(account.id), settle))
        for position in account.positions.values():
            if position.qty == 0:
                continue
            other = self.markets[position.market]
            if other.settle.name != settle:
                continue
            value += upnl_exact(other, position, self.valuation_mark(other, position))
            if position.mode == ISOLATED:
                value += self.ledger.balance(L.isolated(account.id, other.name), settle)
        return value

    def _pro_rata(self, market: Market, ranked: list[tuple[Account, Fraction]], lots: int) -> list[tuple[Account, int]]:
        """Profitable opposite positions shrink in proportion to their profit; any rest by rank."""
        profitable = [(account, score) for account, score in ranked if score > 0]
        total = sum((score for _, score in profitable), Fraction(0))
        plan: dict[str, int] = {}
        left = lots
        if total > 0:
            for account, score in profitable:
                size = abs(account.positions[market.name].qty)
                take = min(size, floor_fraction(lots * score / total))
                if take:
                    plan[account.id] = take
                    left -= take
        for account, _score in ranked:
            if left == 0:
                break
            size = abs(account.positions[market.name].qty) - plan.get(account.id, 0)
            take = min(size, left)
            if take > 0:
                plan[account.id] = plan.get(account.id, 0) + take
                left -= take
        return [(self.accounts[name], take) for name, take in plan.items()]

    # ---- socialized loss ---------------------------------------------------------------------------
    def _socialize(self, market: Market, bankrupt_side: int, amount: int, ref: str) -> None:
        """The deficit the fund could not pay (SPEC §7): with `shortfall: socialize`, charged to the
        profitable opposite positions pro rata to uPnL (haircut), or to all open interest at the next
        funding (funding mode). With ADL the liquidation never gets here with an uncovered deficit
        from the book; a rounding-sized one stays in clearing and is reported."""
        if self.policy.shortfall != "socialize":
            return
        asset = market.settle
        if self.policy.socialize == "funding":
            self.pending_socialized[market.name] = self.pending_socialized.get(market.name, 0) + amount
            self.emit("socialized_loss", market=market.name, mode="funding", amount=asset.format(amount),
                      charged=asset.format(0), pending=asset.format(self.pending_socialized[market.name]), ref=ref)
            return
        winners: list[tuple[Account, Position, Fraction]] = []
        for account, position in self.open_positions(market.name):
            if (position.qty > 0) == (bankrupt_side > 0):
                continue
            upnl = upnl_exact(market, position, self.valuation_mark(market, position))
            if upnl > 0:
                winners.append((account, position, upnl))
        total = sum((upnl for _, _, upnl in winners), Fraction(0))
        charged_total = 0
        for account, position, upnl in winners:
            due = min(ceil_fraction(amount * upnl / total), floor_fraction(upnl), amount - charged_total)
            holder = L.isolated(account.id, market.name) if position.mode == ISOLATED else L.trader(account.id)
            charge = min(due, self.ledger.balance(holder, asset.name))
            if charge <= 0:
                continue
            self.transfer(holder, L.clearing(market.name), asset.name, charge, "socialized_loss", ref)
            charged_total += charge
            self.emit("socialized_loss", market=market.name, mode="haircut", account=account.id,
                      amount=asset.format(charge), ref=ref)
        if charged_total < amount:
            self.emit("deficit", market=market.name, fund=market.fund, ref=ref,
                      uncovered=asset.format(amount - charged_total), reason="socialized loss exceeds profits")


def _open_lots(account: Account) -> int:
    return sum(abs(position.qty) for position in account.positions.values())


def _average(market: Market, notional_ticks_lots: int, lots: int) -> str:
    from solvent.money import format_fraction

    return format_fraction(market.price_human(Fraction(notional_ticks_lots, lots)))


def _ticks_text(market: Market, ticks: Fraction | None, *, up: bool) -> str | None:
    if ticks is None:
        return None
    whole = ceil_fraction(ticks) if up else floor_fraction(ticks)
    return market.format_price(whole) if whole > 0 else None


__all__: list[Any] = ["LiquidationOps"]
