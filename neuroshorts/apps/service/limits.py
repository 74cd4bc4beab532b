"""How much one request may ask for: body, parameters, script and video length.

Automations send odd data unattended: a script pasted twice over, a CSV of a whole
spreadsheet. Each limit is a setting (`NEUROSHORTS_MAX_*`) with a clear error naming the
field, checked before anything is stored or queued, so a worker never spends minutes on
a job that was always going to be refused.

The video's length is not known before it is rendered: the narration decides it. It is
estimated from the script at the fastest usual speaking rate (`words_per_second`, 3.5
words a second by default; text without spaces counts a word per six characters),
divided by the template's `speed`. That is a lower bound of the real length, so a
script refused is surely too long; a script that slips through (a slow voice, a long
brought recording) is stopped by the render's time limit, which ends the job `failed`
with `error_kind` `timeout`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from neuroshorts.apps.service.errors import body
from neuroshorts.errors import ApiError
from neuroshorts.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CHARACTERS_PER_WORD = 6


def estimated_seconds(script: str, words_per_second: float, speed: float = 1.0) -> float:
    """A lower bound of how long `script` takes to narrate."""
    words = max(len(script.split()), len(script) / CHARACTERS_PER_WORD)
    return words / (words_per_second * (speed if speed > 0 else 1.0))


def check(
    settings: Settings,
    values: dict[str, Any],
    defaults: dict[str, Any],
    where: str = "parameters.",
) -> None:
    """Raise 413/422 naming the field when one job's parameters ask for too much."""
    size = len(json.dumps(values, ensure_ascii=False).encode())
    if size > settings.max_parameters_bytes:
        raise ApiError(
            413,
            f"the parameters take {size} bytes as JSON; at most "
            f"{settings.max_parameters_bytes} (NEUROSHORTS_MAX_PARAMETERS_BYTES)",
            where.rstrip(".") or "parameters",
        )
    script = values.get("script", defaults.get("script"))
    if not isinstance(script, str):
        return
    field = f"{where}script"
    if len(script) > settings.max_script_chars:
        raise ApiError(
            422,
            f"the script has {len(script)} characters; at most {settings.max_script_chars} "
            "(NEUROSHORTS_MAX_SCRIPT_CHARS)",
            field,
        )
    speed = values.get("speed", defaults.get("speed", 1.0))
    seconds = estimated_seconds(
        script, settings.words_per_second, speed if isinstance(speed, float) else 1.0
    )
    if seconds > settings.max_duration:
        raise ApiError(
            422,
            f"the script makes a video of at least {seconds:.0f} s (at "
            f"{settings.words_per_second:g} words a second); at most "
            f"{settings.max_duration:g} s (NEUROSHORTS_MAX_DURATION)",
            field,
        )


def check_text(fields: dict[str, Any]) -> None:
    """Refuse a lone surrogate (a JSON `\\ud800` escape) anywhere in `fields`.

    It is not Unicode: no database, file name or notebook can store it, so it is
    refused here, naming where it is, rather than failing later as a 500.
    """
    for field, value in fields.items():
        if (where := _surrogate_in(value, field)) is not None:
            raise ApiError(
                422, "contains a lone surrogate escape, which is not text; expected Unicode", where
            )


def _surrogate_in(value: Any, where: str) -> str | None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return where
    elif isinstance(value, dict):
        for key, item in value.items():
            found = _surrogate_in(key, where) or _surrogate_in(item, f"{where}.{key}")
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if (found := _surrogate_in(item, f"{where}[{index}]")) is not None:
                return found
    return None


class BodyLimit:
    """ASGI middleware: a body over `limit` bytes gets a 413 before the app reads it.

    A declared Content-Length is judged at once; a chunked body is counted as it
    arrives, so no request holds more than `limit` bytes of the server's memory.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send, f"{int(declared)} bytes")
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                await self._refuse(send, f"more than {self.limit} bytes")
                return
            more = message.get("more_body", False)
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _refuse(self, send: Send, size: str) -> None:
        reason = f"the request body is {size}; at most {self.limit} (NEUROSHORTS_MAX_BODY_BYTES)"
        payload = json.dumps(body(reason, "body")).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def _replay(content: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app the body read already, then waits as the server would."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": content, "more_body": False}
        return await receive()

    return replay
