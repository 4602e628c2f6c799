"""Refusals: a command the engine will not apply, naming the field and the reason."""

from __future__ import annotations


class Rejected(Exception):
    """The command is refused and nothing changed; `field` names the input at fault."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
