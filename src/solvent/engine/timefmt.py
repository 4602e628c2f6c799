"""Engine time: integer milliseconds since the Unix epoch, UTC; ISO-8601 at the boundary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

from solvent.engine.errors import Rejected

_MAX_MS = 253402300799999  # 9999-12-31T23:59:59.999Z
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def parse_time(raw: object) -> int:
    """ISO-8601 UTC text or epoch milliseconds (int) to epoch milliseconds."""
    if isinstance(raw, bool):
        raise Rejected("time", f"expected ISO-8601 UTC or epoch milliseconds, got {raw!r}")
    if isinstance(raw, int):
        ms = raw
    elif isinstance(raw, str):
        text = raw.strip()
        if text.isdigit():
            ms = int(text)
        else:
            try:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise Rejected("time", f"not an ISO-8601 time: {raw!r}") from None
            if moment.tzinfo is None:
                raise Rejected("time", f"time must be UTC (end it with Z): {raw!r}")
            if moment.microsecond % 1000:
                raise Rejected("time", f"time finer than a millisecond: {raw!r}")
            ms = (moment - _EPOCH) // _MS
    else:
        raise Rejected("time", f"expected ISO-8601 UTC or epoch milliseconds, got {type(raw).__name__}")
    if not 0 <= ms <= _MAX_MS:
        raise Rejected("time", f"out of range: {raw!r}")
    return ms


@lru_cache(maxsize=4)
def format_time(ms: int) -> str:
    """Epoch milliseconds as ISO-8601 UTC, with milliseconds only when there are some."""
    moment = _EPOCH + timedelta(milliseconds=ms)
    if ms % 1000:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
