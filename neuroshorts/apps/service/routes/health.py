"""`/healthz` (the process answers) and `/readyz` (the database and the broker answer)."""

from __future__ import annotations

from fastapi import APIRouter

from neuroshorts.apps.service import queue
from neuroshorts.apps.service.deps import CeleryDep, SettingsDep, StoreDep
from neuroshorts.apps.service.schemas import ErrorBody
from neuroshorts.errors import ApiError

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process answers (for liveness probes)."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"model": ErrorBody}})
def readyz(settings: SettingsDep, store: StoreDep, celery: CeleryDep) -> dict[str, str]:
    """The job database and the broker are reachable (for readiness probes)."""
    try:
        store.ping()
    except Exception as error:
        raise ApiError(503, f"database unreachable: {error}", "database") from None
    try:
        if settings.embedded:
            folder = settings.broker_folder / "messages"
            if not folder.is_dir():
                raise OSError(f"no broker folder {folder}")
        else:
            queue.check_broker(celery)
    except Exception as error:
        raise ApiError(503, f"broker unreachable: {error}", "broker") from None
    return {"status": "ready", "database": "ok", "broker": "ok"}
