"""Pydantic schemas exchanged between the parts: the result manifest of a render."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field


class CaptionCue(BaseModel):
    text: str
    start: float
    end: float


class Manifest(BaseModel):
    """What a render produced, written as JSON beside the video.

    It is the contract between a template run and whoever asked for it (CLI, worker,
    webhook): everything needed to use or audit the video without opening it.
    """

    video: str
    duration: float
    width: int
    height: int
    fps: int
    quality: str
    narration_duration: float | None = None
    template: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    notebook: str | None = None
    #: SHA-256 of the template notebook that ran: which version, when templates change.
    template_sha256: str | None = None
    srt: str | None = None
    vtt: str | None = None
    ass: str | None = None
    captions: list[CaptionCue] = Field(default_factory=list)
    thumbnail: str | None = None
    stages: dict[str, float] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)
    #: Where the video was published (`file://`, `s3://`, `gs://`), a link to share it
    #: (presigned for object stores, None for local files) and when that link expires.
    video_url: str | None = None
    share_url: str | None = None
    expires_at: datetime | None = None
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    def _repr_json_(self) -> dict[str, Any]:
        """Shown as JSON in notebooks, so the executed notebook records the result."""
        return self.model_dump(mode="json")
