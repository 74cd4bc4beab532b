"""Every API error is JSON `{"error": {"field", "reason", "value"}}`, never a traceback.

A client (n8n, a script) can show `reason` as is and point at `field`; anything that was
not foreseen becomes a 500 with a reason that says where to look, while the traceback
goes to the server's log only.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error the API answers with `status` and the field at fault."""

    def __init__(
        self, status: int, reason: str, field: str | None = None, value: Any = None
    ) -> None:
        super().__init__(reason)
        self.status, self.reason, self.field, self.value = status, reason, field, value


def body(reason: str, field: str | None = None, value: Any = None) -> dict[str, Any]:
    return {"error": {"field": field, "reason": reason, "value": jsonable_encoder(value)}}


def _where(location: tuple[Any, ...]) -> str | None:
    """`("body", "parameters", "script")` → `parameters.script`; list indices as `[3]`."""
    parts = [part for part in location if part not in ("body", "query", "path", "header")]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or None


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the same JSON shape."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        return JSONResponse(body(error.reason, error.field, error.value), error.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {"loc": (), "msg": "invalid request"}
        value = first.get("input")
        if isinstance(value, dict | list) or first.get("type") == "missing":
            value = None
        return JSONResponse(body(first["msg"], _where(tuple(first["loc"])), value), 422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        return JSONResponse(body(str(error.detail)), error.status_code, headers=error.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        reason = f"internal error ({type(error).__name__}); the server log has the details"
        return JSONResponse(body(reason), 500)
