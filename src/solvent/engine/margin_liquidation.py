"""Forced liquidation of margin accounts and the Margin Insurance Fund (SPEC §9, seed 003).

A margin account whose level is at or below its kind's `liquidation_level` at an index-price step
(or after one of its spot trades) is liquidated:

1. its open spot orders are cancelled and interest is brought up to now;
2. the liquidated assets are snapshotted at the index prices: the clearance fee is
   `ceil(rate·value)` USDT (cross 2%, cross_pro 3%, isolated 2%);
3. every asset beyond what repays a debt in the same asset is sold for USDT: through the
   `<ASSET>/USDT` spot book, never below `index·(1 − slippage)`, and what the book does not take is
   sold to the liquidation desk at exactly that price;
4. the fee is taken from the USDT proceeds first, for the Margin Insurance Fund `margin:USDT`;
5. debts are repaid from what the account holds in their asset, then the other debts are bought with
   the USDT left (the book up to `index·(1 + slippage)`, then the desk at that price);
6. debt still owed is a bankruptcy, one per asset, valued in USDT at the index: if the account's total
   is ≤ `auto_repay_btc` BTC (0.1) the fund `margin:<ASSET>` repays it at once; otherwise, or if the
   fund holds too little, it waits for an operator's `review` (approve: the fund repays; reject: it
   does not, and the lender carries the loss). The debt leaves the account either way, so it is not
   liquidated again. A fee the proceeds could not pay counts in the bankrupt amount too.

Everything is recorded: a `margin_liquidation` event per liquidation (the snapshot, fee, repayments,
bankrupt amount) kept in `margin_liquidations`, from which the per-account liquidation history and
clearance-fee history are read.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from solvent.engine import ledger as L
from solvent.engine.accounts import Account
from solvent.engine.book import BUY, SELL
from solvent.engine.borrowing import Bankruptcy, level_text, margin_fund
from solvent.engine.lending import MarginAccount, hour_of, value_units
from solvent.engine.spot import SpotOps
from solvent.margin_settings import VALUATION
from solvent.markets import SpotMarket
from solvent.money import ceil_fraction, floor_fraction, format_fraction


class MarginLiquidationOps(SpotOps):
    """Mixin of `Engine`: margin calls, forced liquidation, bankruptcies."""

    def index_step(self, asset: str, price: Fraction) -> None:
        """After an index move: check exactly the margin accounts whose trigger it crossed, those booked
        on since the last step, and, in a new hour (interest moved), every account with loans
        (`margin_index`). Accounts whose orders a liquidation filled are checked in turn (cascades)."""
        index = self.margin_index
        hour = hour_of(self.now)
        if index.hour != hour:
            index.hour = hour
            keys = {(account.id, name) for account in self.accounts.values()
                    for name, margin in account.margin.items() if margin.loans}
            index.crossed(asset, price)
        else:
            keys = index.crossed(asset, price)
        self._check_keys(keys)
        if self.verify_index:
            self._verify_margin_index()

    def check_margin_accounts(self, accounts: set[str]) -> None:
        """Check every margin account of these accounts exactly (after their spot trades)."""
        self._check_keys({(name, margin) for name in accounts for margin in self.accounts[name].margin})

    def _check_keys(self, keys: set[tuple[str, str]]) -> None:
        index = self.margin_index
        keys |= index.dirty
        while keys:
            index.dirty.clear()
            for account_name, margin_name in sorted(keys):
                account = self.accounts[account_name]
                margin = account.margin.get(margin_name)
                if margin is not None:
                    self._check_margin(account, margin)
            # what the checks booked on (liquidations and the orders they filled) is checked again
            keys = set(index.dirty)
            for account_name, margin_name in keys:
                margin = self.accounts[account_name].margin.get(margin_name)
                if margin is not None and not margin.loans:
                    index.disarm((account_name, margin_name))
            keys = {key for key in keys if (margin := self.accounts[key[0]].margin.get(key[1])) is not None
                    and margin.loans}
            # an account that stays clean after its check is armed; a dirty one goes round again
        index.dirty.clear()

    def _arm(self, account: Account, margin: MarginAccount) -> None:
        """Arm the account's triggers against the next threshold it can reach (`margin_index`); while it
        is called, also where one asset's move alone would lift it back above the call level."""
        key = (account.id, margin.name)
        if not margin.loans:
            self.margin_index.disarm(key)
            return
        settings = self.margin_settings
        call = settings.ladder[margin.kind]["margin_call"]
        threshold = settings.liquidation_level[margin.kind] if margin.called else call
        assets, liabilities = self.margin_values(margin)
        triggers = []
        rates = self._exposures(margin, threshold)
        slack = assets - threshold * liabilities
        for asset, rate in rates:
            current = self.index_of(asset)
            assert current is not None
            move = slack / (len(rates) * abs(rate))
            triggers.append((asset, -1, current - move) if rate > 0 else (asset, 1, current + move))
        if margin.called:
            short = call * liabilities - assets
            for asset, rate in self._exposures(margin, call):
                current = self.index_of(asset)
                assert current is not None
                triggers.append((asset, 1, current + short / rate) if rate > 0 else
                                (asset, -1, current - short / -rate))
        self.margin_index.arm(key, triggers)

    def _exposures(self, margin: MarginAccount, level: Fraction) -> list[tuple[str, Fraction]]:
        """Per priced asset X: d(assets − level·liabilities)/d(index of X), in USDT units per USDT of price."""
        usdt = self.assets[VALUATION].decimals
        held = self.holdings(margin.holder)
        out = []
        for asset in sorted(set(held) | set(margin.loans)):
            if asset == VALUATION:
                continue
            owed = self.owed(margin.loans[asset], asset) if asset in margin.loans else 0
            rate = (held.get(asset, 0) - level * owed) * Fraction(10**usdt, 10**self.assets[asset].decimals)
            if rate:
                out.append((asset, rate))
        return out

    def _verify_margin_index(self) -> None:
        """Tests: after an index step no margin account with loans is at or below its liquidation level."""
        for account in self.accounts.values():
            for margin in account.margin.values():
                level = self.level(margin) if margin.loans else None
                if level is not None and level <= self.margin_settings.liquidation_level[margin.kind]:
                    raise AssertionError(f"margin index missed {account.id} {margin.name} at level {level}")

    def _check_margin(self, account: Account, margin: MarginAccount) -> set[str]:
        level = self.level(margin) if margin.loans else None
        if level is None:
            margin.called = False
            self.margin_index.disarm((account.id, margin.name))
            return set()
        settings = self.margin_settings
        if level <= settings.liquidation_level[margin.kind]:
            return self.liquidate_margin(account, margin, level)
        if level <= settings.ladder[margin.kind]["margin_call"]:
            if not margin.called:
                margin.called = True
                self.emit("margin_call", account=account.id, margin_account=margin.name, level=level_text(level))
        else:
            margin.called = False
        self._arm(account, margin)
        return set()

    # ---- the liquidation ---------------------------------------------------------------------------
    def liquidate_margin(self, account: Account, margin: MarginAccount, level: Fraction) -> set[str]:
        """Liquidate one margin account (module docstring); returns the accounts whose orders it filled."""
        usdt = self.assets[VALUATION]
        settings = self.margin_settings
        ref = f"ML{len(self.margin_liquidations) + 1}"
        self.cancel_spot_orders(account, margin.name, "margin_liquidation")
        hour = hour_of(self.now)
        for asset, loan in margin.loans.items():
            loan.settle_to(hour, self.daily_rate(asset))
        snapshot = self.holdings(margin.holder)
        assets_value, liabilities_value = self.margin_values(margin)
        rate = settings.clearance_fee[margin.kind]
        fee_due = ceil_fraction(assets_value * rate)
        debts_before = {asset: loan.principal + loan.interest for asset, loan in margin.loans.items()}
        makers: set[str] = set()

        for asset in list(snapshot):
            if asset != VALUATION:
                excess = self.ledger.balance(margin.holder, asset) - debts_before.get(asset, 0)
                if excess > 0:
                    makers |= self._liquidation_sell(account, margin, asset, excess, ref)

        fee_paid = min(fee_due, self.ledger.balance(margin.holder, VALUATION))
        if fee_paid:
            fund = self.ensure_margin_fund(VALUATION)
            self.transfer(margin.holder, L.fund(fund), VALUATION, fee_paid, "clearance_fee", ref)
            self.fund_event(fund, fee_paid, "clearance_fee", ref)

        repaid: dict[str, int] = {}
        for asset in sorted(margin.loans):
            self._repay_from_holdings(margin, asset, ref, repaid)
        for asset in sorted(margin.loans):
            if asset != VALUATION:
                loan = margin.loans[asset]
                makers |= self._liquidation_buy(account, margin, asset, loan.principal + loan.interest, ref)
                self._repay_from_holdings(margin, asset, ref, repaid)

        fee_unpaid = fee_due - fee_paid
        bankrupt = self._bankruptcies(account, margin, ref, fee_unpaid)
        if fee_unpaid:
            self.unpaid_fees[account.id] = self.unpaid_fees.get(account.id, 0) + fee_unpaid
        bankrupt_usdt = sum(b.amount_usdt for b in bankrupt) + fee_unpaid
        event = self.emit(
            "margin_liquidation", id=ref, account=account.id, margin_account=margin.name, margin_kind=margin.kind,
            level=level_text(level),
            snapshot={asset: self.assets[asset].format(amount) for asset, amount in snapshot.items()},
            assets_value=usdt.format(floor_fraction(assets_value)),
            liabilities_value=usdt.format(ceil_fraction(liabilities_value)),
            debts={asset: self.assets[asset].format(amount) for asset, amount in sorted(debts_before.items())},
            clearance_fee_rate=format_fraction(rate), clearance_fee=usdt.format(fee_paid),
            clearance_fee_unpaid=usdt.format(fee_unpaid),
            repaid={asset: self.assets[asset].format(amount) for asset, amount in sorted(repaid.items())},
            bankrupt_usdt=usdt.format(bankrupt_usdt),
            bankruptcies=[{"id": b.id, "asset": b.asset, "amount": self.assets[b.asset].format(b.amount),
                           "status": b.status} for b in bankrupt],
            left={asset: self.assets[asset].format(amount) for asset, amount in self.holdings(margin.holder).items()},
        )
        self.margin_liquidations.append(event)
        margin.called = False
        makers.discard(account.id)
        return makers

    def _repay_from_holdings(self, margin: MarginAccount, asset: str, ref: str, repaid: dict[str, int]) -> None:
        loan = margin.loans.get(asset)
        if loan is None:
            return
        pay = min(self.ledger.balance(margin.holder, asset), loan.principal + loan.interest)
        if pay > 0:
            self.pay_loan(margin, asset, pay, margin.holder, ref)
            repaid[asset] = repaid.get(asset, 0) + pay

    def _pair(self, asset: str) -> SpotMarket | None:
        """The spot pair `<asset>/USDT`, if the venue lists one (the first by name)."""
        for name in sorted(self.spot_markets):
            market = self.spot_markets[name]
            if market.base.name == asset and market.quote.name == VALUATION:
                return market
        return None

    def _liquidation_sell(self, account: Account, margin: MarginAccount, asset: str, amount: int,
                          ref: str) -> set[str]:
        """Sell `amount` units of `asset` for USDT: book bids down to index·(1−s), the rest to the desk at
        that price. Returns the accounts whose orders were filled."""
        index = self.index_of(asset)
        assert index is not None
        price = index * (1 - self.margin_settings.slippage)
        makers: set[str] = set()
        market = self._pair(asset)
        if market is not None:
            lots = amount // market.base_per_lot
            limit = ceil_fraction(price / Fraction(market.tick_size))
            fills, _ = self.books[market.name].plan(SELL, limit, lots, account.id) if lots else ([], False)
            self.books[market.name].execute(fills)
            for maker, filled in fills:
                self.spot_fill(market, account, margin.holder, ref, SELL, maker, filled, 0, "margin_liquidation")
                makers.add(maker.account)
                amount -= market.base_units(filled)
        if amount > 0:
            spec, usdt = self.assets[asset], self.assets[VALUATION]
            proceeds = floor_fraction(value_units(amount, spec.decimals, price, usdt.decimals))
            self.transfer(margin.holder, L.DESK, asset, amount, "margin_liquidation", ref)
            self.transfer(L.DESK, margin.holder, VALUATION, proceeds, "margin_liquidation", ref)
            self.emit("margin_conversion", id=ref, account=account.id, margin_account=margin.name, side="sell",
                      asset=asset, amount=spec.format(amount), price=format_fraction(price, 18),
                      usdt=usdt.format(proceeds))
        return makers

    def _liquidation_buy(self, account: Account, margin: MarginAccount, asset: str, need: int, ref: str) -> set[str]:
        """Buy up to `need` units of `asset` with the USDT the account holds: book asks up to
        index·(1+s), then the desk at that price. Returns the accounts whose orders were filled."""
        index = self.index_of(asset)
        assert index is not None
        price = index * (1 + self.margin_settings.slippage)
        budget = self.ledger.balance(margin.holder, VALUATION)
        makers: set[str] = set()
        market = self._pair(asset)
        if market is not None and need > 0 and budget > 0:
            lots = -(-need // market.base_per_lot)
            limit = floor_fraction(price / Fraction(market.tick_size))
            planned, _ = self.books[market.name].plan(BUY, limit, lots, account.id)
            fills = []
            left = budget
            for maker, filled in planned:
                per_lot = market.quote_units(1, maker.price)
                take = min(filled, left // per_lot)
                if take:
                    fills.append((maker, take))
                    left -= take * per_lot
                if take < filled:
                    break
            self.books[market.name].execute(fills)
            for maker, filled in fills:
                self.spot_fill(market, account, margin.holder, ref, BUY, maker, filled, 0, "margin_liquidation")
                makers.add(maker.account)
                need -= market.base_units(filled)
        budget = self.ledger.balance(margin.holder, VALUATION)
        if need > 0 and budget > 0:
            spec, usdt = self.assets[asset], self.assets[VALUATION]
            per_unit = value_units(1, spec.decimals, price, usdt.decimals)
            take = min(need, floor_fraction(budget / per_unit))
            cost = ceil_fraction(take * per_unit)
            if take > 0:
                self.transfer(L.DESK, margin.holder, asset, take, "margin_liquidation", ref)
                self.transfer(margin.holder, L.DESK, VALUATION, cost, "margin_liquidation", ref)
                self.emit("margin_conversion", id=ref, account=account.id, margin_account=margin.name, side="buy",
                          asset=asset, amount=spec.format(take), price=format_fraction(price, 18),
                          usdt=usdt.format(cost))
        return makers

    def _bankruptcies(self, account: Account, margin: MarginAccount, ref: str, fee_unpaid: int) -> list[Bankruptcy]:
        """Turn the debt left after the sale into bankruptcies; repay them from the fund at once when the
        bankrupt amount (debts + unpaid fee) is within the automatic threshold and the funds hold enough,
        else queue them for review."""
        usdt = self.assets[VALUATION]
        out: list[Bankruptcy] = []
        for asset in sorted(margin.loans):
            loan = margin.loans[asset]
            index = self.index_of(asset)
            assert index is not None
            value = ceil_fraction(value_units(loan.principal + loan.interest, self.assets[asset].decimals, index,
                                              usdt.decimals))
            out.append(Bankruptcy(id=f"MB{len(self.margin_bankruptcies) + len(out) + 1}", account=account.id,
                                  margin_account=margin.name, asset=asset, principal=loan.principal,
                                  interest=loan.interest, amount_usdt=value, status="pending", time=self.now,
                                  liquidation=ref))
        margin.loans.clear()
        if not out:
            return out
        self.margin_bankruptcies.extend(out)
        limit = self.auto_repay_limit_usdt()
        total = sum(b.amount_usdt for b in out) + fee_unpaid
        needed: dict[str, int] = {}
        for bankruptcy in out:
            needed[bankruptcy.asset] = needed.get(bankruptcy.asset, 0) + bankruptcy.amount
        short = [asset for asset, amount in sorted(needed.items())
                 if self.ledger.balance(L.fund(margin_fund(asset)), asset) < amount]
        if limit is None:
            reason = "no BTC index price to compare with the automatic threshold: manual review"
        elif total > limit:
            reason = "above the automatic threshold: manual review"
        elif short:
            reason = f"fund {margin_fund(short[0])} holds too little: manual review"
        else:
            reason = ""
        for bankruptcy in out:
            if not reason:
                self.fund_repays(bankruptcy)
                bankruptcy.status = "repaid"
            else:
                bankruptcy.reason = reason
            self.emit("margin_bankruptcy", **self.bankruptcy_view(bankruptcy), reason=reason or "automatic repayment")
        return out

    # ---- histories -----------------------------------------------------------------------------------
    def margin_liquidation_history(self, account: str) -> list[dict[str, Any]]:
        return [event for event in self.margin_liquidations if event["account"] == account]

    def clearance_fee_history(self, account: str) -> list[dict[str, Any]]:
        return [{"time": event["time"], "liquidation": event["id"], "margin_account": event["margin_account"],
                 "rate": event["clearance_fee_rate"], "assets_value": event["assets_value"],
                 "fee": event["clearance_fee"], "unpaid": event["clearance_fee_unpaid"]}
                for event in self.margin_liquidations if event["account"] == account]
