"""The Celery task: one message, one job id, handed to `execute.run_job`."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown

from neuroshorts import prestart
from neuroshorts.service import execute, references
from neuroshorts.service.config import Settings
from neuroshorts.service.queue import RENDER_TASK


def register(app: Celery, settings: Settings) -> None:
    """Bind the render task to `app` with the settings the worker was started with.

    The worker (and every kernel it starts) fetches media under the service's scheme
    policy from here on: a request cannot make it read its own files. Each worker
    process keeps the next job's kernel started (`prestart`), from its start on.
    """
    references.apply_to_process(settings)
    background = settings.render_priority == "idle"

    @app.task(name=RENDER_TASK, acks_late=True, reject_on_worker_lost=True)
    def render(job_id: str) -> str:
        return execute.run_job(job_id, settings)

    def prepare_kernel(**_: Any) -> None:
        prestart.prepare(background)

    def discard_kernel(**_: Any) -> None:
        prestart.discard_spare()

    worker_process_init.connect(prepare_kernel, weak=False, dispatch_uid="neuroshorts-kernel")
    worker_process_shutdown.connect(discard_kernel, weak=False, dispatch_uid="neuroshorts-spare")
