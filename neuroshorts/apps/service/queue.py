"""The Celery app: render jobs travel as one small message each, `neuroshorts.render(id)`.

Messages carry only the job id; the job itself lives in the store, so a message can be
delivered twice, late, or after a restart and the worker still does the right thing
(see `execute.run_job`). What Celery and the brokers give, and what is set here:

- late acknowledgement and `reject_on_worker_lost`: a render whose worker process dies
  is not acknowledged, so RabbitMQ delivers it again at once (Redis after its visibility
  timeout, the file-system broker never: see reconcile.py for those);
- one message prefetched at a time, and time limits;
- a Redis visibility timeout longer than the hard time limit, so Redis does not hand a
  running job to a second worker;
- no result backend: the job store is the one record of a job, nobody reads Celery's.
"""

from __future__ import annotations

import logging

from celery import Celery

from neuroshorts.settings import Settings

log = logging.getLogger(__name__)

RENDER_TASK = "neuroshorts.render"


def make_celery(settings: Settings) -> Celery:
    """The app for `settings` (the API sends with it; `tasks.worker_app` adds the task)."""
    settings.prepare()
    app = Celery("neuroshorts", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        broker_transport_options=settings.transport_options(),
        broker_connection_retry_on_startup=True,
        task_default_queue=settings.queue,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # A broker restarting (a second or two) should not fail the requests that
        # arrive meanwhile: a send is retried for about 4 s before the API answers 503.
        task_publish_retry_policy={
            "max_retries": 6,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 1,
        },
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=settings.time_limit,
        # A worker that loses the broker stops its renders: the broker delivers their
        # messages again, and a render left running would race its own second delivery.
        worker_cancel_long_running_tasks_on_connection_loss=True,
        worker_hijack_root_logger=False,
    )
    return app


def enqueue(app: Celery, settings: Settings, job_id: str) -> None:
    """Send the message that makes a worker render `job_id`."""
    app.send_task(RENDER_TASK, args=[job_id], queue=settings.queue)
    log.debug("queued %s on %s", job_id, settings.queue)


def check_broker(app: Celery, timeout: float = 3.0) -> None:
    """Raise unless the broker accepts a connection within `timeout` seconds."""
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=timeout)
