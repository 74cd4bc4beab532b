"""The Celery task of a worker: one message, one job id, handed to `execute.run_job`."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown

from neuroshorts.apps.service import execute, queue, references
from neuroshorts.kernels import prestart
from neuroshorts.settings import Settings


def worker_app(settings: Settings) -> Celery:
    """The Celery app of a worker: `queue.make_celery` with the render task bound to it.

    The worker (and every kernel it starts) fetches media under the service's scheme
    policy from here on: a request cannot make it read its own files. Each worker
    process keeps the next job's kernel started (`prestart`), from its start on, each
    forked from a server of its own that has the engine imported.
    """
    app = queue.make_celery(settings)
    references.apply_to_process(settings)
    background = settings.render_priority == "idle"

    @app.task(name=queue.RENDER_TASK)
    def render(job_id: str) -> str:
        return execute.run_job(job_id, settings)

    def prepare_kernel(**_: Any) -> None:
        prestart.fork_kernels()
        prestart.prepare(background)

    def discard_kernel(**_: Any) -> None:
        prestart.discard_spare()

    worker_process_init.connect(prepare_kernel, weak=False, dispatch_uid="neuroshorts-kernel")
    worker_process_shutdown.connect(discard_kernel, weak=False, dispatch_uid="neuroshorts-spare")
    return app
