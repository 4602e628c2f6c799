"""Spot pairs (SPEC §9): orders from margin accounts, matched in the pair's own book.

A spot order names the margin account it trades from (`margin_account`); it must hold what the
order may spend: a buy its notional and taker fee for what fills now plus notional and maker fee for
what rests; a sell the base it sells. Nothing is borrowed implicitly: `borrow` first. A fill moves
base one way and quote the other between the two margin accounts, and each side's fee (quote, on the
notional, rounded up) goes to the fee account. Orders are validated whole before anything changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from solvent.engine import ledger as L
from solvent.engine.accounts import Account, SpotOrder
from solvent.engine.book import BUY, RestingOrder
from solvent.engine.borrowing import MarginOps
from solvent.engine.errors import Rejected
from solvent.engine.order_terms import SIDE_NAMES, client_order_id, order_status, order_terms
from solvent.money import ceil_fraction

if TYPE_CHECKING:
    from solvent.engine.fields import Fields
    from solvent.markets import SpotMarket

_SIDE_NAMES = SIDE_NAMES


class SpotOps(MarginOps):
    """Mixin of `Engine`: spot orders and fills."""

    def _spot_order(self, fields: Fields, market: SpotMarket) -> None:
        account = self.account(fields)
        for key in ("margin_mode", "leverage", "reduce_only"):
            if fields.raw.get(key) not in (None, False):
                raise Rejected(key, "a spot order trades from a margin account: give margin_account, not " + key)
        if fields.raw.get("margin_account") is None:
            raise Rejected("margin_account", "a spot order trades from a margin account: missing field")
        margin = self._margin_account(account, fields)
        if margin.pair is not None and margin.pair != market.name:
            raise Rejected("market", f"{margin.name} trades only {margin.pair}")
        for held in (market.base.name, market.quote.name):
            if self.index_of(held) is None:
                raise Rejected("market", f"no index price for {held}: a margin account holds only assets it can "
                                         f"value")
        side, kind, qty, tif, price = order_terms(fields, market)
        oid = client_order_id(fields, account, market.name, self.order_seq + 1)

        book = self.books[market.name]
        fills, self_trade = book.plan(side, price, qty, account.id)
        filled = sum(lots for _, lots in fills)
        if tif == "post_only" and (fills or self_trade):
            raise Rejected("tif", "post-only order would take liquidity")
        event: dict[str, Any] = {
            "account": account.id, "market": market.name, "margin_account": margin.name, "id": oid,
            "side": _SIDE_NAMES[side], "order_type": kind, "tif": tif,
            "price": None if price is None else market.format_price(price), "qty": market.format_qty(qty),
        }
        if tif == "fok" and filled < qty:
            account.used_ids.add(oid)
            self.order_seq += 1
            reason = "self-trade prevented" if self_trade else "not fully fillable"
            self.emit("order", **event, status="expired", filled="0", resting="0", reason=reason)
            return
        rest = qty - filled if tif in ("gtc", "post_only") and not self_trade else 0
        if side == BUY:
            needed = sum(self._notional_with_fee(market, lots, maker.price, market.taker_fee) for maker, lots in fills)
            if rest:
                assert price is not None
                needed += self._notional_with_fee(market, rest, price, market.maker_fee)
            asset = market.quote
        else:
            needed = market.base_units(filled + rest)
            asset = market.base
        available = self.margin_available(account, margin, asset.name)
        if needed > available:
            raise Rejected("qty", f"{margin.name} holds {asset.format(max(available, 0))} {asset.name} free, the "
                                  f"order needs {asset.format(needed)} (borrow first)")

        # ---- commit: nothing below refuses ----
        account.used_ids.add(oid)
        self.order_seq += 1
        status = order_status(qty, filled, rest)
        extra = {}
        if qty - filled > rest:
            extra["reason"] = "self-trade prevented" if self_trade else ("no liquidity" if price is None else tif)
        self.emit("order", **event, status=status, filled=market.format_qty(filled), resting=market.format_qty(rest),
                  **extra)
        book.execute(fills)
        touched = {account.id}
        for maker, lots in fills:
            self.spot_fill(market, account, margin.holder, oid, side, maker, lots, market.taker_fee)
            touched.add(maker.account)
        if rest:
            assert price is not None
            order = SpotOrder(market.name, margin.name, oid, account.id, side, price, rest, self.order_seq)
            book.rest(order)
            account.spot_orders[oid] = order
        self.check_margin_accounts(touched)

    @staticmethod
    def _notional_with_fee(market: SpotMarket, lots: int, price: int, rate: Any) -> int:
        notional = market.quote_units(lots, price)
        return notional + ceil_fraction(notional * rate)

    def spot_fill(self, market: SpotMarket, taker: Account, taker_holder: str, taker_oid: str, side: int,
                  maker: RestingOrder, lots: int, taker_rate: Any, reason: str = "spot_trade") -> None:
        """Settle one fill the book already applied: base and quote between the two margin accounts, and
        each side's fee. `taker_rate` is the taker's fee rate (a liquidation pays none: the clearance fee
        is its charge)."""
        assert isinstance(maker, SpotOrder)
        maker_account = self.accounts[maker.account]
        maker_holder = maker_account.margin[maker.holder_name].holder
        ref = f"{market.name}:T{self.seq + 1}"
        notional = market.quote_units(lots, maker.price)
        base = market.base_units(lots)
        buyer, seller = (taker_holder, maker_holder) if side == BUY else (maker_holder, taker_holder)
        self.transfer(buyer, seller, market.quote.name, notional, reason, ref)
        self.transfer(seller, buyer, market.base.name, base, reason, ref)
        # a fee is rounded up, but never more than the payer holds: the ceilings of a maker's partial
        # fills may add up to one unit more than its order reserved, and that unit is waived
        balance = self.ledger.balance
        taker_fee = min(ceil_fraction(notional * taker_rate), balance(taker_holder, market.quote.name))
        maker_fee = min(ceil_fraction(notional * market.maker_fee), balance(maker_holder, market.quote.name))
        self.transfer(taker_holder, L.FEES, market.quote.name, taker_fee, "trading_fee", ref)
        self.transfer(maker_holder, L.FEES, market.quote.name, maker_fee, "trading_fee", ref)
        if maker.qty == 0:
            del maker_account.spot_orders[maker.oid]
        self.last_prices[market.name] = maker.price
        quote = market.quote
        self.emit("trade", market=market.name, price=market.format_price(maker.price), qty=market.format_qty(lots),
                  taker=taker.id, taker_order=taker_oid, taker_side=_SIDE_NAMES[side],
                  taker_fee=quote.format(taker_fee), maker=maker.account, maker_order=maker.oid,
                  maker_fee=quote.format(maker_fee))

    def cancel_spot_orders(self, account: Account, holder_name: str, reason: str) -> int:
        """Cancel the open spot orders of one margin account (oldest first); returns how many."""
        orders = sorted((order for order in account.spot_orders.values() if order.holder_name == holder_name),
                        key=lambda order: order.seq)
        for order in orders:
            self.drop_order(account, order, reason)
        return len(orders)
