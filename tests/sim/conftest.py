"""Small, fast simulation configs for the simulator tests."""

from __future__ import annotations

from typing import Any

import pytest

from solvent.sim.config import merged

#: a Black-Thursday-style day at 60 s steps with a few hundred traders: runs in well under a second
CRASH: dict[str, Any] = {
    "name": "test-crash",
    "seed": 1,
    "fund": "20000",
    "path": {"kind": "reconstruction", "event": "2020-03-12", "step_s": 120},
    "population": {"traders": 300, "size_median": 0.3, "leverage": [5, 10, 20, 25, 50, 100],
                   "leverage_weights": [0.1, 0.3, 0.3, 0.1, 0.15, 0.05], "entry_spread": 0.02, "entry_levels": 41},
    "makers": {"count": 2, "levels": 5, "depth": 0.5, "thinning": 1.5, "calm_vol": 0.5, "stub_offset": 0.06,
               "stub_depth": 200},
    "feedback": {"impact": 0.5, "max_impact": 0.05},
    "policy": {"preset": "binance"},
    "sweep": {"paths": 3, "adl_target": 0.0, "funds": ["1000"], "grid": {}},
}


@pytest.fixture
def crash_config() -> dict[str, Any]:
    return merged(CRASH)
