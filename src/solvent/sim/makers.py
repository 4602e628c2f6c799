"""Market makers whose book thins as volatility rises.

Each maker rests a ladder on both sides of the mark: `levels` levels `spacing_bps` apart, `depth` base
units each, plus a far "stub" level at `stub_offset` (a resting order deep in the book, so a book is
rarely empty; a liquidation that reaches it fills far from its bankruptcy price and the fund pays).
With annualized volatility σ (an EWMA of the path's squared log returns, half-life `vol_halflife_s`)
above `calm_vol`, depth per level is multiplied by (calm_vol/σ)^thinning and spacing by
(σ/calm_vol)^widening: makers pull and widen quotes in a storm, as the seeds describe.

Quotes are replaced (cancel + new orders, ordinary engine commands) when the mark moved more than
`requote_move` since the last quote or a fill took some of them (but not more often than every
`requote_min_s` seconds, except between the feedback rounds of a cascade), and every `requote_s` seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from solvent.markets import Market
from solvent.sim.paths import SECONDS_PER_YEAR


def ewma_volatility(prices: np.ndarray, step_s: int, halflife_s: float, calm_vol: float) -> np.ndarray:
    """Annualized EWMA volatility at each step (seeded at `calm_vol`)."""
    returns = np.diff(np.log(prices), prepend=math.log(prices[0]))
    weight = 1 - 0.5 ** (step_s / max(halflife_s, step_s))
    variance = calm_vol**2 * step_s / SECONDS_PER_YEAR
    out = np.empty(len(prices))
    squares = returns * returns
    for i in range(len(prices)):
        variance += weight * (squares[i] - variance)
        out[i] = variance
    return np.sqrt(out * SECONDS_PER_YEAR / step_s)


@dataclass
class Makers:
    spec: dict[str, Any]
    market: Market
    names: list[str] = field(default_factory=list)
    #: order id -> (maker, lots still resting)
    live: dict[str, tuple[str, int]] = field(default_factory=dict)
    quoted_mark: int = 0
    quoted_at: int = -(10**18)
    taken: bool = False
    counter: int = 0
    depth_now: float = 0.0

    def __post_init__(self) -> None:
        self.names = [f"mm{i}" for i in range(int(self.spec["count"]))]

    def funding_commands(self, time_ms: int) -> list[dict[str, Any]]:
        return [{"op": "deposit", "account": name, "asset": self.market.settle.name,
                 "amount": str(self.spec["capital"]), "time": time_ms} for name in self.names]

    def due(self, mark: int, now_ms: int) -> bool:
        """Whether the quotes should be replaced now."""
        if not self.names:
            return False
        since = now_ms - self.quoted_at
        if since >= int(self.spec["requote_s"]) * 1000:
            return True
        if since < int(self.spec["requote_min_s"]) * 1000:
            return False
        if self.taken:
            return True
        return abs(mark - self.quoted_mark) >= float(self.spec["requote_move"]) * self.quoted_mark

    def requote(self, mark: int, volatility: float, time_ms: int) -> list[dict[str, Any]]:
        """Cancel every live quote and rest a fresh ladder around `mark`."""
        spec = self.spec
        commands: list[dict[str, Any]] = [{"op": "cancel", "account": maker, "id": oid, "time": time_ms}
                                          for oid, (maker, _) in sorted(self.live.items())]
        self.live.clear()
        calm = float(spec["calm_vol"])
        stress = max(1.0, volatility / calm)
        depth = float(spec["depth"]) * stress ** (-float(spec["thinning"]))
        spacing = float(spec["spacing_bps"]) * 1e-4 * stress ** float(spec["widening"])
        lot = float(self.market.lot_size)
        lots = max(1, round(depth / lot))
        stub_lots = max(1, round(float(spec["stub_depth"]) / lot))
        self.depth_now = lots * lot * int(spec["levels"]) * len(self.names)
        name = self.market.name
        for maker in self.names:
            for side in (1, -1):  # 1: bids below the mark, -1: asks above
                offsets = [(spacing * k, lots) for k in range(1, int(spec["levels"]) + 1)]
                offsets.append((float(spec["stub_offset"]), stub_lots))
                last = None
                for offset, size in offsets:
                    ticks = round(mark * (1 - side * offset))
                    ticks = min(ticks, mark - 1) if side > 0 else max(ticks, mark + 1)
                    if ticks <= 0 or ticks == last:
                        continue
                    last = ticks
                    self.counter += 1
                    oid = f"q{self.counter}"
                    commands.append({"op": "order", "account": maker, "market": name,
                                     "side": "buy" if side > 0 else "sell", "type": "limit",
                                     "price": self.market.format_price(ticks), "qty": self.market.format_qty(size),
                                     "margin_mode": "cross", "leverage": 1, "id": oid, "time": time_ms})
                    self.live[oid] = (maker, size)
        self.quoted_mark = mark
        self.quoted_at = time_ms
        self.taken = False
        return commands

    def observe(self, event: dict[str, Any]) -> None:
        """Follow fills and cancels of the quotes (trade, cancel and rejected events)."""
        kind = event["type"]
        if kind == "trade":
            oid = event.get("maker_order")
            if oid in self.live:
                maker, lots = self.live[oid]
                left = lots - self.market.qty_lots("qty", event["qty"])
                self.taken = True
                if left > 0:
                    self.live[oid] = (maker, left)
                else:
                    del self.live[oid]
        elif kind == "cancel":
            oid = event.get("id")
            if oid in self.live and self.live[oid][0] == event.get("account"):
                del self.live[oid]
