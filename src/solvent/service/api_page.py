"""The public transparency page (`solvent/web/`) at `/` and a trader's own page at `/trader`, with their
static files; no auth for the files themselves (the trader page signs its API calls), no CDN."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

WEB = Path(__file__).resolve().parent.parent / "web"

router = APIRouter(include_in_schema=False)


@router.get("/")
async def page() -> FileResponse:
    return FileResponse(WEB / "index.html", media_type="text/html")


@router.get("/trader")
async def trader_page() -> FileResponse:
    """A trader's own positions, liquidation prices and ADL quantiles, signed in the browser."""
    return FileResponse(WEB / "trader.html", media_type="text/html")


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=WEB), name="static")
