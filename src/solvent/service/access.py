"""The service object every route reaches, and the auth dependencies (signature, window, role,
account ownership, rate limit)."""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Request, Response

from solvent.service import auth
from solvent.service.errors import ApiError
from solvent.service.venue import ApiKey, Result, Venue
from solvent.service.writer import Writer

T = TypeVar("T")


class Service:
    """What the routes share: the writer (and through it the venue), the master key, the rate limiter."""

    def __init__(self, writer: Writer, master: bytes, limiter: auth.RateLimiter) -> None:
        self.writer = writer
        self.master = master
        self.limiter = limiter
        root_secret = auth.derive_secret(master, auth.ROOT_KEY)
        self.root = ApiKey(auth.ROOT_KEY, "operator", None, auth.secret_digest(root_secret))
        self._secrets: dict[str, str] = {auth.ROOT_KEY: root_secret}
        self._cache: dict[str, tuple[int, Any]] = {}

    @property
    def venue(self) -> Venue:
        return self.writer.venue

    def key(self, key_id: str) -> ApiKey | None:
        return self.root if key_id == auth.ROOT_KEY else self.venue.keys.get(key_id)

    def secret(self, key: ApiKey) -> str:
        """The key's secret, derived from the master key and checked against the stored digest."""
        secret = self._secrets.get(key.key)
        if secret is None:
            secret = auth.derive_secret(self.master, key.key)
            if not hmac.compare_digest(auth.secret_digest(secret), key.secret_sha256):
                raise ApiError(401, "unauthorized", "the key does not match this server's master key", auth.KEY_HEADER)
            self._secrets[key.key] = secret
        return secret

    async def submit(self, command: dict[str, Any]) -> Result:
        """Submit a command; a refusal by the engine becomes a 400 naming the field."""
        result = await self.writer.submit(command)
        refusal = result.rejection
        if refusal is not None:
            if refusal.get("internal"):
                raise ApiError(500, "internal", "internal error", None)
            raise ApiError(400, "rejected", str(refusal.get("reason")), refusal.get("field"))
        return result

    async def run(self, command: dict[str, Any]) -> Response:
        """Submit a command and answer with its `CommandOut` JSON (encoded here: the hot path skips
        FastAPI's response validation)."""
        result = await self.submit(command)
        body = {"seq": result.seq, "duplicate": result.duplicate, "events": result.events}
        return Response(json.dumps(body, separators=(",", ":")).encode(), media_type="application/json")

    def cached(self, name: str, compute: Callable[[], T]) -> T:
        """`compute()` once per journal seq (reads between two commands share it)."""
        hit = self._cache.get(name)
        if hit is not None and hit[0] == self.venue.seq:
            return hit[1]  # type: ignore[no-any-return]
        value = compute()
        self._cache[name] = (self.venue.seq, value)
        return value


async def service_of(request: Request) -> Service:
    return request.app.state.service  # type: ignore[no-any-return]


ServiceDep = Annotated[Service, Depends(service_of)]

def _header_int(request: Request, name: str, default: int | None = None) -> int:
    text = request.headers.get(name)
    if text is None:
        if default is not None:
            return default
        raise ApiError(401, "unauthorized", f"missing header {name}", name)
    if not text.isdigit() or len(text) > 15:
        raise ApiError(401, "unauthorized", f"{name} must be a whole number of ms", name)
    return int(text)


def signed_path(request: Request) -> str:
    """The path and query exactly as sent (percent-encoding included), which is what the client signed."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string") or b""
    return (raw + (b"?" + query if query else b"")).decode("latin-1")


async def authenticate(request: Request, service: Service, key_id: str | None, role: str) -> ApiKey:
    if not key_id:
        raise ApiError(401, "unauthorized", f"missing header {auth.KEY_HEADER}", auth.KEY_HEADER)
    key = service.key(key_id)
    if key is None or not key.active:
        raise ApiError(401, "unauthorized", "unknown or revoked key", auth.KEY_HEADER)
    stamp = _header_int(request, auth.TIMESTAMP_HEADER)
    window = _header_int(request, auth.WINDOW_HEADER, auth.DEFAULT_WINDOW_MS)
    if not 1 <= window <= auth.MAX_WINDOW_MS:
        raise ApiError(401, "unauthorized", f"the receive window must be 1–{auth.MAX_WINDOW_MS} ms", auth.WINDOW_HEADER)
    now = int(time.time() * 1000)
    if stamp < now - window or stamp > now + auth.MAX_FUTURE_MS:
        raise ApiError(401, "stale_timestamp", f"timestamp {stamp} is outside the window (server time {now})",
                       auth.TIMESTAMP_HEADER)
    given = request.headers.get(auth.SIGNATURE_HEADER, "")
    path = signed_path(request)
    body = await request.body()
    expected = auth.signature(service.secret(key), stamp, request.headers.get(auth.WINDOW_HEADER, str(window)),
                              request.method, path, body)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise ApiError(401, "bad_signature", "the signature does not match the request", auth.SIGNATURE_HEADER)
    if not service.limiter.allow(key.key):
        raise ApiError(429, "rate_limited", "too many requests for this key")
    if key.role != role:
        raise ApiError(403, "forbidden", f"a {key.role} key cannot use {role} endpoints", auth.KEY_HEADER)
    return key


@dataclass(slots=True)
class Acting:
    """A trader request that passed auth: the service, the key, and the path's account it may act on."""

    service: Service
    key: ApiKey
    account: str


async def acting_trader(request: Request, account: Annotated[str, Path(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]) -> Acting:
    """A signed trader request on the path's account, if the key may act on it (its own, or a sub-account
    of its own). One dependency, not a chain: this is the hot path."""
    service: Service = request.app.state.service
    key = await authenticate(request, service, request.headers.get(auth.KEY_HEADER), "trader")
    if not service.venue.owns(key, account):
        raise ApiError(403, "forbidden", f"this key cannot act on account {account!r}", "account")
    return Acting(service, key, account)


async def acting_operator(request: Request) -> Service:
    """A signed operator request."""
    service: Service = request.app.state.service
    await authenticate(request, service, request.headers.get(auth.KEY_HEADER), "operator")
    return service


TraderAccount = Annotated[Acting, Depends(acting_trader)]
Operator = Annotated[Service, Depends(acting_operator)]
