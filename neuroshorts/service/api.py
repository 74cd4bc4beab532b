"""The REST API (FastAPI, OpenAPI at /docs): templates, renders, batches, health.

A request is checked against the template's parameters before anything is stored or
queued, so a typo comes back at once as a 422 naming the parameter instead of as a
failed job minutes later. `Idempotency-Key` makes a repeated request (n8n's "Retry on
Fail", a flaky network) return the first job instead of rendering the video twice.
"""

from __future__ import annotations

import gc
import hashlib
import hmac
import json
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from celery import Celery
from fastapi import APIRouter, BackgroundTasks, Depends, FastAPI, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.security import APIKeyHeader

import neuroshorts
from neuroshorts import batch, templates
from neuroshorts.service import catalog, errors, limits, outputs, queue, references, webhooks
from neuroshorts.service.admissions import Admissions
from neuroshorts.service.checkpoints import WalCheckpoints
from neuroshorts.service.config import Settings
from neuroshorts.service.errors import ApiError
from neuroshorts.service.marks import SentMarks
from neuroshorts.service.schemas import (
    FINAL,
    BatchCreated,
    BatchRequest,
    ErrorBody,
    Job,
    JobList,
    RenderRequest,
    State,
    TemplateSummary,
)
from neuroshorts.service.store import IdempotencyConflict, JobStore, NewJob, new_id
from neuroshorts.service.sweeper import Sweeper, send_job

log = logging.getLogger(__name__)

#: Every status an /v1 route may answer with besides its own (413: NEUROSHORTS_MAX_*).
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 404, 409, 413, 422, 503)
}
#: What `store.new_id` makes: the ids of jobs and batches.
_JOB_ID = re.compile(r"[0-9a-f]{32}")
_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="when a key is configured")
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", max_length=255, description="same key, same job")
]


def create_app(
    settings: Settings | None = None, *, celery: Celery | None = None, sweep: bool = True
) -> FastAPI:
    """The API for `settings`; `sweep` runs the requeue sweeper in this process."""
    settings = settings or Settings()
    celery = celery or queue.make_celery(settings)
    store = JobStore(settings.database_url)
    marks = SentMarks(store)
    admissions = Admissions(store)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(_warm_up, celery)
        # The modules, routes and schemas loaded by now live as long as the process, yet
        # every full collection walked them: 280,000 objects, a 0.2 s pause of every
        # request at the submit p99 on a slow machine. Frozen, the collector skips them.
        gc.collect()
        gc.freeze()
        checkpoints = WalCheckpoints(store.engine) if store.url.startswith("sqlite") else None
        sweeper = Sweeper(store, settings, celery) if sweep else None
        if sweeper:
            sweeper.start()
        yield
        if sweeper:
            sweeper.stop()
        admissions.close()
        marks.close()
        if checkpoints:
            checkpoints.close()
        store.close()

    app = FastAPI(
        title="NeuroShorts render service",
        version=neuroshorts.__version__,
        description="Render vertical shorts from template notebooks, queued and tracked.",
        lifespan=lifespan,
    )
    app.state.settings, app.state.store, app.state.celery = settings, store, celery
    errors.install(app)
    app.add_middleware(limits.BodyLimit, limit=settings.max_body_bytes)

    # async: FastAPI runs a plain `def` dependency in a worker thread, one more thread
    # hand-off per request for a comparison of two strings.
    async def require_key(key: Annotated[str | None, Depends(_KEY)] = None) -> None:
        if settings.api_key and not (
            key and hmac.compare_digest(key.encode(), settings.api_key.encode())
        ):
            raise ApiError(401, "missing or wrong API key", "X-API-Key")

    app.include_router(_health(settings, store, celery))
    app.include_router(
        _routes(settings, store, celery, marks, admissions),
        dependencies=[Depends(require_key)],
        responses=_ERRORS,
    )
    return app


def _warm_up(celery: Celery) -> None:
    """Load what the first submit would otherwise load while clients wait.

    Celery imports its message protocol, result backend and broker transport on first
    use: 0.2 s of the first request after a start, and with 50 clients arriving at once
    all of them waited behind it (a 1 s tail). Nothing here connects to anything.
    """
    celery.amqp.send_task_message  # noqa: B018 - the properties are the imports
    celery.backend  # noqa: B018
    celery.pool  # noqa: B018
    celery.connection_for_write().transport  # noqa: B018
    for template in templates.list_templates():
        try:
            catalog.schema(template.name)
        except templates.TemplateError as error:
            log.warning("template %s: %s", template.name, error)


def _health(settings: Settings, store: JobStore, celery: Celery) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    def healthz() -> dict[str, str]:
        """The process answers (for liveness probes)."""
        return {"status": "ok"}

    @router.get("/readyz", responses={503: {"model": ErrorBody}})
    def readyz() -> dict[str, str]:
        """The job database and the broker are reachable (for readiness probes)."""
        for part, probe in (("database", store.ping), ("broker", lambda: _check(settings, celery))):
            try:
                probe()
            except Exception as error:
                raise ApiError(503, f"{part} unreachable: {error}", part) from None
        return {"status": "ready", "database": "ok", "broker": "ok"}

    return router


def _check(settings: Settings, celery: Celery) -> None:
    if settings.embedded:
        folder = settings.broker_folder / "messages"
        if not folder.is_dir():
            raise OSError(f"no broker folder {folder}")
        return
    queue.check_broker(celery)


def _routes(
    settings: Settings,
    store: JobStore,
    celery: Celery,
    marks: SentMarks,
    admissions: Admissions,
) -> APIRouter:
    router = APIRouter()
    assert settings.output_dir is not None
    output_root = settings.output_dir.resolve()

    def found(job_id: str) -> Job:
        # Ids are ours (32 hex digits): anything else is unknown without asking the
        # database, which would choke on some (PostgreSQL refuses NUL in text).
        job = store.get(job_id) if _JOB_ID.fullmatch(job_id) else None
        if job is None:
            raise ApiError(404, f"no render job {job_id!r}", "id", job_id)
        return job

    def new_job(
        template: str,
        parameters: dict[str, Any],
        output: str | None,
        callback_url: str | None,
        key: str | None,
        batch_id: str | None = None,
        where: str = "",
    ) -> NewJob:
        """Validate one request (`where` prefixes field names, e.g. `rows[3].`)."""
        limits.check_text(
            {
                f"{where}template": template,
                (where.rstrip(".") or "parameters"): parameters,
                f"{where}output": output,
                f"{where}callback_url": callback_url,
            }
        )
        try:
            checked = catalog.check(template, parameters)
            _, schema = catalog.schema(template)
        except templates.TemplateError as error:
            raise ApiError(404, str(error), "template", template) from None
        except templates.ParameterError as error:
            field = f"{where}{error.name}" if where else f"parameters.{error.name}"
            raise ApiError(422, str(error), field, error.value) from None
        defaults = {name: parameter.default for name, parameter in schema.items()}
        limits.check(settings, checked, defaults, where or "parameters.")
        references.check(settings, checked, where or "parameters.")
        _check_callback(callback_url, f"{where}callback_url" if where else "callback_url")
        job_id = new_id()
        path = outputs.resolve(
            output_root, job_id, output, f"{where}output", settings.output_prefixes
        )
        if output is not None and (other := store.active_with_output(path)):
            raise ApiError(409, f"job {other} is already rendering to {output}", "output", output)
        fingerprint = hashlib.sha256(
            json.dumps([template, checked, output, callback_url], sort_keys=True).encode()
        ).hexdigest()
        return NewJob(template, checked, path, callback_url, key, fingerprint, batch_id, job_id)

    def submit(news: list[NewJob]) -> list[tuple[Job, bool]]:
        try:
            results = admissions.create(news)
        except IdempotencyConflict as error:
            raise ApiError(409, str(error), "Idempotency-Key") from None
        for index, (job, created) in enumerate(results):
            if not created:
                continue
            try:
                send_job(store, settings, celery, job, marks)
            except Exception as error:
                for later, is_new in results[index:]:
                    if is_new:
                        store.delete(later.id)
                raise ApiError(503, f"the queue is unreachable: {error}", "broker") from None
        return results

    @router.get("/v1/templates", tags=["templates"])
    def list_templates() -> list[TemplateSummary]:
        """Every template with the JSON Schema of its parameters."""
        return [
            TemplateSummary(
                name=t.name, description=t.description, parameters=catalog.json_schema(t.name)
            )
            for t in templates.list_templates()
        ]

    @router.get("/v1/templates/{name}", tags=["templates"])
    def get_template(name: str) -> TemplateSummary:
        try:
            path, _ = catalog.schema(name)
            return TemplateSummary(
                name=path.stem, description=_description(path), parameters=catalog.json_schema(name)
            )
        except templates.TemplateError as error:
            raise ApiError(404, str(error), "name", name) from None

    @router.post(
        "/v1/renders",
        status_code=202,
        tags=["renders"],
        response_model=Job,
        responses={200: {"model": Job, "description": "the job this Idempotency-Key made"}},
    )
    def create_render(request: RenderRequest, key: IdempotencyKey = None) -> Response:
        """Queue one render; 202 with the new job, or 200 with the job a key already made."""
        new = new_job(
            request.template, request.parameters, request.output, request.callback_url, key
        )
        ((job, created),) = submit([new])
        # The job is already a valid `Job`: answering it as made skips FastAPI's second
        # validation of it, the costliest step of sending the answer.
        return Response(
            job.model_dump_json(),
            202 if created else 200,
            headers={"Location": job.links["self"]},
            media_type="application/json",
        )

    @router.get("/v1/renders", tags=["renders"])
    def list_renders(
        state: State | None = None,
        batch_id: Annotated[str | None, Query(pattern=f"^{_JOB_ID.pattern}$")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    ) -> JobList:
        """Jobs, newest first, optionally only those in one state or one batch."""
        items, total = store.list_jobs(state, batch_id, limit, offset)
        return JobList(items=items, total=total)

    @router.get("/v1/renders/{job_id}", tags=["renders"])
    def get_render(job_id: str) -> Job:
        return found(job_id)

    @router.post(
        "/v1/renders/{job_id}/cancel",
        status_code=202,
        tags=["renders"],
        responses={200: {"model": Job, "description": "a queued job, cancelled at once"}},
    )
    def cancel_render(job_id: str, response: Response, background: BackgroundTasks) -> Job:
        """Cancel: a queued job at once (200), a running one as soon as its worker hears (202).

        A running render is stopped within a couple of seconds: its kernel and ffmpeg
        are killed and nothing it wrote is kept; the job then reads `cancelled`.
        """
        job = found(job_id)
        if job.state in FINAL:
            raise ApiError(409, f"the job already {job.state}", "id", job_id)
        job = store.request_cancel(job_id) or job
        if job.state == State.cancelled:
            response.status_code = 200
            background.add_task(webhooks.deliver, store, settings, job.id)
        return job

    @router.get(
        "/v1/renders/{job_id}/video",
        tags=["renders"],
        response_class=FileResponse,
        responses={200: {"content": {"video/mp4": {}}}, 307: {"description": "stored elsewhere"}},
    )
    def get_video(job_id: str) -> Response:
        """The MP4 of a succeeded job (or a redirect to its share link)."""
        job = found(job_id)
        if job.state != State.succeeded or job.manifest is None:
            raise ApiError(409, f"the job is {job.state}; a video exists once it succeeded", "id")
        if job.share_url:
            return RedirectResponse(job.share_url, 307)
        video = Path(job.manifest["video"])
        if not video.is_file():
            raise ApiError(404, f"the video of job {job_id} is no longer on disk", "id", job_id)
        return FileResponse(video, media_type="video/mp4", filename=f"{job_id}.mp4")

    @router.get(
        "/v1/renders/{job_id}/notebook",
        tags=["renders"],
        response_class=FileResponse,
        responses={200: {"content": {"application/x-ipynb+json": {}}}},
    )
    def get_notebook(job_id: str) -> Response:
        """The executed template notebook: the record of the run, also of a failed one."""
        job = found(job_id)
        notebook = (job.manifest or {}).get("notebook")
        if notebook is None and "://" not in job.output:
            notebook = str(Path(job.output).with_suffix(".ipynb"))
        if not notebook or not Path(notebook).is_file():
            raise ApiError(404, f"job {job_id} has no executed notebook (yet)", "id", job_id)
        return FileResponse(
            notebook, media_type="application/x-ipynb+json", filename=f"{job_id}.ipynb"
        )

    @router.post(
        "/v1/batches",
        status_code=202,
        tags=["renders"],
        responses={415: {"model": ErrorBody}},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": BatchRequest.model_json_schema()},
                    "text/csv": {"schema": {"type": "string"}},
                    "application/x-ndjson": {"schema": {"type": "string"}},
                },
            }
        },
    )
    async def create_batch(
        request: Request,
        template: Annotated[str | None, Query(description="for CSV/JSONL bodies")] = None,
        callback_url: Annotated[str | None, Query(description="for CSV/JSONL bodies")] = None,
        key: IdempotencyKey = None,
    ) -> BatchCreated:
        """Many jobs at once: a JSON body, or CSV/JSON Lines rows with `?template=`.

        Every row is checked before any is queued: one bad row rejects the batch with
        a 422 naming the row and the parameter. Each row may set its own `output`.
        """
        raw = await request.body()
        kind = request.headers.get("content-type", "application/json").split(";")[0].strip()
        parsed = await run_in_threadpool(_read_batch, raw, kind, template, callback_url)
        if len(parsed.rows) > settings.max_batch_rows:
            raise ApiError(
                422,
                f"the batch has {len(parsed.rows)} rows; at most {settings.max_batch_rows} "
                "(NEUROSHORTS_MAX_BATCH_ROWS)",
                "rows",
            )
        batch_id = new_id()

        def build() -> list[NewJob]:
            news = []
            for index, row in enumerate(parsed.rows):
                values = dict(row)
                output = values.pop("output", None)
                news.append(
                    new_job(
                        parsed.template,
                        values,
                        str(output) if output not in (None, "") else None,
                        parsed.callback_url,
                        f"{key}#{index}" if key else None,
                        batch_id,
                        f"rows[{index}].",
                    )
                )
            return news

        news = await run_in_threadpool(build)
        results = await run_in_threadpool(submit, news)
        return BatchCreated(
            batch_id=results[0][0].batch_id or batch_id, jobs=[j for j, _ in results]
        )

    return router


def _read_batch(
    raw: bytes, kind: str, template: str | None, callback_url: str | None
) -> BatchRequest:
    """The batch in a JSON body, or rows of CSV / JSON Lines with the template in the query."""
    if kind == "application/json":
        try:
            return BatchRequest.model_validate_json(raw)
        except ValueError as error:
            details = getattr(error, "errors", lambda: [])()
            first = details[0] if details else {"loc": (), "msg": str(error)}
            field = errors._where(tuple(first.get("loc", ()))) or "body"
            raise ApiError(422, first["msg"], field) from None
    if kind not in ("text/csv", "application/x-ndjson", "application/jsonl"):
        raise ApiError(415, f"unsupported Content-Type {kind!r}", "Content-Type", kind)
    if not template:
        raise ApiError(
            422, "CSV and JSON Lines batches name the template in ?template=", "template"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApiError(422, "the rows are not UTF-8 text", "body") from None
    if not text.strip():
        raise ApiError(422, "the batch has no rows", "rows")
    try:
        # With a line break it is always read as text: read_rows takes a one-line
        # string for a file name, and a request must never name a server file.
        rows = batch.read_rows(text.rstrip("\n") + "\n", "csv" if kind == "text/csv" else "jsonl")
    except batch.BatchError as error:
        raise ApiError(422, str(error), "rows") from None
    return BatchRequest(template=template, rows=rows, callback_url=callback_url)


def _description(path: Path) -> str:
    return next((t.description for t in templates.list_templates() if t.path == path), "")


def _check_callback(url: str | None, field: str) -> None:
    if url is None:
        return
    try:
        parts = urlsplit(url)
        web = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        web = False
    # Whitespace and control characters make no valid URL (and NUL no database text).
    if not web or not url.isprintable() or " " in url:
        raise ApiError(422, "an http:// or https:// URL", field, url)
