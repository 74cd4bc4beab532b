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

from neuroshorts.errors import ApiError

log = logging.getLogger(__name__)


def body(reason: str, field: str | None = None, value: Any = None) -> dict[str, Any]:
    error = {"field": field, "reason": reason, "value": jsonable_encoder(value)}
    return {"error": printable(error)}


def printable(value: Any) -> Any:
    """`value` with lone surrogates (from JSON `\\ud800` escapes) spelled out as escapes.

    They are not Unicode, so the UTF-8 encoder of the response would fail on them and
    turn a 422 about bad text into a 500.
    """
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {printable(key): printable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [printable(item) for item in value]
    return value


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
        field = _where(tuple(first["loc"])) or "body"
        return JSONResponse(body(first["msg"], field, value), 422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        # Starlette's own errors: no route (404) or method (405) has no field at fault;
        # a body FastAPI could not parse (400) is the body's fault.
        field = "body" if error.status_code == 400 else None
        return JSONResponse(
            body(str(error.detail), field), error.status_code, headers=error.headers
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        reason = f"internal error ({type(error).__name__}); the server log has the details"
        return JSONResponse(body(reason), 500)
