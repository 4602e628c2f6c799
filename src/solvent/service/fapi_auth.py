"""Binance's request signing and error shape for the USDⓈ-M-compatible API (`/fapi/...`).

Exactly what Binance clients (CCXT, python-binance, the connectors) send:

- header `X-MBX-APIKEY`: the key id (a trader key of the service; its secret is the one the operator
  was given, `auth.derive_secret(master, key id)`);
- parameters in the query string (GET, DELETE) or the form body (POST, PUT), with `timestamp` (ms)
  and optionally `recvWindow` (ms, at most 60,000, default 5,000);
- `signature` = lowercase hex HMAC-SHA256, keyed with the secret, of the parameters exactly as sent
  (query string, then body, Binance's `totalParams`), `signature` being the last parameter.

Errors are Binance's `{"code": -NNNN, "msg": "..."}` with a 4xx status: a refused request never gets
a success body.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl

from fastapi import Request

from solvent.service.access import Service
from solvent.service.errors import ApiError
from solvent.service.venue import ApiKey

KEY_HEADER = "X-MBX-APIKEY"
DEFAULT_WINDOW_MS = 5000
MAX_WINDOW_MS = 60000
#: how far ahead of the server's clock a timestamp may be (Binance: 1 s)
MAX_AHEAD_MS = 1000


class FapiError(Exception):
    """A refusal in Binance's shape: HTTP `status`, body `{"code": code, "msg": msg}`."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


def bad_symbol() -> FapiError:
    return FapiError(-1121, "Invalid symbol.")


def missing(name: str) -> FapiError:
    return FapiError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def binance_signature(secret: str, payload: bytes) -> str:
    """Lowercase hex HMAC-SHA256 of `payload` keyed with the secret's text, as Binance clients compute it."""
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


@dataclass(slots=True)
class Params:
    """The request's parameters (query string and form body) by name."""

    values: dict[str, str]

    def get(self, name: str) -> str | None:
        value = self.values.get(name)
        return value if value not in (None, "") else None

    def require(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise missing(name)
        return value

    def integer(self, name: str, default: int | None = None, low: int | None = None,
                high: int | None = None) -> int | None:
        text = self.get(name)
        if text is None:
            return default
        if not text.lstrip("-").isdigit() or len(text) > 19:
            raise FapiError(-1100, f"Illegal characters found in parameter '{name}'; legal range is integers.")
        value = int(text)
        if (low is not None and value < low) or (high is not None and value > high):
            raise FapiError(-1130, f"Invalid data sent for a parameter: {name}.")
        return value


async def read_params(request: Request) -> tuple[Params, bytes, bytes]:
    """The parameters, the raw query string and the raw body (form-encoded, as Binance takes them)."""
    query = request.scope.get("query_string") or b""
    body = await request.body()
    values = dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True))
    if body:
        try:
            values.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
        except UnicodeDecodeError:
            raise FapiError(-1100, "Illegal characters found in the request body.") from None
    return Params(values), query, body


def signed_payload(query: bytes, body: bytes) -> tuple[bytes, str]:
    """Binance's totalParams (query string then body) without the trailing `signature=...`, and the
    signature. The signature must be the last parameter of the body if it has one, else of the query."""
    for part, other in ((body, query), (query, body)):
        if not part:
            continue
        head, sep, tail = part.rpartition(b"signature=")
        if sep and (head == b"" or head.endswith(b"&")) and b"&" not in tail:
            stripped = head[:-1] if head.endswith(b"&") else head
            payload = other + stripped if part is body else stripped + other
            return payload, tail.decode("latin-1")
    raise FapiError(-1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")


def check_timestamp(params: Params, now_ms: int) -> None:
    """`timestamp` within `recvWindow` of the server's clock (at most 1 s ahead), else -1021."""
    window = params.integer("recvWindow", DEFAULT_WINDOW_MS)
    if window is None or not 0 < window <= MAX_WINDOW_MS:
        raise FapiError(-1131, f"recvWindow must be less than {MAX_WINDOW_MS}.")
    stamp = params.integer("timestamp")
    if stamp is None:
        raise missing("timestamp")
    if stamp > now_ms + MAX_AHEAD_MS:
        raise FapiError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")
    if now_ms - stamp > window:
        raise FapiError(-1021, "Timestamp for this request is outside of the recvWindow.")


def verify(request: Request, params: Params, query: bytes, body: bytes, key: ApiKey | None, secret: str | None,
           now_ms: int | None = None) -> ApiKey:
    """The trader key of a signed request, or the Binance refusal: unknown key -2015, bad timestamp -1021,
    bad signature -1022 (in that order, as Binance checks)."""
    if not request.headers.get(KEY_HEADER):
        raise FapiError(-2014, "API-key format invalid.", 401)
    if key is None or secret is None or not key.active or key.role != "trader" or key.account is None:
        raise FapiError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
    check_timestamp(params, int(time.time() * 1000) if now_ms is None else now_ms)
    payload, given = signed_payload(query, body)
    if not hmac.compare_digest(given.encode(), binance_signature(secret, payload).encode()):
        raise FapiError(-1022, "Signature for this request is not valid.", 400)
    return key


def secret_of(service: Service, key: ApiKey | None) -> str | None:
    """The key's secret from the service (None when it does not match this server's master key)."""
    if key is None:
        return None
    try:
        return service.secret(key)
    except ApiError:
        return None
