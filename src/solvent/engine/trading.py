"""Orders, fills, fees, funding and the margin operations of traders.

Every op validates first (fields, margin) and only then changes state; settlement of a fill goes
through `_fill_position`, the only place a position changes, and through the ledger.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

from solvent.engine import ledger as L
from solvent.engine.accounts import CROSS, ISOLATED, MARGIN_MODES, Account, Order, Position, SpotOrder
from solvent.engine.book import RestingOrder
from solvent.engine.errors import Rejected
from solvent.engine.margin import (
    entry_ticks,
    fill_loss_units,
    free_units,
    initial_margin_units,
    round_ticks,
    upnl_exact,
)
from solvent.engine.order_terms import SIDE_NAMES, client_order_id, order_status, order_terms
from solvent.engine.state import EngineState
from solvent.money import ceil_fraction, ceil_times, floor_fraction, parse_fraction

if TYPE_CHECKING:
    from solvent.engine.fields import Fields
    from solvent.markets import Market

_SIDE_NAMES = SIDE_NAMES


class TradingOps(EngineState):
    """Mixin of `Engine`: order entry, matching settlement, funding, leverage and margin ops."""

    # ---- reads ---------------------------------------------------------------------------------
    def free(self, account: Account, asset: str) -> int:
        return free_units(self, account, asset)

    # ---- orders --------------------------------------------------------------------------------
    def _op_order(self, fields: Fields) -> None:
        named = fields.raw.get("market")
        pair = self.spot_markets.get(named) if isinstance(named, str) else None
        if pair is not None:
            return self._spot_order(fields, pair)
        account = self.account(fields)
        market = self.market(fields)
        side, kind, qty, tif, price = order_terms(fields, market)
        reduce_only = fields.boolean("reduce_only", False)
        current_mode, current_leverage = account.setting(market.name)
        mode = fields.choice("margin_mode", MARGIN_MODES, default=current_mode)
        leverage = fields.integer("leverage", default=current_leverage, low=1, high=market.max_leverage)
        oid = client_order_id(fields, account, market.name, self.order_seq + 1)
        position = account.positions.get(market.name)
        position_qty = position.qty if position is not None else 0
        has_orders = any(order.market == market.name for order in account.orders.values())
        if mode != current_mode and (position_qty != 0 or has_orders):
            raise Rejected("margin_mode", f"cannot switch to {mode} with an open {current_mode} position "
                                          f"or orders in {market.name}")
        if position is not None and position_qty != 0 and leverage != position.leverage:
            raise Rejected("leverage", f"the open position uses {position.leverage}x; change it with the "
                                       f"leverage op first")

        wanted = qty
        if reduce_only:
            if position_qty == 0 or (position_qty > 0) == (side > 0):
                raise Rejected("reduce_only", "no position on the other side to reduce")
            covered = sum(order.qty for order in account.orders.values()
                          if order.market == market.name and order.reduce_only)
            room = abs(position_qty) - covered
            if room <= 0:
                raise Rejected("reduce_only", "open reduce-only orders already cover the whole position")
            wanted = min(qty, room)

        book = self.books[market.name]
        fills, self_trade = book.plan(side, price, wanted, account.id)
        filled = sum(lots for _, lots in fills)
        if tif == "post_only" and (fills or self_trade):
            raise Rejected("tif", "post-only order would take liquidity")
        order_event: dict[str, Any] = {
            "account": account.id, "market": market.name, "id": oid, "side": _SIDE_NAMES[side],
            "order_type": kind, "tif": tif, "price": None if price is None else market.format_price(price),
            "qty": market.format_qty(qty), "reduce_only": reduce_only, "margin_mode": mode,
            "leverage": leverage,
        }
        if tif == "fok" and filled < wanted:
            account.used_ids.add(oid)
            self.order_seq += 1
            reason = "self-trade prevented" if self_trade else "not fully fillable"
            self.emit("order", **order_event, status="expired", filled="0", resting="0", reason=reason)
            return
        remainder = wanted - filled
        rest = remainder if tif in ("gtc", "post_only") and not self_trade else 0

        mark = self.mark(market.name)
        opens = not reduce_only and (rest > 0 or _opening_lots(position_qty, side, filled) > 0)
        if opens:
            reference = price if price is not None else (fills[-1][0].price if fills else None)
            if reference is not None:
                projected = abs(position_qty + side * (filled + rest))
                tier = market.tier_at(market.notional_units(projected, reference))
                if leverage > tier.max_leverage:
                    raise Rejected("leverage", f"{leverage}x exceeds the {tier.max_leverage}x allowed for a "
                                               f"position of {market.format_qty(projected)}")
            required = self._opening_requirement(market, side, position_qty, fills, rest, price, leverage, mark)
            free = self.free(account, market.settle.name)
            if required > free:
                asset = market.settle
                raise Rejected("qty", f"insufficient margin: the order needs {asset.format(required)} "
                                      f"{asset.name}, free is {asset.format(max(free, 0))}")

        # ---- commit: nothing below refuses ----
        account.used_ids.add(oid)
        account.settings[market.name] = (mode, leverage)
        self.order_seq += 1
        status = order_status(qty, filled, rest)
        extra: dict[str, Any] = {}
        if remainder > rest:
            extra["reason"] = ("self-trade prevented" if self_trade else
                               "no liquidity" if price is None and filled == 0 else tif)
        self.emit("order", **order_event, status=status, filled=market.format_qty(filled),
                  resting=market.format_qty(rest), **extra)
        book.execute(fills)
        touched = {account.id}
        for maker, lots in fills:
            self._trade(market, account, oid, side, mode, leverage, maker, lots)
            touched.add(maker.account)
        if rest:
            reserved = 0 if reduce_only else self._reserve(market, side, rest, price or 0, leverage, mark)
            order = Order(market.name, oid, account.id, side, price or 0, rest, self.order_seq, reduce_only,
                          mode, leverage, reserved)
            book.rest(order)
            account.orders[oid] = order
        for name in sorted(touched):
            self._trim_reduce_only(self.accounts[name], market)
        self._sweep_rounding(market)

    def _opening_requirement(self, market: Market, side: int, position_qty: int,
                             fills: list[tuple[RestingOrder, int]], rest: int, price: int | None,
                             leverage: int, mark: int | None) -> int:
        """Margin an order commits: per fill the taker fee, and for the part that opens or grows the
        position its initial margin and its loss against the mark; plus the reserve of what rests."""
        required = 0
        qty = position_qty
        for maker, lots in fills:
            fill_price = maker.price
            if market.taker_fee > 0:
                required += ceil_times(market.notional_units(lots, fill_price), market.taker_fee)
            opening = _opening_lots(qty, side, lots)
            if opening:
                required += initial_margin_units(market, opening, fill_price, leverage)
                required += fill_loss_units(market, side, opening, fill_price, mark)
            qty += side * lots
        if rest and price is not None:
            required += self._reserve(market, side, rest, price, leverage, mark)
        return required

    def _reserve(self, market: Market, side: int, lots: int, price: int, leverage: int,
                 mark: int | None) -> int:
        """Margin a resting order holds: IM of its whole quantity at its price (conservative: a resting
        order that would close is reserved too; use reduce_only for that) plus its loss against the mark."""
        return initial_margin_units(market, lots, price, leverage) + fill_loss_units(market, side, lots, price,
                                                                                     mark)

    def _trade(self, market: Market, taker: Account, taker_oid: str, side: int, mode: str,
               leverage: int, maker: RestingOrder, lots: int) -> None:
        price = maker.price
        ref = f"{market.name}:T{self.seq + 1}"
        taker_pnl = self._fill_position(taker, market, side, lots, price, mode, leverage, ref)
        taker_fee = self._charge_fee(taker, market, market.notional_units(lots, price), market.taker_fee, ref)
        maker_pnl, maker_fee = self._maker_fill(market, maker, lots, side, ref)
        settle = market.settle
        self.emit("trade", market=market.name, price=market.format_price(price), qty=market.format_qty(lots),
                  taker=taker.id, taker_order=taker_oid, taker_side=_SIDE_NAMES[side],
                  taker_fee=settle.format(taker_fee), taker_pnl=settle.format(taker_pnl),
                  maker=maker.account, maker_order=maker.oid, maker_fee=settle.format(maker_fee),
                  maker_pnl=settle.format(maker_pnl))

    def _maker_fill(self, market: Market, maker: RestingOrder, lots: int, taker_side: int, ref: str) -> tuple[int, int]:
        """The resting side of a fill the book already applied (`maker.qty` is what is left): position,
        maker fee, the order's reserve, and the order's removal once filled. Returns (realized PnL, fee)."""
        account = self.accounts[maker.account]
        price = maker.price
        pnl = self._fill_position(account, market, -taker_side, lots, price, maker.margin_mode, maker.leverage, ref)
        fee = self._charge_fee(account, market, market.notional_units(lots, price), market.maker_fee, ref)
        if maker.qty == 0:
            del account.orders[maker.oid]
        elif maker.reserved:
            maker.reserved = ceil_fraction(Fraction(maker.reserved * maker.qty, maker.qty + lots))
        self.last_prices[market.name] = price
        return pnl, fee

    def cancel_orders(self, account: Account, markets: set[str], reason: str) -> int:
        """Cancel the account's open orders in `markets` (oldest first); returns how many."""
        orders = sorted((order for order in account.orders.values() if order.market in markets), key=lambda o: o.seq)
        for order in orders:
            self.drop_order(account, order, reason)
        return len(orders)

    def _charge_fee(self, account: Account, market: Market, notional: int | Fraction, rate: Fraction,
                    ref: str) -> int:
        """Book a fee notional·rate (rate ≥ 0: paid by the trader, rounded up) or a rebate (rate < 0: paid
        out of the fee account, rounded down). A fee the wallet cannot pay is waived, never borrowed."""
        asset = market.settle.name
        wallet = L.trader(account.id)
        if rate >= 0:
            fee = min(ceil_times(notional, rate), self.ledger.balance(wallet, asset))
            self.transfer(wallet, L.FEES, asset, fee, "trading_fee", ref)
            share = floor_fraction(fee * market.fund_fee_share) if market.fund_fee_share else 0
            if share:
                self.transfer(L.FEES, L.fund(market.fund), asset, share, "fee_share", ref)
                self.fund_event(market.fund, share, "fee_share", ref)
            return fee
        rebate = min(floor_fraction(-notional * rate), self.ledger.balance(L.FEES, asset))
        self.transfer(L.FEES, wallet, asset, rebate, "maker_rebate", ref)
        return -rebate

    def _fill_position(self, account: Account, market: Market, side: int, lots: int, price: int,
                       mode: str, leverage: int, ref: str) -> int:
        """Apply one fill to an account's position: close first (realize PnL, release isolated margin),
        then open (grow cost, lock isolated margin). Returns the realized PnL booked, in units."""
        position = account.positions.get(market.name)
        if position is None:
            position = Position(market.name, mode, leverage)
            account.positions[market.name] = position
        self.index.touch(account.id)
        asset = market.settle.name
        wallet = L.trader(account.id)
        clearing = L.clearing(market.name)
        closing = 0
        if position.qty and (position.qty > 0) != (side > 0):
            closing = min(lots, abs(position.qty))
        realized = 0
        if closing:
            position_side = 1 if position.qty > 0 else -1
            before = abs(position.qty)
            cost_part = position.cost if closing == before else _whole(position.cost * Fraction(closing, before))
            if market.scale_int and type(cost_part) is int:
                realized = position_side * (closing * price - cost_part) * market.scale_int
            else:
                exact = market.direction * position_side * market.scale * (market.value(closing, price) - cost_part)
                realized = floor_fraction(Fraction(exact))
            position.qty -= position_side * closing
            position.cost = _whole(position.cost - cost_part)
            if position_side == 1:
                self.open_interest[market.name] -= closing
            holder = L.isolated(account.id, market.name) if position.mode == ISOLATED else wallet
            if realized >= 0:
                self.transfer(clearing, holder, asset, realized, "realized_pnl", ref)
            else:
                self.collect(holder, market, -realized, "realized_pnl", ref)
            if position.mode == ISOLATED:
                margin = self.ledger.balance(holder, asset)
                release = margin if position.qty == 0 else margin * closing // before
                self.transfer(holder, wallet, asset, release, "margin_release", ref)
        opening = lots - closing
        if opening:
            if position.qty == 0:
                position.mode, position.leverage, position.cost = mode, leverage, 0
            position.qty += side * opening
            position.cost += market.value(opening, price)
            if side == 1:
                self.open_interest[market.name] += opening
            if position.mode == ISOLATED:
                need = initial_margin_units(market, opening, price, position.leverage)
                available = self.ledger.balance(wallet, asset)
                self.transfer(wallet, L.isolated(account.id, market.name), asset, min(need, available),
                              "isolated_margin", ref)
        return realized

    def collect(self, debit: str, market: Market, amount: int, reason: str, ref: str) -> None:
        """Take `amount` from a trader's wallet or isolated margin into the market's clearing account.
        What the holder cannot pay is a deficit: the insurance fund covers it (never a negative balance)."""
        asset = market.settle.name
        paid = min(amount, self.ledger.balance(debit, asset))
        self.transfer(debit, L.clearing(market.name), asset, paid, reason, ref)
        if amount > paid:
            self.cover_deficit(market, amount - paid, ref)

    def cover_deficit(self, market: Market, amount: int, ref: str, reason: str = "deficit") -> int:
        """The fund pays a deficit down to its floor; returns what stays uncovered (an event says so)."""
        asset = market.settle
        fund_account = L.fund(market.fund)
        paid = min(amount, self.fund_capacity(market.fund))
        if paid:
            self.transfer(fund_account, L.clearing(market.name), asset.name, paid, reason, ref)
            self.fund_event(market.fund, -paid, reason, ref)
        uncovered = amount - paid
        if uncovered:
            self.emit("deficit", market=market.name, fund=market.fund, amount=asset.format(amount),
                      covered=asset.format(paid), uncovered=asset.format(uncovered), ref=ref)
        return uncovered

    def _sweep_rounding(self, market: Market) -> None:
        """With no open interest, what the clearing account still holds is rounding residue
        (traders' credits rounded down): book it to the rounding account (SPEC §1)."""
        if self.open_interest[market.name]:
            return
        clearing = L.clearing(market.name)
        residue = self.ledger.balance(clearing, market.settle.name)
        if residue > 0:
            self.transfer(clearing, L.ROUNDING, market.settle.name, residue, "rounding_residue", market.name)

    def _trim_reduce_only(self, account: Account, market: Market) -> None:
        """Keep resting reduce-only orders within the position they reduce: newest are cut first."""
        orders = [order for order in account.orders.values() if order.market == market.name and order.reduce_only]
        if not orders:
            return
        position = account.positions.get(market.name)
        qty = position.qty if position is not None else 0
        room = abs(qty)
        book = self.books[market.name]
        for order in sorted(orders, key=lambda o: o.seq):
            if qty == 0 or (qty > 0) == (order.side > 0) or room == 0:
                book.cancel(order)
                del account.orders[order.oid]
                self.emit("cancel", account=account.id, market=market.name, id=order.oid,
                          reason="reduce-only order no longer reduces")
            elif order.qty > room:
                book.reduce(order, room)
                self.emit("order_reduced", account=account.id, market=market.name, id=order.oid,
                          qty=market.format_qty(room), reason="reduce-only order capped at the position")
                room = 0
            else:
                room -= order.qty

    def _op_cancel(self, fields: Fields) -> None:
        account = self.account(fields)
        oid = fields.text("id")
        order = account.orders.get(oid) or account.spot_orders.get(oid)
        if order is None:
            raise Rejected("id", f"no open order {oid!r} for {account.id}")
        self.drop_order(account, order, "requested")

    def _op_cancel_all(self, fields: Fields) -> None:
        """Cancel every open order of the account (in `market` if given), oldest first; none is no error."""
        account = self.account(fields)
        name = fields.optional_text("market")
        if name is not None and name not in self.markets and name not in self.spot_markets:
            raise Rejected("market", f"unknown market {name!r}")
        markets = {name} if name is not None else set(self.markets) | set(self.spot_markets)
        orders = sorted([order for order in account.orders.values() if order.market in markets]
                        + [order for order in account.spot_orders.values() if order.market in markets],
                        key=lambda order: order.seq)
        for order in orders:
            self.drop_order(account, order, "requested")

    def drop_order(self, account: Account, order: Order | SpotOrder, reason: str) -> None:
        """Take an open order (futures or spot) out of its book and its account, with a `cancel` event."""
        self.books[order.market].cancel(order)
        del (account.orders if isinstance(order, Order) else account.spot_orders)[order.oid]
        self.emit("cancel", account=account.id, market=order.market, id=order.oid, reason=reason)

    # ---- leverage, margin mode, isolated margin ------------------------------------------------
    def _op_leverage(self, fields: Fields) -> None:
        account = self.account(fields)
        market = self.market(fields)
        current_mode, _ = account.setting(market.name)
        leverage = fields.integer("leverage", low=1, high=market.max_leverage)
        mode = fields.choice("margin_mode", MARGIN_MODES, default=current_mode)
        position = account.positions.get(market.name)
        open_qty = position.qty if position is not None else 0
        has_orders = any(order.market == market.name for order in account.orders.values())
        if mode != current_mode and (open_qty or has_orders):
            raise Rejected("margin_mode", f"cannot switch to {mode} with an open position or orders")
        if position is not None and open_qty:
            mark = self.mark(market.name) or round_ticks(entry_ticks(market, position) or 0)
            tier = market.tier_at(market.notional_units(open_qty, mark))
            if leverage > tier.max_leverage:
                raise Rejected("leverage", f"{leverage}x exceeds the {tier.max_leverage}x allowed for the "
                                           f"open position")
            previous = position.leverage
            position.leverage = leverage
            if mode == CROSS and leverage < previous and self.free(account, market.settle.name) < 0:
                position.leverage = previous
                raise Rejected("leverage", "insufficient margin for the lower leverage")
        account.settings[market.name] = (mode, leverage)
        self.emit("leverage", account=account.id, market=market.name, leverage=leverage, margin_mode=mode)

    def _op_margin(self, fields: Fields) -> None:
        account = self.account(fields)
        market = self.market(fields)
        asset = market.settle
        amount = asset.units("amount", fields.require("amount"), allow_negative=True)
        position = account.positions.get(market.name)
        if position is None or position.qty == 0 or position.mode != ISOLATED:
            raise Rejected("market", f"{account.id} has no isolated position in {market.name}")
        holder = L.isolated(account.id, market.name)
        if amount > 0:
            free = self.free(account, asset.name)
            if amount > free:
                raise Rejected("amount", f"exceeds the free balance {asset.format(max(free, 0))} {asset.name}")
            self.transfer(L.trader(account.id), holder, asset.name, amount, "isolated_margin_add", market.name)
        else:
            mark = self.mark(market.name) or round_ticks(entry_ticks(market, position) or 0)
            upnl = upnl_exact(market, position, mark)
            margin = self.ledger.balance(holder, asset.name)
            removable = margin + (floor_fraction(upnl) if upnl < 0 else 0) - initial_margin_units(
                market, position.qty, mark, position.leverage)
            if -amount > removable:
                raise Rejected("amount", f"at most {asset.format(max(removable, 0))} {asset.name} can be removed")
            self.transfer(holder, L.trader(account.id), asset.name, -amount, "isolated_margin_remove", market.name)
        self.emit("margin", account=account.id, market=market.name, amount=asset.format(amount),
                  margin=asset.format(self.ledger.balance(holder, asset.name)))

    # ---- funding -------------------------------------------------------------------------------
    def _op_funding(self, fields: Fields) -> None:
        """Every position pays q·P_mark·rate (longs pay shorts when rate > 0), from its isolated margin
        or the cross wallet; payers round up, receivers down, the difference goes to `rounding`."""
        market = self.market(fields)
        rate = parse_fraction("rate", fields.require("rate"), allow_negative=True, low=Fraction(-1),
                              high=Fraction(1))
        mark = self.mark(market.name)
        if mark is None:
            raise Rejected("market", f"{market.name} has no mark price for funding")
        self.last_funding[market.name] = _rate_text(rate)
        asset = market.settle
        ref = f"{market.name}:F{self.seq + 1}"
        due_total = 0
        paid_out = 0
        for account, position in self.open_positions(market.name):
            side = 1 if position.qty > 0 else -1
            exact = side * market.notional_units(position.qty, mark) * rate
            holder = L.isolated(account.id, market.name) if position.mode == ISOLATED else L.trader(account.id)
            if exact > 0:
                due = ceil_fraction(exact)
                due_total += due
                self.collect(holder, market, due, "funding", ref)
                amount = -due
            else:
                amount = floor_fraction(-exact)
                paid_out += amount
                self.transfer(L.clearing(market.name), holder, asset.name, amount, "funding", ref)
            self.emit("funding", account=account.id, market=market.name, rate=_rate_text(rate),
                      mark_price=market.format_price(mark), amount=asset.format(amount))
        residue = due_total - paid_out
        if residue > 0:
            self.transfer(L.clearing(market.name), L.ROUNDING, asset.name, residue, "funding_rounding", ref)
        self._charge_socialized_funding(market, ref)

    def _charge_socialized_funding(self, market: Market, ref: str) -> None:
        """Drift's mode of SPEC §7: a pending loss is charged to all open interest at the funding step,
        Δ = loss / (|long OI| + |short OI|) per lot, each position's share rounded up (a debit)."""
        pending = self.pending_socialized.pop(market.name, 0)
        interest = 2 * self.open_interest[market.name]
        if not pending or not interest:
            if pending:
                self.pending_socialized[market.name] = pending
            return
        asset = market.settle
        for account, position in self.open_positions(market.name):
            due = ceil_fraction(Fraction(pending * abs(position.qty), interest))
            holder = L.isolated(account.id, market.name) if position.mode == ISOLATED else L.trader(account.id)
            charge = min(due, self.ledger.balance(holder, asset.name))
            self.transfer(holder, L.clearing(market.name), asset.name, charge, "socialized_loss", ref)
            self.emit("socialized_loss", market=market.name, mode="funding", account=account.id,
                      amount=asset.format(charge), ref=ref)


def _whole(value: int | Fraction) -> int | Fraction:
    """An integral Fraction as an int, so linear costs stay on the integer fast path."""
    if type(value) is Fraction and value.denominator == 1:
        return value.numerator
    return value


def _opening_lots(position_qty: int, side: int, lots: int) -> int:
    """How many of `lots` traded on `side` open or grow the position (the rest close it)."""
    if position_qty == 0 or (position_qty > 0) == (side > 0):
        return lots
    return max(0, lots - abs(position_qty))


def _rate_text(rate: Fraction) -> str:
    from solvent.money import format_fraction

    return format_fraction(rate, places=18)
