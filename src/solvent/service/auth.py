"""Request signing (HMAC-SHA256 with a timestamp and a receive window, as Binance does), key secrets,
and the per-key rate limit.

A signed request carries four headers:

- `X-Solvent-Key`: the key id;
- `X-Solvent-Timestamp`: the client's clock, ms since the epoch;
- `X-Solvent-Recv-Window`: how long (ms, 1–60000, default 5000) the request stays valid;
- `X-Solvent-Signature`: hex HMAC-SHA256, keyed with the key's secret, of
  `timestamp \\n recv_window \\n METHOD \\n path?query \\n body`.

The server refuses a request whose timestamp is older than the window or more than 1 s in the future.

Key storage: a key's secret is never stored. It is derived, `secret = HMAC-SHA256(master key, key id)`,
from a master key the server holds outside the database (a file or an environment variable); the
journal keeps only the SHA-256 of the secret, which the server checks against the derivation (a
wrong master key is noticed at once). A stolen database yields no secret; the master key is the one
thing to protect, and rotating it (with new key ids) revokes every key at once.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from dataclasses import dataclass
from pathlib import Path

KEY_HEADER = "X-Solvent-Key"
TIMESTAMP_HEADER = "X-Solvent-Timestamp"
WINDOW_HEADER = "X-Solvent-Recv-Window"
SIGNATURE_HEADER = "X-Solvent-Signature"
DEFAULT_WINDOW_MS = 5000
MAX_WINDOW_MS = 60000
MAX_FUTURE_MS = 1000
#: the operator key every venue starts with; its secret is derived like any other
ROOT_KEY = "root"


def derive_secret(master: bytes, key: str) -> str:
    return hmac.new(master, b"solvent-api-key:" + key.encode(), hashlib.sha256).hexdigest()


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def signature(secret: str, timestamp: int | str, recv_window: int | str, method: str, path: str,
              body: bytes) -> str:
    """The hex signature of a request; `path` includes the query string (`/a/b?x=1`)."""
    head = f"{timestamp}\n{recv_window}\n{method.upper()}\n{path}\n".encode()
    return hmac.new(secret.encode(), head + body, hashlib.sha256).hexdigest()


def signed_headers(key: str, secret: str, method: str, path: str, body: bytes = b"",
                   timestamp: int | None = None, recv_window: int = DEFAULT_WINDOW_MS) -> dict[str, str]:
    """The headers a client adds to sign a request."""
    stamp = int(time.time() * 1000) if timestamp is None else timestamp
    return {KEY_HEADER: key, TIMESTAMP_HEADER: str(stamp), WINDOW_HEADER: str(recv_window),
            SIGNATURE_HEADER: signature(secret, stamp, recv_window, method, path, body)}


def load_master_key(path: str | Path | None, create: bool = True) -> bytes:
    """The master key: env `SOLVENT_MASTER_KEY` (hex), else the file (hex), created (mode 0600) if missing."""
    text = os.environ.get("SOLVENT_MASTER_KEY")
    if text:
        return bytes.fromhex(text.strip())
    if path is None:
        raise ValueError("no master key: set SOLVENT_MASTER_KEY or give a key file")
    file = Path(path)
    if not file.exists():
        if not create:
            raise ValueError(f"{file}: no such master key file")
        descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(os.urandom(32).hex() + "\n")
    return bytes.fromhex(file.read_text().strip())


@dataclass(slots=True)
class Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token bucket per key: `rate` requests per second on average, bursts up to `burst`."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else 2 * rate
        self.buckets: dict[str, Bucket] = {}

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True
