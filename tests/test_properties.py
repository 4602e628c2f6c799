"""Properties of the engine over random command streams (hypothesis, stateful).

After every command: every asset is conserved exactly (the sum of all accounts but `external`
equals accepted deposits minus accepted withdrawals), no balance that holds someone's money is
below zero, a refused command changed nothing. At the end: replaying the same commands in a fresh
engine gives the same events and the same state hash (determinism).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import event as note_event
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from solvent.engine.core import Engine
from solvent.markets import Asset
from tests.helpers import BTCUSDT, XBTUSD

ACCOUNTS = ("a", "b", "c", "d")
POLICIES: tuple[dict[str, Any], ...] = (
    {}, {}, {},
    {"order_price": "bankruptcy"},
    {"surplus": "capped"},
    {"fund_min_balance": "100"},
    {"max_slippage": "0.01"},
    {"shortfall": "socialize"},
    {"shortfall": "socialize", "socialize": "funding"},
    {"adl_rank": "random_start", "adl_price": "mark"},
    {"adl_rank": "pro_rata", "adl_fee": "maker"},
    {"adl_rank": "hyperliquid"},
    {"partial": "fraction", "partial_min_notional": "1000", "partial_fraction": "0.5"},
    {"partial": "tier_step"},
    {"fund_max_drawdown": "0.3", "fund_drawdown_window_s": 28800},
    {"backstop": "d", "clawback": "0.5"},
    {"preset": "hyperliquid", "partial_min_notional": "1", "backstop": "c"},
)
_NEVER_NEGATIVE = ("trader:", "isolated:", "fund:", "fees", "rounding")


def setup_commands() -> list[dict[str, Any]]:
    return [
        {"op": "add_asset", "asset": "USDT", "decimals": 2},
        {"op": "add_asset", "asset": "BTC", "decimals": 8},
        {"op": "add_market", "market": "BTCUSDT", **{**BTCUSDT, "fund_fee_share": "0.1"}},
        {"op": "add_market", "market": "XBTUSD", **XBTUSD},
        {"op": "fund_deposit", "fund": "BTCUSDT", "amount": "500"},
        {"op": "fund_deposit", "fund": "XBT", "amount": "0.01"},
    ]


def money(asset: str, units: int, decimals: int) -> str:
    return Asset(asset, decimals).format(units)


class EngineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.engine = Engine()
        self.engine.verify_index = True  # the differential test: index == full scan at every mark step
        self.commands: list[dict[str, Any]] = []
        self.checked = 0
        self.sides_before: dict[tuple[str, str], str] = {}
        self.net = {"USDT": 0, "BTC": 0}
        for command in setup_commands():
            self.apply(command)
        self.net["USDT"] += 500 * 100
        self.net["BTC"] += 10**6
        for account in ACCOUNTS:
            self.apply({"op": "deposit", "account": account, "asset": "USDT", "amount": "5000"})
            self.apply({"op": "deposit", "account": account, "asset": "BTC", "amount": "0.2"})

    def apply(self, command: dict[str, Any]) -> list[dict[str, Any]]:
        before = self.engine.state_hash()
        self.commands.append(command)
        try:
            events = self.engine.apply(command)
        except Exception:
            with open("/tmp/failing_stream.json", "w") as out:  # for a replay by hand
                json.dump(self.commands, out)
            raise
        if events and events[0]["type"] == "rejected":
            assert len(events) == 1
            assert self.engine.state_hash() == before, f"refused {command} changed the state"
        for event in events:
            if event["type"] in ("deposit", "withdraw"):
                decimals = self.engine.assets[event["asset"]].decimals
                units = Asset(event["asset"], decimals).units("amount", event["amount"])
                self.net[event["asset"]] += units if event["type"] == "deposit" else -units
        return events

    @initialize(policy=st.sampled_from(POLICIES))
    def choose_policy(self, policy: dict[str, Any]) -> None:
        """Every policy family of SPEC §8 gets random streams (the default is the most common draw)."""
        if policy:
            events = self.apply({"op": "set_policy", **policy})
            assert events[0]["type"] == "policy", events
        self.floor = {"BTCUSDT": 0, "XBT": 0}
        if "fund_min_balance" in policy:
            self.floor = {"BTCUSDT": 100 * 100, "XBT": 0}

    @rule(market=st.sampled_from(("BTCUSDT", "XBTUSD")), move=st.integers(-45, 45))
    def crash(self, market: str, move: int) -> None:
        """A fast one-sided move of the mark (up to ±45%): liquidations, fund deficits, ADL."""
        base = 7000 if market == "BTCUSDT" else 10000
        self.apply({"op": "mark_price", "market": market, "price": str(base * (100 + move) // 100)})
        self.after_mark(market)

    @rule(market=st.sampled_from(("BTCUSDT", "XBTUSD")), move=st.integers(-45, -5))
    def crash_down(self, market: str, move: int) -> None:
        """Falls are what empties funds: a second, one-sided crash rule makes them common."""
        self.crash(market, move)

    @rule(account=st.sampled_from(ACCOUNTS), depth=st.integers(5, 40), lots=st.integers(1, 50))
    def far_orders(self, account: str, depth: int, lots: int) -> None:
        """Resting orders far from the mark on both sides: liquidations that reach them fill beyond the
        bankruptcy price, so funds pay deficits (and run dry, and socialize)."""
        for side, factor in (("buy", 100 - depth), ("sell", 100 + depth)):
            self.apply({"op": "order", "account": account, "market": "BTCUSDT", "side": side,
                        "price": str(7000 * factor // 100), "qty": money("BTC", lots * 10**5, 8), "leverage": 1})

    def after_mark(self, market: str) -> None:
        spec = self.engine.markets[market]
        stuck = [(account.id, scope) for account, scope in self.engine.underwater_scopes(spec)
                 if self.engine.cooldowns.get((account.id, market), -1) <= self.engine.now]
        assert not stuck, f"underwater after the mark step: {stuck}"

    @rule(account=st.sampled_from(ACCOUNTS), usdt=st.integers(1, 5_000_00), btc=st.integers(1, 10**7))
    def deposit(self, account: str, usdt: int, btc: int) -> None:
        self.apply({"op": "deposit", "account": account, "asset": "USDT", "amount": money("USDT", usdt, 2)})
        self.apply({"op": "deposit", "account": account, "asset": "BTC", "amount": money("BTC", btc, 8)})

    @rule(account=st.sampled_from(ACCOUNTS), asset=st.sampled_from(("USDT", "BTC")), units=st.integers(1, 10**9))
    def withdraw(self, account: str, asset: str, units: int) -> None:
        decimals = self.engine.assets[asset].decimals
        self.apply({"op": "withdraw", "account": account, "asset": asset, "amount": money(asset, units, decimals)})

    @rule(account=st.sampled_from(ACCOUNTS), side=st.sampled_from(("buy", "sell")),
          offset=st.integers(-300, 300), lots=st.integers(1, 400), kind=st.sampled_from(("limit", "limit", "market")),
          tif=st.sampled_from(("gtc", "gtc", "ioc", "fok", "post_only")), reduce_only=st.booleans(),
          mode=st.sampled_from((None, None, "cross", "isolated")), leverage=st.sampled_from((None, None, 1, 5, 20, 50)))
    def order_linear(self, account: str, side: str, offset: int, lots: int, kind: str, tif: str,
                     reduce_only: bool, mode: str | None, leverage: int | None) -> None:
        command: dict[str, Any] = {"op": "order", "account": account, "market": "BTCUSDT", "side": side,
                                   "type": kind, "qty": money("BTC", lots * 10**5, 8),
                                   "reduce_only": reduce_only, "margin_mode": mode, "leverage": leverage}
        if kind == "limit":
            command["price"] = str(7000 + offset)
            command["tif"] = tif
        self.apply(command)

    @rule(account=st.sampled_from(ACCOUNTS), side=st.sampled_from(("buy", "sell")), offset=st.integers(-40, 40),
          contracts=st.integers(1, 300), mode=st.sampled_from((None, None, "cross", "isolated")),
          leverage=st.sampled_from((None, None, 2, 10, 50)))
    def order_inverse(self, account: str, side: str, offset: int, contracts: int, mode: str | None,
                      leverage: int | None) -> None:
        self.apply({"op": "order", "account": account, "market": "XBTUSD", "side": side, "type": "limit",
                    "price": str(10000 + offset * 50), "qty": str(contracts), "margin_mode": mode,
                    "leverage": leverage})

    @rule(pair=st.permutations(ACCOUNTS), side=st.sampled_from(("buy", "sell")), offset=st.integers(-300, 300),
          lots=st.integers(1, 300), market=st.sampled_from(("BTCUSDT", "XBTUSD")))
    def crossing_pair(self, pair: list[str], side: str, offset: int, lots: int, market: str) -> None:
        """A resting order and a taker from another account at the same price: a trade (if margin allows)."""
        maker, taker = pair[0], pair[1]
        other = "sell" if side == "buy" else "buy"
        if market == "BTCUSDT":
            price, qty = str(7000 + offset), money("BTC", lots * 10**5, 8)
        else:
            price, qty = str(10000 + offset * 5), str(lots)
        for account, order_side in ((maker, side), (taker, other)):
            self.apply({"op": "order", "account": account, "market": market, "side": order_side, "price": price,
                        "qty": qty})

    @rule(account=st.sampled_from(ACCOUNTS), market=st.sampled_from(("BTCUSDT", "XBTUSD")),
          half=st.booleans())
    def close_position(self, account: str, market: str, half: bool) -> None:
        """A reduce-only market order against the position (closing at whatever the book offers)."""
        position = self.engine.accounts[account].positions.get(market)
        if position is None or position.qty == 0:
            return
        lots = abs(position.qty) // 2 if half and abs(position.qty) > 1 else abs(position.qty)
        spec = self.engine.markets[market]
        self.apply({"op": "order", "account": account, "market": market, "type": "market",
                    "side": "sell" if position.qty > 0 else "buy", "qty": spec.format_qty(lots), "reduce_only": True})

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        open_orders = [(account.id, oid) for account in self.engine.accounts.values() for oid in account.orders]
        if open_orders:
            account, oid = data.draw(st.sampled_from(open_orders))
            self.apply({"op": "cancel", "account": account, "id": oid})

    @rule(offset=st.integers(-400, 400))
    def mark_linear(self, offset: int) -> None:
        self.apply({"op": "mark_price", "market": "BTCUSDT", "price": str(7000 + offset)})
        self.after_mark("BTCUSDT")

    @rule(offset=st.integers(-1500, 1500))
    def mark_inverse(self, offset: int) -> None:
        self.apply({"op": "mark_price", "market": "XBTUSD", "price": str(10000 + offset)})
        self.after_mark("XBTUSD")

    @rule(market=st.sampled_from(("BTCUSDT", "XBTUSD")), rate=st.integers(-300, 300))
    def funding(self, market: str, rate: int) -> None:
        self.apply({"op": "funding", "market": market, "rate": f"{rate / 100000:.5f}"})

    @rule(account=st.sampled_from(ACCOUNTS), units=st.integers(-50_000, 50_000))
    def isolated_margin(self, account: str, units: int) -> None:
        if units:
            self.apply({"op": "margin", "account": account, "market": "BTCUSDT", "amount": money("USDT", units, 2)})

    @rule(account=st.sampled_from(ACCOUNTS), market=st.sampled_from(("BTCUSDT", "XBTUSD")),
          leverage=st.integers(1, 60), mode=st.sampled_from(("cross", "isolated")))
    def leverage(self, account: str, market: str, leverage: int, mode: str) -> None:
        self.apply({"op": "leverage", "account": account, "market": market, "leverage": leverage,
                    "margin_mode": mode})

    @invariant()
    def conservation_is_exact(self) -> None:
        totals = self.engine.ledger.totals()
        for asset, net in self.net.items():
            assert totals.get(asset, 0) == net, (asset, totals.get(asset, 0), net)

    @invariant()
    def no_balance_below_zero(self) -> None:
        for (holder, asset), amount in self.engine.ledger.balances.items():
            if holder.startswith(_NEVER_NEGATIVE):
                assert amount >= 0, (holder, asset, amount)

    @invariant()
    def no_fund_below_its_floor(self) -> None:
        for fund, floor in getattr(self, "floor", {}).items():
            asset = self.engine.funds[fund]
            # a fund starts below the floor only if injected so; it never pays itself below it
            balance = self.engine.ledger.balance("fund:" + fund, asset)
            assert balance >= min(floor, self.lowest_allowed(fund)), (fund, balance)

    def lowest_allowed(self, fund: str) -> int:
        return min(entry_balance for _, entry_balance in self.engine.fund_book.balances.get(fund, [(0, 0)]))

    @invariant()
    def adl_closes_only_opposite_sides(self) -> None:
        new = self.engine.events[self.checked:]
        bankrupt_side = {event_["ref"]: event_["side"] for event_ in new if event_["type"] == "liquidation"}
        for event_ in new:
            if event_["type"] == "adl":
                assert event_["account"] != event_["against"]
                # the counterparty held the other side when the step began (positions move only by this step)
                assert self.sides_before.get((event_["account"], event_["market"])) != bankrupt_side[event_["ref"]]
        self.checked = len(self.engine.events)
        self.sides_before = {(account.id, market): ("long" if position.qty > 0 else "short")
                             for account in self.engine.accounts.values()
                             for market, position in account.positions.items() if position.qty}

    @invariant()
    def positions_match_open_interest(self) -> None:
        for market in self.engine.markets:
            longs = shorts = 0
            for account in self.engine.accounts.values():
                position = account.positions.get(market)
                if position is not None:
                    longs += max(position.qty, 0)
                    shorts += max(-position.qty, 0)
            assert longs == shorts == self.engine.open_interest[market]

    def teardown(self) -> None:
        kinds = {event_["type"] for event_ in self.engine.events}
        trades = sum(1 for e in self.engine.events if e["type"] == "trade")
        note_event("trades: none" if trades == 0 else "trades: 1-9" if trades < 10 else "trades: 10+")
        for kind in ("liquidation", "adl", "socialized_loss", "deficit", "backstop"):
            note_event(f"{kind}: {'yes' if kind in kinds else 'no'}")
        reasons = {e["reason"] for e in self.engine.events if e["type"] == "fund"}
        note_event(f"fund paid a deficit: {'yes' if 'liquidation_deficit' in reasons else 'no'}")
        again = Engine()
        for command in self.commands:
            again.apply(command)
        if json.dumps(again.events) != json.dumps(self.engine.events):
            with open("/tmp/nondeterministic.json", "w") as out:
                json.dump(self.commands, out)
        assert json.dumps(again.events) == json.dumps(self.engine.events)
        assert again.state_hash() == self.engine.state_hash()


EngineMachine.TestCase.settings = settings(max_examples=120, stateful_step_count=80, deadline=None,
                                           suppress_health_check=[HealthCheck.too_slow])
TestEngineProperties = EngineMachine.TestCase
