"""Price paths: the candle bridge hits open, high, low and close; candle CSV layouts; seeded generators."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from solvent.sim.candles import Candles, load_candles
from solvent.sim.paths import (
    RECONSTRUCTIONS,
    bridge,
    build_path,
    candle_bridge,
    garch,
    gbm,
    jump_diffusion,
    reconstruction,
    recorded_candle,
    rng_for,
)

DATA = Path(__file__).resolve().parents[2] / "src" / "solvent" / "sim" / "data"


def test_bridge_passes_through_every_anchor_and_stays_inside_the_bounds() -> None:
    prices = bridge([0, 10, 25, 40], [100.0, 120.0, 80.0, 90.0], 0.05, rng_for(1), 80.0, 120.0)
    assert len(prices) == 41
    assert prices[[0, 10, 25, 40]] == pytest.approx([100.0, 120.0, 80.0, 90.0], rel=1e-12)
    assert prices.max() == pytest.approx(120.0) and prices.min() == pytest.approx(80.0)


@pytest.mark.parametrize("o,h,lo,c", [(7938.05, 7969.45, 4644.0, 4857.1), (4857.1, 5995.0, 3858.0, 5637.6)])
def test_candle_bridge_hits_open_high_low_close(o: float, h: float, lo: float, c: float) -> None:
    candles = Candles(np.array([0]), np.array([o]), np.array([h]), np.array([lo]), np.array([c]), 86_400)
    prices = candle_bridge(candles, 60, rng_for(3))
    assert len(prices) == 1441
    assert prices[0] == pytest.approx(o) and prices[-1] == pytest.approx(c)
    assert prices.max() == pytest.approx(h) and prices.min() == pytest.approx(lo)
    # a down day visits its high before its low
    assert (np.argmax(prices) < np.argmin(prices)) == (c < o)


def test_daily_file_layout_is_read_oldest_first() -> None:
    candles = load_candles(DATA / "btcusd_1d_2020-03.csv").between("2020-03-12", "2020-03-14")
    assert len(candles) == 2 and candles.seconds == 86_400
    assert list(candles.open) == [7938.05, 4857.1]
    assert list(candles.low) == [4644.0, 3858.0]
    assert candles.time_s[0] == 1583971200


def test_cryptodatadownload_hourly_layout_newest_first_is_reversed() -> None:
    candles = load_candles(DATA / "btcusd_1h_2017-12-21_22.csv")
    assert candles.seconds == 3600
    assert np.all(np.diff(candles.time_s) == 3600)
    assert len(candles) == 48


def test_binance_kline_layout_without_header(tmp_path: Path) -> None:
    rows = ["1583971200000,7930.0,7970.0,4410.0,4800.0,100,1583974799999,0,0,0,0,0",
            "1583974800000,4800.0,4900.0,4700.0,4850.0,100,1583978399999,0,0,0,0,0"]
    file = tmp_path / "BTCUSDT-1h-2020-03-12.csv"
    file.write_text("\n".join(rows) + "\n")
    candles = load_candles(file)
    assert candles.seconds == 3600 and list(candles.high) == [7970.0, 4900.0]
    micro = tmp_path / "us.csv"  # spot klines from 2025 carry microseconds
    micro.write_text(rows[0].replace("1583971200000", "1583971200000000") + "\n")
    assert load_candles(micro).time_s[0] == 1583971200


def test_a_file_without_ohlc_columns_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "bad.csv"
    file.write_text("time,price\n1,2\n")
    with pytest.raises(ValueError, match="open, high, low, close"):
        load_candles(file)


def test_reconstructions_are_labelled_and_hit_the_recorded_candle() -> None:
    assert recorded_candle("2020-03-12") == (7938.05, 7969.45, 4644.0, 4857.1)
    path = reconstruction("2020-03-12", 60, rng_for(1))
    assert path.label.startswith("RECONSTRUCTION") and "assumption" in path.source
    assert path.prices[0] == pytest.approx(7938.05) and path.prices[-1] == pytest.approx(4857.1)
    assert path.prices.max() == pytest.approx(7969.45) and path.prices.min() == pytest.approx(4644.0)
    october = reconstruction("2025-10-10", 60, rng_for(1))
    assert october.label.startswith("RECONSTRUCTION") and "published figures" in october.source
    assert october.prices.min() == pytest.approx(102_000)
    assert set(RECONSTRUCTIONS) == {"2020-03-12", "2025-10-10"}


def test_generators_are_reproducible_by_seed_and_differ_between_seeds() -> None:
    for generate in (gbm, jump_diffusion, garch):
        first = generate(10_000.0, 86_400, 60, rng_for(5))
        assert np.array_equal(first, generate(10_000.0, 86_400, 60, rng_for(5)))
        assert not np.array_equal(first, generate(10_000.0, 86_400, 60, rng_for(6)))
        assert len(first) == 1441 and first[0] == 10_000.0


def test_gbm_volatility_matches_its_parameter() -> None:
    prices = gbm(100.0, 86_400 * 200, 3600, rng_for(9), sigma=0.8)
    returns = np.diff(np.log(prices))
    annualized = returns.std() * math.sqrt(365.25 * 24)
    assert annualized == pytest.approx(0.8, rel=0.05)


def test_jump_diffusion_has_fat_left_tail_and_garch_clusters_volatility() -> None:
    jumps = np.diff(np.log(jump_diffusion(100.0, 86_400 * 30, 60, rng_for(2), sigma=0.3, jumps_per_day=5,
                                          jump_mean=-0.05, jump_sd=0.01)))
    plain = np.diff(np.log(gbm(100.0, 86_400 * 30, 60, rng_for(2), sigma=0.3)))
    assert jumps.min() < -0.03 and plain.min() > -0.01
    returns = np.diff(np.log(garch(100.0, 86_400 * 30, 60, rng_for(4), alpha=0.1, beta=0.85)))
    squares = returns**2
    lag1 = np.corrcoef(squares[:-1], squares[1:])[0, 1]
    iid = np.corrcoef(plain[:-1] ** 2, plain[1:] ** 2)[0, 1]
    assert lag1 > 0.05 > abs(iid)


def test_build_path_from_a_candle_file_relative_to_the_config() -> None:
    path = build_path({"kind": "candles", "file": "btcusd_1h_2017-12-21_22.csv", "step_s": 60,
                       "start": "2017-12-21T15:00:00Z", "end": "2017-12-21T18:00:00Z"}, 1, DATA)
    assert path.start_s == 1513868400 and len(path.prices) == 3 * 60 + 1
