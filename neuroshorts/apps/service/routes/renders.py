"""`/v1/renders`: queue one render, list and read jobs, cancel, fetch its video, notebook, log.

`Idempotency-Key` makes a repeated request (n8n's "Retry on Fail", a flaky network)
return the first job instead of rendering the video twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Response
from fastapi.responses import FileResponse, RedirectResponse

from neuroshorts.apps.service import admission, webhooks
from neuroshorts.apps.service.deps import (
    JOB_ID,
    CeleryDep,
    IdempotencyKey,
    SettingsDep,
    StoreDep,
    found_job,
)
from neuroshorts.apps.service.schemas import FINAL, Job, JobList, RenderRequest, State
from neuroshorts.errors import ApiError
from neuroshorts.media import storage
from neuroshorts.output.bundle import LOG, NOTEBOOK, Bundle

router = APIRouter(tags=["renders"])
FoundJob = Annotated[Job, Depends(found_job)]


@router.post(
    "/v1/renders",
    status_code=202,
    response_model=Job,
    responses={200: {"model": Job, "description": "the job this Idempotency-Key made"}},
)
def create_render(
    request: RenderRequest,
    settings: SettingsDep,
    store: StoreDep,
    celery: CeleryDep,
    key: IdempotencyKey = None,
) -> Response:
    """Queue one render; 202 with the new job, or 200 with the job a key already made."""
    asked = admission.Request(
        request.template, request.parameters, request.output, request.callback_url, key
    )
    new = admission.check(settings, store, asked)
    ((job, created),) = admission.submit(settings, store, celery, [new])
    return Response(
        job.model_dump_json(),
        202 if created else 200,
        headers={"Location": job.links["self"]},
        media_type="application/json",
    )


@router.get("/v1/renders")
def list_renders(
    store: StoreDep,
    state: State | None = None,
    batch_id: Annotated[str | None, Query(pattern=f"^{JOB_ID.pattern}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> JobList:
    """Jobs, newest first, optionally only those in one state or one batch."""
    items, total = store.list_jobs(state, batch_id, limit, offset)
    return JobList(items=items, total=total)


@router.get("/v1/renders/{job_id}")
def get_render(job: FoundJob) -> Job:
    return job


@router.post(
    "/v1/renders/{job_id}/cancel",
    status_code=202,
    responses={200: {"model": Job, "description": "a queued job, cancelled at once"}},
)
def cancel_render(
    job: FoundJob,
    response: Response,
    background: BackgroundTasks,
    settings: SettingsDep,
    store: StoreDep,
) -> Job:
    """Cancel: a queued job at once (200), a running one as soon as its worker hears (202).

    A running render is stopped within a couple of seconds: its kernel and ffmpeg are
    killed and nothing it wrote is kept; the job then reads `cancelled`.
    """
    if job.state in FINAL:
        raise ApiError(409, f"the job already {job.state}", "id", job.id)
    job = store.request_cancel(job.id) or job
    if job.state == State.cancelled:
        response.status_code = 200
        background.add_task(webhooks.deliver, store, settings, job.id)
    return job


@router.get(
    "/v1/renders/{job_id}/video",
    response_class=FileResponse,
    responses={200: {"content": {"video/mp4": {}}}, 307: {"description": "in a bucket"}},
)
def get_video(job: FoundJob, settings: SettingsDep) -> Response:
    """The MP4 of a succeeded job, or a redirect to a fresh signed link to it in a bucket."""
    if job.state != State.succeeded or job.manifest is None:
        raise ApiError(409, f"the job is {job.state}; a video exists once it succeeded", "id")
    if storage.is_remote(job.output):
        return _signed_redirect(job.output, settings)
    video = Path(job.manifest["video"])
    if not video.is_file():
        raise ApiError(404, f"the video of job {job.id} is no longer on disk", "id", job.id)
    return FileResponse(video, media_type="video/mp4", filename=f"{job.id}.mp4")


@router.get(
    "/v1/renders/{job_id}/notebook",
    response_class=FileResponse,
    responses={
        200: {"content": {"application/x-ipynb+json": {}}},
        307: {"description": "in a bucket"},
    },
)
def get_notebook(job: FoundJob, settings: SettingsDep) -> Response:
    """The executed template notebook: the record of the run, also of a failed one."""
    if storage.is_remote(job.output):
        if job.state not in (State.succeeded, State.failed):
            raise ApiError(404, f"job {job.id} has no executed notebook (yet)", "id", job.id)
        return _signed_redirect(storage.sibling_url(job.output, NOTEBOOK), settings)
    notebook = (job.manifest or {}).get("notebook")
    if notebook is None and "://" not in job.output:
        notebook = str(Bundle(Path(job.output)).notebook)
    if not notebook or not Path(notebook).is_file():
        raise ApiError(404, f"job {job.id} has no executed notebook (yet)", "id", job.id)
    return FileResponse(notebook, media_type="application/x-ipynb+json", filename=f"{job.id}.ipynb")


@router.get(
    "/v1/renders/{job_id}/log",
    response_class=FileResponse,
    responses={200: {"content": {"text/plain": {}}}, 307: {"description": "in a bucket"}},
)
def get_log(job: FoundJob, settings: SettingsDep) -> Response:
    """The job's own log lines, from whichever worker ran it (once it ended, for a bucket)."""
    if storage.is_remote(job.output):
        if job.state not in FINAL:
            raise ApiError(404, f"the log of job {job.id} is uploaded when it ends", "id", job.id)
        return _signed_redirect(storage.sibling_url(job.output, LOG), settings)
    log = Bundle(Path(job.output)).log
    if not log.is_file():
        raise ApiError(404, f"job {job.id} has no log (yet)", "id", job.id)
    return FileResponse(log, media_type="text/plain", filename=f"{job.id}.log")


def _signed_redirect(url: str, settings: SettingsDep) -> Response:
    """307 to a link signed now: the API needs no copy of the file, nor any disk of it."""
    try:
        link = storage.signed_link(url, settings.link_expiry)
    except Exception as error:
        raise ApiError(502, f"a link to {url} could not be signed ({error})", "id") from error
    return RedirectResponse(link, 307)
