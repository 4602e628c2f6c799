"""The engine: a deterministic state machine, `apply(command) -> events`.

A command is a mapping with an `op` (SPEC §10) and its fields, exactly as scenario files, the
service's journal and the simulator write them. Every command is validated completely before
anything changes; a refused command yields one `rejected` event naming the field and the reason
and leaves the state untouched (byte for byte: `state_hash()` is unchanged).

Determinism: no wall clock, no randomness, no iteration over unordered containers; the same
commands give the same events and state.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from solvent.engine import ledger as L
from solvent.engine.accounts import Account
from solvent.engine.book import OrderBook
from solvent.engine.errors import Rejected
from solvent.engine.fields import Fields
from solvent.engine.liquidation import LiquidationOps
from solvent.engine.margin_liquidation import MarginLiquidationOps
from solvent.engine.state import Event
from solvent.engine.timefmt import format_time, parse_time
from solvent.markets import Asset, parse_market, parse_spot_market
from solvent.money import InvalidValue


class Engine(LiquidationOps, MarginLiquidationOps):
    """All state of one venue and the operations that change it."""

    def __init__(self) -> None:
        super().__init__()
        self._handlers: dict[str, Callable[[Fields], None]] = {
            "add_asset": self._op_add_asset,
            "add_market": self._op_add_market,
            "add_fund": self._op_add_fund,
            "add_account": self._op_add_account,
            "set_policy": self._op_set_policy,
            "deposit": self._op_deposit,
            "withdraw": self._op_withdraw,
            "fund_deposit": self._op_fund_deposit,
            "mark_price": self._op_mark_price,
            "order": self._op_order,
            "cancel": self._op_cancel,
            "cancel_all": self._op_cancel_all,
            "leverage": self._op_leverage,
            "margin": self._op_margin,
            "funding": self._op_funding,
            "set_margin": self._op_set_margin,
            "index_price": self._op_index_price,
            "borrow": self._op_borrow,
            "repay": self._op_repay,
            "review": self._op_review,
        }

    # ---- the state machine -------------------------------------------------------------------
    @property
    def ops(self) -> tuple[str, ...]:
        return tuple(self._handlers)

    def apply(self, command: Mapping[str, Any]) -> list[Event]:
        """Apply one command; return the events it produced (a `rejected` event if it was refused)."""
        start = len(self.events)
        op = command.get("op") if isinstance(command, Mapping) else None
        try:
            if not isinstance(command, Mapping):
                raise Rejected("command", "expected an object")
            handler = self._handlers.get(op) if isinstance(op, str) else None
            if handler is None:
                raise Rejected("op", f"unknown op {op!r}")
            fields = Fields(command)
            when = self.now
            if command.get("time") is not None:
                when = parse_time(command["time"])
                if when < self.now:
                    raise Rejected("time", f"{format_time(when)} is before the engine's time {format_time(self.now)}")
            previous = self.now
            self.now = when
            try:
                handler(fields)
            except (Rejected, InvalidValue):
                self.now = previous
                del self.events[start:]
                raise
        except (Rejected, InvalidValue) as refusal:
            self.emit("rejected", op=op if isinstance(op, str) else None, field=refusal.field,
                      reason=refusal.reason)
        return self.events[start:]

    def state_hash(self) -> str:
        """SHA-256 of the canonical JSON of the full state: equal hashes, equal states."""
        text = json.dumps(self.state(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    # ---- set-up ------------------------------------------------------------------------------
    def _op_add_asset(self, fields: Fields) -> None:
        name = fields.name("asset")
        if name in self.assets:
            raise Rejected("asset", f"asset {name!r} exists")
        decimals = fields.integer("decimals", default=8, low=0, high=18)
        self.assets[name] = Asset(name, decimals)
        self.emit("asset_added", asset=name, decimals=decimals)

    def _op_add_market(self, fields: Fields) -> None:
        name = fields.name("market")
        if name in self.markets or name in self.spot_markets:
            raise Rejected("market", f"market {name!r} exists")
        spec = dict(fields.raw)
        for key in ("op", "time", "market"):
            spec.pop(key, None)
        if spec.get("type") == "spot":
            try:
                pair = parse_spot_market(name, spec, self.assets)
            except InvalidValue as error:
                raise Rejected(error.field.removeprefix(f"markets.{name}."), error.reason) from None
            self.spot_markets[name] = pair
            self.books[name] = OrderBook()
            self.emit("market_added", market=name, market_type="spot", base=pair.base.name, quote=pair.quote.name)
            return
        try:
            market = parse_market(name, spec, self.assets)
        except InvalidValue as error:
            raise Rejected(error.field.removeprefix(f"markets.{name}."), error.reason) from None
        fund_asset = self.funds.get(market.fund)
        if fund_asset is not None and fund_asset != market.settle.name:
            raise Rejected("fund", f"fund {market.fund!r} holds {fund_asset}, the market settles in "
                                   f"{market.settle.name}")
        if fund_asset is None:
            self.funds[market.fund] = market.settle.name
        self.markets[name] = market
        self.books[name] = OrderBook()
        self.open_interest[name] = 0
        self.emit("market_added", market=name, fund=market.fund)

    def _op_add_fund(self, fields: Fields) -> None:
        name = fields.name("fund")
        asset = self.asset(fields)
        existing = self.funds.get(name)
        if existing is not None and existing != asset.name:
            raise Rejected("asset", f"fund {name!r} holds {existing}")
        self.funds[name] = asset.name
        self.emit("fund_added", fund=name, asset=asset.name)

    def _op_add_account(self, fields: Fields) -> None:
        name = fields.account_name("account")
        if name in self.accounts:
            raise Rejected("account", f"account {name!r} exists")
        parent = fields.optional_text("parent")
        if parent is not None:
            if parent not in self.accounts:
                raise Rejected("parent", f"unknown account {parent!r}")
            if self.accounts[parent].parent is not None:
                raise Rejected("parent", f"{parent!r} is itself a sub-account")
        self.accounts[name] = Account(name, parent)
        self.emit("account_added", account=name, parent=parent)

    def _op_set_policy(self, fields: Fields) -> None:
        raw = dict(fields.raw)
        for key in ("op", "time"):
            raw.pop(key, None)
        try:
            self.policy = self.policy.updated(raw)
        except InvalidValue as error:
            raise Rejected(error.field, error.reason) from None
        self.emit("policy", **self.policy.describe())

    # ---- money in and out --------------------------------------------------------------------
    def _op_deposit(self, fields: Fields) -> None:
        name = fields.account_name("account")
        if fields.raw.get("margin_account") is not None:
            return self.margin_deposit(self.accounts.get(name) or Account(name), fields)
        asset = self.asset(fields)
        amount = asset.units("amount", fields.require("amount"))
        if name not in self.accounts:
            self.accounts[name] = Account(name)
        self.transfer(L.EXTERNAL, L.trader(name), asset.name, amount, "deposit", name)
        self.emit("deposit", account=name, asset=asset.name, amount=asset.format(amount))

    def _op_withdraw(self, fields: Fields) -> None:
        account = self.account(fields)
        if fields.raw.get("margin_account") is not None:
            return self.margin_withdraw(account, fields)
        asset = self.asset(fields)
        amount = asset.units("amount", fields.require("amount"))
        free = self.free(account, asset.name)
        if amount > free:
            raise Rejected("amount", f"exceeds the free balance {asset.format(max(free, 0))} {asset.name}")
        self.check_withdraw_block(account, asset.name, amount)
        self.transfer(L.trader(account.id), L.EXTERNAL, asset.name, amount, "withdraw", account.id)
        self.emit("withdraw", account=account.id, asset=asset.name, amount=asset.format(amount))

    def _op_fund_deposit(self, fields: Fields) -> None:
        name = fields.text("fund")
        asset_name = self.funds.get(name)
        if asset_name is None:
            raise Rejected("fund", f"unknown fund {name!r}")
        asset = self.assets[asset_name]
        amount = asset.units("amount", fields.require("amount"))
        self.transfer(L.EXTERNAL, L.fund(name), asset_name, amount, "injection", "operator")
        self.fund_event(name, amount, "injection", "operator")

    # ---- prices ------------------------------------------------------------------------------
    def _op_mark_price(self, fields: Fields) -> None:
        market = self.market(fields)
        price = market.price_ticks("price", fields.require("price"))
        self.marks[market.name] = price
        self.emit("mark_price", market=market.name, price=market.format_price(price))
        self.check_liquidations(market)
