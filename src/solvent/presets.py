"""Venue presets (SPEC §8): each maps to the knobs a venue documents.

Filled in with the liquidation/fund/ADL work (issue 3); each preset's docstring cites its source.
"""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, Any]] = {}
