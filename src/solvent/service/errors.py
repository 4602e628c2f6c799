"""Errors as JSON `{code, message, field}`: 4xx for anything a client can send."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from solvent.service.writer import WriterUnavailable

log = logging.getLogger("solvent.service")


class Error(BaseModel):
    code: str
    message: str
    field: str | None = None


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def _error(status: int, code: str, message: str, field: str | None = None,
           headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "field": field}, status_code=status, headers=headers)


def _described(status: int, text: str) -> dict[str, Any]:
    return {"model": Error, "description": text}


#: the error statuses every route documents (OpenAPI), so no status is undocumented
SIGNED_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _described(400, "The engine refused the command (field and reason), or a malformed request."),
    401: _described(401, "Missing, unknown or revoked key, bad signature, or timestamp outside the window."),
    403: _described(403, "The key may not act on this account or endpoint."),
    404: _described(404, "Not found."),
    409: _described(409, "Conflict."),
    422: _described(422, "A field failed validation (field names it)."),
    429: _described(429, "Rate limit of the key exceeded."),
    503: _described(503, "The journal is unavailable; nothing was acknowledged."),
}
PUBLIC_ERRORS: dict[int | str, dict[str, Any]] = {status: SIGNED_ERRORS[status] for status in (400, 404, 422)}


def field_of(location: Sequence[Any]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(location[-1] if location else "")


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, error: ApiError) -> JSONResponse:
        headers = {"Retry-After": "1"} if error.status in (429, 503) else None
        return _error(error.status, error.code, error.message, error.field, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = error.errors()
        first = problems[0] if problems else {"loc": (), "msg": "invalid request"}
        return _error(422, "invalid", str(first.get("msg", "invalid request")), field_of(first.get("loc", ())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return _error(error.status_code, code, str(error.detail))

    @app.exception_handler(WriterUnavailable)
    async def _unavailable(_: Request, error: WriterUnavailable) -> JSONResponse:
        return _error(503, "unavailable", str(error), headers={"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def _bug(_: Request, error: Exception) -> JSONResponse:  # a bug, never a client's doing: logged
        log.exception("unhandled error")
        return _error(500, "internal", "internal error")
