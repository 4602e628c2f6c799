"""Public endpoints, no auth: markets, book depth, funds with their hash-chained histories, daily
reports, recent liquidations, ADL risk and health, the head hash; and the live stream (server-sent
events) of fund and liquidation events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse

from solvent.engine.reports import fund_daily_reports, health
from solvent.service.access import ServiceDep
from solvent.service.errors import PUBLIC_ERRORS, ApiError
from solvent.service.views import book_view, funds_view, market_view

router = APIRouter(prefix="/api/v1/public", tags=["public"], responses=PUBLIC_ERRORS)

Name = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")]


@router.get("/markets")
async def markets(service: ServiceDep) -> list[dict[str, Any]]:
    engine = service.venue.engine
    return [market_view(engine, market) for market in engine.markets.values()]


@router.get("/markets/{market}/book")
async def book(market: Name, service: ServiceDep,
               depth: Annotated[int, Query(ge=1, le=1000)] = 20) -> dict[str, Any]:
    """Order book depth: price levels best first, each [price, total quantity]."""
    return book_view(service.venue.engine, market, depth)


@router.get("/funds")
async def funds(service: ServiceDep) -> dict[str, Any]:
    """Each insurance fund: asset, balance, number of history entries and the head hash."""
    return funds_view(service.venue.engine)


@router.get("/funds/{fund}/history")
async def fund_history(fund: Name, service: ServiceDep, offset: Annotated[int, Query(ge=0)] = 0,
                       limit: Annotated[int, Query(ge=1, le=10000)] = 1000) -> dict[str, Any]:
    """The fund's hash-chained history (`hash = SHA-256(previous hash ‖ canonical entry)`); verify it with
    `solvent verify` against the head."""
    engine = service.venue.engine
    if fund not in engine.funds:
        raise ApiError(404, "not_found", f"unknown fund {fund!r}", "fund")
    entries = engine.fund_book.history.get(fund, [])
    return {"fund": fund, "total": len(entries), "offset": offset, "head": engine.fund_book.head(fund),
            "entries": entries[offset:offset + limit]}


@router.get("/reports/daily")
async def daily_reports(service: ServiceDep) -> dict[str, Any]:
    """Per fund and UTC day: balances, inflow, outflow, liquidations, deficits covered, ADL."""
    return service.cached("daily", lambda: fund_daily_reports(service.venue.engine))


@router.get("/liquidations")
async def liquidations(service: ServiceDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    """The most recent liquidations, oldest first."""
    return service.venue.engine.liquidation_history[-limit:]


@router.get("/health")
async def market_health(service: ServiceDep) -> dict[str, Any]:
    """Per market: open interest, funding, fund balance and 8 h change, coverage, ADL risk level."""
    return service.cached("health", lambda: health(service.venue.engine))


@router.get("/head")
async def head(service: ServiceDep) -> dict[str, Any]:
    """The journal seq, the state hash at it and each fund's head hash, for verification."""
    venue = service.venue
    digest = service.cached("hash", venue.state_hash)
    return {"seq": venue.seq, "state_hash": digest,
            "funds": {name: venue.engine.fund_book.head(name) for name in venue.engine.funds}}


@router.get("/stream", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events."}})
async def stream(service: ServiceDep) -> StreamingResponse:
    """Live fund, liquidation, ADL and socialized-loss events as server-sent events (`data: {json}`)."""
    queue = service.writer.subscribe()

    async def events() -> AsyncIterator[str]:
        try:
            yield ": connected\n\n"
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), timeout=15)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if event is None:
                    return
                yield f"event: {event['type']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n"
        finally:
            service.writer.unsubscribe(queue)

    return StreamingResponse(events(), media_type="text/event-stream")
