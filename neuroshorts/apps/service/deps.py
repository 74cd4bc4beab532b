"""What routes take through `Depends`: the app's settings, job store and Celery app, and
the API-key check. `api.create_app` puts the three on `app.state`; routes ask for them
here, so no route is defined inside a function that closes over them."""

from __future__ import annotations

import hmac
import re
from typing import Annotated, Any

from celery import Celery
from fastapi import Depends, Header, Request
from fastapi.security import APIKeyHeader

from neuroshorts.apps.service.schemas import ErrorBody, Job
from neuroshorts.apps.service.store import JobStore
from neuroshorts.errors import ApiError
from neuroshorts.settings import Settings

#: Every status an /v1 route may answer with besides its own (413: NEUROSHORTS_MAX_*).
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 404, 409, 413, 422, 503)
}
#: What `store.new_id` makes: the ids of jobs and batches.
JOB_ID = re.compile(r"[0-9a-f]{32}")
_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="when a key is configured")


def settings(request: Request) -> Settings:
    return request.app.state.settings


def store(request: Request) -> JobStore:
    return request.app.state.store


def celery(request: Request) -> Celery:
    return request.app.state.celery


SettingsDep = Annotated[Settings, Depends(settings)]
StoreDep = Annotated[JobStore, Depends(store)]
CeleryDep = Annotated[Celery, Depends(celery)]
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", max_length=255, description="same key, same job")
]


# async: FastAPI runs a plain `def` dependency in a worker thread, one more thread hand-off
# per request for a comparison of two strings.
async def require_key(
    settings: SettingsDep, key: Annotated[str | None, Depends(_KEY)] = None
) -> None:
    """401 naming `X-API-Key` unless the configured key was sent (none configured: open)."""
    if settings.api_key and not (
        key and hmac.compare_digest(key.encode(), settings.api_key.encode())
    ):
        raise ApiError(401, "missing or wrong API key", "X-API-Key")


def found_job(job_id: str, store: StoreDep) -> Job:
    """The job of the path's `job_id`, or a 404 naming `id`."""
    # Ids are ours (32 hex digits): anything else is unknown without asking the database,
    # which would choke on some (PostgreSQL refuses NUL in text).
    job = store.get(job_id) if JOB_ID.fullmatch(job_id) else None
    if job is None:
        raise ApiError(404, f"no render job {job_id!r}", "id", job_id)
    return job
