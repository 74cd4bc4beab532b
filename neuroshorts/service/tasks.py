"""The Celery task of a worker: one message, one job id, handed to `execute.run_job`."""

from __future__ import annotations

from celery import Celery

from neuroshorts.service import execute, queue, references
from neuroshorts.service.config import Settings


def worker_app(settings: Settings) -> Celery:
    """The Celery app of a worker: `queue.make_celery` with the render task bound to it.

    The worker (and every kernel it starts) fetches media under the service's scheme
    policy from here on: a request cannot make it read its own files.
    """
    app = queue.make_celery(settings)
    references.apply_to_process(settings)

    @app.task(name=queue.RENDER_TASK)
    def render(job_id: str) -> str:
        return execute.run_job(job_id, settings)

    return app
