"""Reading OHLC candles from the common CSV layouts.

Recognised layouts (the header, or its absence, decides):

* Binance kline CSV (data.binance.vision): no header, 12 columns, open time in ms (or µs from 2025)
  first, then open, high, low, close, volume, close time, ...;
* CryptoDataDownload (the hourly file in `../shared/data`): a first line naming the origin, then
  `date,symbol,open,high,low,close,...`, dates like `2019-10-17 09-AM`, newest first;
* any header naming `open`, `high`, `low`, `close` (any case) and a time column among `timestamp`,
  `unix_timestamp`, `unix`, `open_time`, `time`, `date`, `datetime` (the daily file:
  `timestamp,open,close,volume,unix_timestamp,high,low`).

Rows are returned oldest first; numbers that look like epoch seconds, ms or µs are told apart by size.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

_TIME_COLUMNS = ("unix_timestamp", "unix", "open_time", "timestamp", "time", "datetime", "date")
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %I-%p", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d",
                 "%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True)
class Candles:
    """Candles oldest first: open time (epoch seconds) and OHLC as float arrays; `seconds` per candle."""

    time_s: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    seconds: int

    def __len__(self) -> int:
        return len(self.time_s)

    def between(self, start: str | None, end: str | None) -> Candles:
        """The candles whose open time is in [start, end) (ISO dates or times, UTC)."""
        keep = np.ones(len(self), dtype=bool)
        if start:
            keep &= self.time_s >= parse_when(start)
        if end:
            keep &= self.time_s < parse_when(end)
        return Candles(self.time_s[keep], self.open[keep], self.high[keep], self.low[keep], self.close[keep],
                       self.seconds)


def parse_when(text: str) -> int:
    """An ISO date or time (UTC) or epoch seconds/ms/µs as epoch seconds."""
    text = str(text).strip()
    if text.replace(".", "", 1).isdigit():
        return _epoch_seconds(float(text))
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _epoch_seconds(value: float) -> int:
    if value > 1e14:  # microseconds (Binance spot klines from 2025)
        return int(value // 1_000_000)
    if value > 1e11:  # milliseconds
        return int(value // 1000)
    return int(value)


def _parse_time(text: str) -> int:
    text = text.strip()
    if text.replace(".", "", 1).isdigit():
        return _epoch_seconds(float(text))
    for fmt in _DATE_FORMATS:
        try:
            return int(datetime.strptime(text, fmt).replace(tzinfo=UTC).timestamp())
        except ValueError:
            continue
    return parse_when(text)


def load_candles(path: str | Path) -> Candles:
    """Read a candle CSV in any recognised layout; raise ValueError naming what is missing."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.reader(handle) if row and any(cell.strip() for cell in row)]
    if not rows:
        raise ValueError(f"{path}: no rows")
    times: list[int] = []
    ohlc: list[tuple[float, float, float, float]] = []
    first = [cell.strip().lower() for cell in rows[0]]
    if _is_number(first[0]) and len(first) >= 6:
        # Binance kline: open_time, open, high, low, close, volume, close_time, ...
        for row in rows:
            times.append(_epoch_seconds(float(row[0])))
            ohlc.append((float(row[1]), float(row[2]), float(row[3]), float(row[4])))
    else:
        header_at = 0
        while header_at < min(len(rows), 3) and not {"open", "high", "low", "close"} <= _names(rows[header_at]):
            header_at += 1
        if header_at >= min(len(rows), 3):
            raise ValueError(f"{path}: no header with open, high, low, close and no Binance kline layout")
        names = [cell.strip().lower() for cell in rows[header_at]]
        time_column = next((names.index(name) for name in _TIME_COLUMNS if name in names), None)
        if time_column is None:
            raise ValueError(f"{path}: no time column (one of {', '.join(_TIME_COLUMNS)})")
        columns = [names.index(name) for name in ("open", "high", "low", "close")]
        for row in rows[header_at + 1:]:
            times.append(_parse_time(row[time_column]))
            o, h, lo, c = (float(row[k]) for k in columns)
            ohlc.append((o, h, lo, c))
    order = np.argsort(np.asarray(times, dtype=np.int64), kind="stable")
    time_s = np.asarray(times, dtype=np.int64)[order]
    values = np.asarray(ohlc, dtype=float)[order]
    if len(time_s) > 1:
        seconds = int(np.median(np.diff(time_s)))
    else:
        seconds = 86_400
    if seconds <= 0:
        raise ValueError(f"{path}: candle times do not increase")
    return Candles(time_s, values[:, 0], values[:, 1], values[:, 2], values[:, 3], seconds)


def _names(row: list[str]) -> set[str]:
    return {cell.strip().lower() for cell in row}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
