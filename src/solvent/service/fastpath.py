"""The hot path, `POST /api/v1/accounts/{account}/orders`, served without FastAPI's routing and
dependency machinery (about half of the server's CPU per order went there).

The same steps as the FastAPI route it shadows (which stays for the OpenAPI schema and is what this
must agree with; the API tests and schemathesis go through here): the same authentication, the same
ownership rule, the same body model (`OrderIn`), the same command, the same `{code, message, field}`
errors.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from solvent.service.access import Service, authenticate
from solvent.service.errors import ApiError, field_of
from solvent.service.models import OrderIn, command
from solvent.service.writer import WriterUnavailable

_ORDERS = re.compile(r"^/api/v1/accounts/([A-Za-z0-9_.\-]{1,64})/orders$")


class OrderFastPath:
    """ASGI middleware: answers order placement itself, passes everything else on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        match = _ORDERS.match(scope["path"])
        if match is None:
            await self.app(scope, receive, send)
            return
        try:
            status, body = 200, await self._place(Request(scope, receive), match.group(1))
        except ApiError as error:
            status, body = error.status, _error(error.code, error.message, error.field)
        except WriterUnavailable as error:
            status, body = 503, _error("unavailable", str(error), None)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if status in (429, 503):
            headers.append((b"retry-after", b"1"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _place(self, request: Request, account: str) -> bytes:
        service: Service = request.app.state.service
        key = await authenticate(request, service, request.headers.get("x-solvent-key"), "trader")
        if not service.venue.owns(key, account):
            raise ApiError(403, "forbidden", f"this key cannot act on account {account!r}", "account")
        try:
            body = OrderIn.model_validate_json(await request.body())
        except ValidationError as error:
            first: Any = error.errors()[0] if error.errors() else {"loc": (), "msg": "invalid request"}
            raise ApiError(422, "invalid", str(first.get("msg")), field_of(first.get("loc", ()))) from None
        order = command("order", body, account=account)
        client_id = order.pop("client_order_id", None)
        if client_id is not None:
            order["id"] = client_id
        result = await service.submit(order)
        return json.dumps({"seq": result.seq, "duplicate": result.duplicate, "events": result.events},
                          separators=(",", ":")).encode()


def _error(code: str, message: str, field: str | None) -> bytes:
    return json.dumps({"code": code, "message": message, "field": field}).encode()
