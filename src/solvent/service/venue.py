"""The service's state machine: the engine plus what the service itself keeps (API keys, the results of
client order ids, per-account histories), all changed only by journaled commands.

`Venue.apply(seq, command)` is deterministic like the engine: replaying the journal gives the same
venue, so a snapshot is simply a pickle of it. Commands with op `api_key` and `revoke_api_key` are
the service's own; every other op goes to the engine.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from solvent.engine.core import Engine
from solvent.engine.errors import Rejected
from solvent.engine.fields import Fields

Event = dict[str, Any]
log = logging.getLogger("solvent.service")

ROLES = ("trader", "operator")
SERVICE_OPS = ("api_key", "revoke_api_key")

#: history kinds a trader can read about its own accounts, and the event types that feed them
HISTORY_KINDS: dict[str, tuple[str, ...]] = {
    "trades": ("trade",),
    "liquidations": ("liquidation", "backstop", "margin_liquidation"),
    "adl": ("adl",),
    "clearance_fees": ("margin_liquidation",),
}
_KIND_OF: dict[str, list[str]] = {}
for _kind, _types in HISTORY_KINDS.items():
    for _type in _types:
        _KIND_OF.setdefault(_type, []).append(_kind)
_ACCOUNT_FIELDS = ("account", "taker", "maker")
#: public event types streamed live
PUBLIC_STREAM_TYPES = ("fund", "liquidation", "adl", "socialized_loss", "margin_liquidation", "backstop")


@dataclass(slots=True)
class ApiKey:
    key: str
    role: str
    account: str | None
    secret_sha256: str
    active: bool = True


@dataclass(slots=True)
class Result:
    """What one command produced: its journal seq, its events, and whether it was answered from an
    earlier command with the same client order id (nothing new was booked)."""

    seq: int
    events: list[Event]
    duplicate: bool = False

    @property
    def rejection(self) -> Event | None:
        return next((event for event in self.events if event["type"] == "rejected"), None)


@dataclass
class Venue:
    engine: Engine = field(default_factory=Engine)
    keys: dict[str, ApiKey] = field(default_factory=dict)
    #: (account, client order id) -> the events of the order command that used it
    orders: dict[tuple[str, str], list[Event]] = field(default_factory=dict)
    #: account -> kind -> events (see HISTORY_KINDS)
    history: dict[str, dict[str, list[Event]]] = field(default_factory=dict)
    #: journal seq of the last command applied
    seq: int = 0

    def apply(self, seq: int, command: Mapping[str, Any]) -> Result:
        """Apply the journaled command number `seq` (seqs are consecutive from 1)."""
        if seq != self.seq + 1:
            raise RuntimeError(f"journal seq {seq} after {self.seq}: a command is missing")
        self.seq = seq
        op = command.get("op")
        if op in SERVICE_OPS:
            return Result(seq, [self._service_op(command)])
        previous = self.order_result(command)
        if previous is not None:
            return Result(seq, previous, duplicate=True)
        try:
            events = self.engine.apply(command)
        except Exception as error:  # an engine bug must not stop the writer; replay meets it the same way
            log.exception("engine error on journal seq %s", seq)
            events = [{"type": "rejected", "op": op, "field": "command", "internal": True,
                       "reason": f"internal error ({type(error).__name__})"}]
        if op == "order" and isinstance(command.get("id"), str) and not _rejected(events):
            self.orders[(str(command["account"]), command["id"])] = events
        self._index(events)
        return Result(seq, events)

    def order_result(self, command: Mapping[str, Any]) -> list[Event] | None:
        """The events of an earlier order with this command's account and client order id, if any."""
        if command.get("op") != "order" or not isinstance(command.get("id"), str):
            return None
        return self.orders.get((str(command.get("account")), command["id"]))

    def state_hash(self) -> str:
        """The engine's state hash combined with the service's own state (keys)."""
        keys = json.dumps([[k.key, k.role, k.account, k.secret_sha256, k.active] for k in self.keys.values()])
        return hashlib.sha256((self.engine.state_hash() + keys).encode()).hexdigest()

    def owns(self, key: ApiKey, account: str) -> bool:
        """A trader key acts on its account and on the sub-accounts whose parent that account is."""
        if key.account is None:
            return False
        if account == key.account:
            return True
        known = self.engine.accounts.get(account)
        return known is not None and known.parent == key.account

    def history_of(self, account: str, kind: str) -> list[Event]:
        return self.history.get(account, {}).get(kind, [])

    # ---- internals -----------------------------------------------------------------------------
    def _service_op(self, command: Mapping[str, Any]) -> Event:
        fields = Fields(command)
        op = command["op"]
        try:
            key = fields.name("key")
            if op == "revoke_api_key":
                if key not in self.keys:
                    raise Rejected("key", f"unknown key {key!r}")
                self.keys[key].active = False
                return {"type": "api_key_revoked", "key": key}
            if key in self.keys:
                raise Rejected("key", f"key {key!r} exists")
            role = fields.choice("role", ROLES)
            account = fields.optional_text("account")
            if role == "trader" and account is None:
                raise Rejected("account", "a trader key belongs to an account")
            if role == "trader" and account is not None:
                account = fields.account_name("account")
            digest = fields.text("secret_sha256")
            self.keys[key] = ApiKey(key, role, account if role == "trader" else None, digest)
            return {"type": "api_key", "key": key, "role": role, "account": self.keys[key].account}
        except Rejected as refusal:
            return {"type": "rejected", "op": op, "field": refusal.field, "reason": refusal.reason}

    def _index(self, events: Iterable[Event]) -> None:
        for event in events:
            for kind in _KIND_OF.get(event["type"], ()):
                entry = _clearance_fee(event) if kind == "clearance_fees" else event
                for name in dict.fromkeys(event[key] for key in _ACCOUNT_FIELDS if isinstance(event.get(key), str)):
                    self.history.setdefault(name, {}).setdefault(kind, []).append(entry)


def _clearance_fee(event: Event) -> Event:
    """A margin liquidation's clearance fee (SPEC §9): the rate, what was paid and what stayed unpaid."""
    keys = ("seq", "time", "id", "account", "margin_account", "margin_kind", "assets_value", "clearance_fee_rate",
            "clearance_fee", "clearance_fee_unpaid")
    return {"type": "clearance_fee", **{key: event.get(key) for key in keys}}


def _rejected(events: list[Event]) -> bool:
    return any(event["type"] == "rejected" for event in events)


def replay(commands: Iterable[tuple[int, str]], venue: Venue | None = None) -> Venue:
    """Apply journaled (seq, JSON) commands to `venue` (a fresh one by default)."""
    venue = venue if venue is not None else Venue()
    for seq, text in commands:
        venue.apply(seq, json.loads(text))
    return venue
