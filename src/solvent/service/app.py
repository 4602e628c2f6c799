"""The FastAPI application: routers, error handlers, and the writer's lifecycle (restore on start-up,
snapshot on shutdown)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from solvent.service import api_operator, api_page, api_public, api_trader, auth, errors, fapi
from solvent.service.access import Service
from solvent.service.fastpath import OrderFastPath
from solvent.service.journal import open_journal
from solvent.service.writer import Writer

DESCRIPTION = f"""
Risk and clearing engine as a service. Every change is a command journaled durably (committed and
fsync'd) before it is acknowledged; restart replays the journal.

**Signing** (trader and operator endpoints): send `{auth.KEY_HEADER}`, `{auth.TIMESTAMP_HEADER}` (ms since
the epoch), `{auth.WINDOW_HEADER}` (ms, default {auth.DEFAULT_WINDOW_MS}, at most {auth.MAX_WINDOW_MS}) and
`{auth.SIGNATURE_HEADER}` = hex HMAC-SHA256 with the key's secret of
`timestamp + "\\n" + recv_window + "\\n" + METHOD + "\\n" + path_and_query + "\\n" + body`.

Amounts and prices are decimal strings. Errors are `{{code, message, field}}`.
"""


def create_app(db: str, master: bytes, *, rate_limit: float = 200.0, burst: float | None = None,
               snapshot_every: int = 100_000, manage_gc: bool = False) -> FastAPI:
    """The app over the journal at `db` (SQLite path or postgresql:// URL)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        journal = open_journal(db)
        writer = await Writer.open(journal, snapshot_every=snapshot_every, manage_gc=manage_gc,
                                   fork_snapshots=manage_gc)
        app.state.service = Service(writer, master, auth.RateLimiter(rate_limit, burst))
        writer.start()
        try:
            yield
        finally:
            await writer.stop()

    app = FastAPI(title="solvent", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    errors.install(app)
    app.add_middleware(OrderFastPath)
    app.include_router(api_trader.router)  # first: routes are matched in order and orders are the hot path
    app.include_router(api_public.router)
    app.include_router(api_operator.router)
    fapi.install(app)  # the Binance USDⓈ-M-compatible API (/fapi), outside the OpenAPI schema
    api_page.install(app)
    app.openapi = lambda: _openapi_with_security(app)  # type: ignore[method-assign]
    return app


def _openapi_with_security(app: FastAPI) -> dict[str, Any]:
    """The generated schema plus the signed-key scheme on every trader and operator operation (auth is
    checked in one dependency that reads the headers itself, so FastAPI cannot see it)."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schema.setdefault("components", {})["securitySchemes"] = {
        "SignedKey": {"type": "apiKey", "in": "header", "name": auth.KEY_HEADER,
                      "description": "Key id; the request is also signed, see the API description."}}
    for path, operations in schema["paths"].items():
        if path.startswith(("/api/v1/accounts", "/api/v1/operator")):
            for operation in operations.values():
                operation["security"] = [{"SignedKey": []}]
    app.openapi_schema = schema
    return schema
