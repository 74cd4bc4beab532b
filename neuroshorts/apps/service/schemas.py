"""What the API reads and writes, as pydantic models (they are also the OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class State(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


#: States a job never leaves.
FINAL = frozenset({State.succeeded, State.failed, State.cancelled})


class RenderRequest(BaseModel):
    """One render: a template, its parameters, where the video goes and whom to call back."""

    model_config = ConfigDict(extra="forbid")

    template: str = Field(examples=["explainer"], min_length=1, max_length=200)
    parameters: dict[str, Any] = Field(
        default_factory=dict, examples=[{"script": "Hello there.", "quality": "draft"}]
    )
    output: str | None = Field(
        None,
        description="MP4 path relative to the output directory, or a storage URL; "
        "default <output_dir>/<job id>.mp4",
        max_length=1000,
    )
    callback_url: str | None = Field(
        None,
        description="POSTed the job JSON when it ends (signed, X-NeuroShorts-Signature)",
        max_length=2000,
    )


class BatchRequest(BaseModel):
    """Many renders of one template: each row is one job's parameters."""

    model_config = ConfigDict(extra="forbid")

    template: str = Field(min_length=1, max_length=200)
    rows: list[dict[str, Any]] = Field(min_length=1)
    callback_url: str | None = Field(None, max_length=2000)


class Delivery(BaseModel):
    """One attempt to deliver a job's webhook."""

    attempt: int
    at: datetime
    status: int | None = None
    error: str | None = None
    seconds: float


class Webhook(BaseModel):
    url: str
    state: str = Field(description="pending, delivered or failed")
    deliveries: list[Delivery] = Field(default_factory=list)


class Worker(BaseModel):
    host: str | None = None
    pid: int | None = None
    kernel_pid: int | None = None


class Job(BaseModel):
    """A render job as clients see it (GET /v1/renders/{id}, and the webhook body)."""

    id: str
    state: State
    template: str
    parameters: dict[str, Any]
    output: str
    progress: float = Field(ge=0, le=1)
    stage: str | None = None
    error: str | None = None
    error_kind: str | None = Field(
        None,
        description="why a failed job failed: timeout (past its time limit), lost (its "
        "worker stopped on every attempt) or render (the template or its media)",
    )
    manifest: dict[str, Any] | None = None
    video_url: str | None = None
    share_url: str | None = None
    expires_at: datetime | None = None
    cancel_requested: bool = False
    attempt: int = 0
    batch_id: str | None = None
    idempotency_key: str | None = None
    webhook: Webhook | None = None
    worker: Worker = Field(default_factory=Worker)
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    updated_at: datetime
    links: dict[str, str] = Field(default_factory=dict)


class JobList(BaseModel):
    items: list[Job]
    total: int


class BatchCreated(BaseModel):
    batch_id: str
    jobs: list[Job]


class TemplateSummary(BaseModel):
    name: str
    description: str
    parameters: dict[str, Any] = Field(description="JSON Schema of the template's parameters")


class ErrorDetail(BaseModel):
    field: str | None = Field(None, description="the request field at fault, if one is")
    reason: str
    value: Any = None


class ErrorBody(BaseModel):
    error: ErrorDetail
