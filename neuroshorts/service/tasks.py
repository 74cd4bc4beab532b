"""The Celery task: one message, one job id, handed to `execute.run_job`."""

from __future__ import annotations

from celery import Celery

from neuroshorts.service import execute, references
from neuroshorts.service.config import Settings
from neuroshorts.service.queue import RENDER_TASK


def register(app: Celery, settings: Settings) -> None:
    """Bind the render task to `app` with the settings the worker was started with.

    The worker (and every kernel it starts) fetches media under the service's scheme
    policy from here on: a request cannot make it read its own files.
    """
    references.apply_to_process(settings)

    @app.task(name=RENDER_TASK, acks_late=True, reject_on_worker_lost=True)
    def render(job_id: str) -> str:
        return execute.run_job(job_id, settings)
