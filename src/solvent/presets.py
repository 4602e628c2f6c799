"""Venue presets (SPEC §8): the knobs as each venue documents them.

A preset is data: a dict of knobs that `Policy.updated` applies before a scenario's own overrides.
Each preset has a docstring-like entry in `SOURCES` naming the public documents it follows; venues
change their rules, so a preset is a starting point to override, not a claim about today's venue.
"""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    # Binance USDⓈ-M: IOC liquidation order into the book (fills may be worse than BP), the whole
    # surplus to the insurance fund, ADL ranked by unrealized PnL% × margin ratio ("LeveragePnL"),
    # ADL'd traders pay no fee and are closed at the bankrupt position's price.
    "binance": {"partial": "none", "order_price": "book", "surplus": "all", "shortfall": "adl",
                "adl_rank": "pnl_leverage", "adl_price": "bankruptcy", "adl_fee": "none"},
    # Bybit: leveled (risk-limit) partial liquidation, surplus to the fund, ADL by profit and leverage,
    # a 30% drawdown of the fund pool within 8 hours triggers ADL; ADL'd traders pay the maker fee.
    "bybit": {"partial": "tier_step", "order_price": "book", "surplus": "all", "shortfall": "adl",
              "adl_rank": "pnl_leverage", "adl_price": "bankruptcy", "adl_fee": "maker",
              "fund_max_drawdown": "0.3", "fund_drawdown_window_s": 28800},
    # OKX: tiered partial liquidation; ADL when the risk reserve falls 30% from its peak within 8 h,
    # matched with high-priority counterparties at the current mark price.
    "okx": {"partial": "tier_step", "order_price": "book", "surplus": "all", "shortfall": "adl",
            "adl_rank": "pnl_leverage", "adl_price": "mark", "adl_fee": "none",
            "fund_max_drawdown": "0.3", "fund_drawdown_window_s": 28800},
    # BitMEX: the liquidation order is placed at the bankruptcy price, so the fund never pays on the
    # fill; risk-limit steps are liquidated one at a time; ADL ranked by PnL × effective leverage.
    "bitmex": {"partial": "tier_step", "order_price": "bankruptcy", "surplus": "all", "shortfall": "adl",
               "adl_rank": "pnl_leverage", "adl_price": "bankruptcy", "adl_fee": "none"},
    # dYdX v4: the liquidation order's fillable price is bounded by what the insurance fund can cover;
    # the fund takes at most a 1.5% liquidation fee of the surplus (the trader keeps the rest);
    # deleveraging iterates counterparties from a pseudo-random start.
    "dydx": {"partial": "none", "order_price": "book", "surplus": "capped", "surplus_fee_rate": "0.015",
             "shortfall": "adl", "adl_rank": "random_start", "adl_price": "bankruptcy", "adl_fee": "none"},
    # Hyperliquid: positions above a notional are liquidated 20% at a time with a 30 s cooldown;
    # the backstop (HLP liquidator vault) takes over what the book cannot; ADL ranked by
    # mark/entry × notional/account value, at the mark price.
    "hyperliquid": {"partial": "fraction", "partial_fraction": "0.2", "partial_min_notional": "100000",
                    "partial_cooldown_s": 30, "order_price": "book", "surplus": "all", "shortfall": "adl",
                    "adl_rank": "hyperliquid", "adl_price": "mark", "adl_fee": "none"},
    # Drift v2: a bankruptcy the insurance fund cannot cover is socialized through the cumulative
    # funding rate of the market's open interest.
    "drift": {"partial": "none", "order_price": "book", "surplus": "all", "shortfall": "socialize",
              "socialize": "funding", "adl_rank": "pnl_leverage", "adl_price": "bankruptcy", "adl_fee": "none"},
}

SOURCES: dict[str, tuple[str, ...]] = {
    "binance": ("https://www.binance.com/en/support/faq/360033525371 (Futures Insurance Funds)",
                "https://www.binance.com/en/support/faq/360033525471 (What Is Auto-Deleveraging (ADL))"),
    "bybit": ("https://www.bybit.com/en/help-center/article/Insurance-Fund",
              "Bybit announcement 2025-12: enhanced insurance fund pools, 30% drawdown over rolling 8 h triggers ADL"),
    "okx": ("https://www.okx.com/help/iv-introduction-to-auto-deleveraging-adl",
            "OKX help: early liquidation mechanism (30% straight-line decrease within 8 hours; ADL at mark price)"),
    "bitmex": ("https://www.bitmex.com/app/liquidation (liquidation at the bankruptcy price)",
               "https://www.bitmex.com/app/adl (ADL ranking by profit and effective leverage)"),
    "dydx": ("dYdX v4 protocol/x/clob/keeper/liquidations.go (fillable price bounded by the insurance fund)",
             "dYdX v4 docs: liquidations, 1.5% max liquidation fee; deleveraging"),
    "hyperliquid": ("https://hyperliquid.gitbook.io/hyperliquid-docs/trading/liquidations",
                    "https://hyperliquid.gitbook.io/hyperliquid-docs/trading/auto-deleveraging"),
    "drift": ("https://docs.drift.trade/liquidations/liquidations",
              "Drift v2 controller/liquidation.rs (resolve_perp_bankruptcy, socialized via funding)"),
}


def describe(name: str) -> dict[str, Any]:
    """A preset with its sources, for `solvent presets` and the API."""
    return {"preset": name, "knobs": PRESETS[name], "sources": list(SOURCES[name])}
