"""`/v1/batches`: many renders of one template at once, from JSON, CSV or JSON Lines rows.

Every row is checked before any is stored: one bad row rejects the batch with a 422
naming the row and the parameter (`rows[7].zoom`), and nothing is queued.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from neuroshorts.apps import batch
from neuroshorts.apps.service import admission, errors
from neuroshorts.apps.service.deps import CeleryDep, IdempotencyKey, SettingsDep, StoreDep
from neuroshorts.apps.service.schemas import BatchCreated, BatchRequest, ErrorBody
from neuroshorts.apps.service.store import JobStore, NewJob, new_id
from neuroshorts.errors import ApiError, BatchError
from neuroshorts.settings import Settings

router = APIRouter(tags=["renders"])


@router.post(
    "/v1/batches",
    status_code=202,
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
    settings: SettingsDep,
    store: StoreDep,
    celery: CeleryDep,
    template: Annotated[str | None, Query(description="for CSV/JSONL bodies")] = None,
    callback_url: Annotated[str | None, Query(description="for CSV/JSONL bodies")] = None,
    key: IdempotencyKey = None,
) -> BatchCreated:
    """Many jobs at once: a JSON body, or CSV/JSON Lines rows with `?template=`.

    Every row is checked before any is queued: one bad row rejects the batch with a 422
    naming the row and the parameter. Each row may set its own `output`.
    """
    raw = await request.body()
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip()
    parsed = await run_in_threadpool(_read_batch, raw, kind, template, callback_url)
    news = await run_in_threadpool(_check_rows, settings, store, parsed, key)
    results = await run_in_threadpool(admission.submit, settings, store, celery, news)
    first = results[0][0].batch_id or str(news[0].batch_id)
    return BatchCreated(batch_id=first, jobs=[job for job, _ in results])


def _check_rows(
    settings: Settings, store: JobStore, parsed: BatchRequest, key: str | None
) -> list[NewJob]:
    """One job per row, each checked like a render of its own."""
    if len(parsed.rows) > settings.max_batch_rows:
        raise ApiError(
            422,
            f"the batch has {len(parsed.rows)} rows; at most {settings.max_batch_rows} "
            "(NEUROSHORTS_MAX_BATCH_ROWS)",
            "rows",
        )
    batch_id = new_id()
    news = []
    for index, row in enumerate(parsed.rows):
        values = dict(row)
        output = values.pop("output", None)
        asked = admission.Request(
            parsed.template,
            values,
            str(output) if output not in (None, "") else None,
            parsed.callback_url,
            f"{key}#{index}" if key else None,
            batch_id,
            f"rows[{index}].",
        )
        news.append(admission.check(settings, store, asked))
    return news


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
    except BatchError as error:
        raise ApiError(422, str(error), "rows") from None
    return BatchRequest(template=template, rows=rows, callback_url=callback_url)
