"""Typed, validated access to a command's fields; every failure names the field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from solvent.engine.errors import Rejected

_NAME = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
_ACCOUNT = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_MISSING = object()


class Fields:
    __slots__ = ("raw",)

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw

    def require(self, key: str) -> Any:
        value = self.raw.get(key, _MISSING)
        if value is _MISSING or value is None:
            raise Rejected(key, "missing field")
        return value

    def text(self, key: str) -> str:
        value = self.require(key)
        if not isinstance(value, str) or not value:
            raise Rejected(key, f"expected a non-empty string, got {value!r}")
        return value

    def optional_text(self, key: str) -> str | None:
        if self.raw.get(key) is None:
            return None
        return self.text(key)

    def name(self, key: str) -> str:
        """An identifier: 1–64 of letters, digits and _ . : -"""
        value = self.text(key)
        if not _NAME.match(value):
            raise Rejected(key, f"not a valid name (1-64 of letters, digits, _ . : -): {value!r}")
        return value

    def account_name(self, key: str) -> str:
        """An account id: like a name but without ':' (ledger account names are built from it)."""
        value = self.text(key)
        if not _ACCOUNT.match(value):
            raise Rejected(key, f"not a valid account id (1-64 of letters, digits, _ . -): {value!r}")
        return value

    def integer(self, key: str, *, default: int | None = None, low: int | None = None,
                high: int | None = None) -> int:
        value = self.raw.get(key)
        if value is None:
            if default is None:
                raise Rejected(key, "missing field")
            return default
        if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 20:
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise Rejected(key, f"expected an integer, got {value!r}")
        if low is not None and value < low:
            raise Rejected(key, f"must be at least {low}, got {value}")
        if high is not None and value > high:
            raise Rejected(key, f"must be at most {high}, got {value}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise Rejected(key, f"expected true or false, got {value!r}")
        return value

    def choice(self, key: str, options: tuple[str, ...], default: str | None = None) -> str:
        value = self.raw.get(key)
        if value is None:
            if default is None:
                raise Rejected(key, "missing field")
            return default
        if value not in options:
            raise Rejected(key, f"must be one of {', '.join(options)}, got {value!r}")
        return str(value)
