"""Reconciliation: the job store is the record of what must run; the broker only carries it.

Every job the store shows `queued` must have a message in the broker, and every job it
shows `running` a worker that lives. What Celery and the brokers give covers part of it
(see queue.py): with late acks and `reject_on_worker_lost`, RabbitMQ delivers a killed
worker's message again at once, and durable queues with persistent messages survive a
RabbitMQ restart or a Redis with `appendfsync always`. The rest no broker setting covers:

- a worker killed mid-render on Redis: its message comes back only after the visibility
  timeout, which must outlast the hard time limit (an hour is normal), and on the
  file-system broker never;
- a job stored whose message never left: the API died between the two, or a send failed;
- a broker restarted without persistence: every message it held is gone, silently.

So the API runs `sweep` every `sweep_interval` seconds (a thread, `Reconciler`): a running
job whose heartbeat is older than the lease, or whose worker process on this host is
gone, is put back in the queue and sent; a queued job never marked sent is sent once
`resend_after` has passed; and a canary message kept in a queue no worker reads tells
whether the broker forgot: when it is gone, every queued job sent before is sent again.
Sending too often is harmless: a worker that gets a job already claimed or finished
acknowledges the message and does nothing (`JobStore.claim`). The API sends new jobs
with the same `send`.
"""

from __future__ import annotations

import codecs
import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from celery import Celery
from kombu import Queue
from kombu.exceptions import OperationalError

from neuroshorts.apps.service import execute, queue
from neuroshorts.apps.service.schemas import Job
from neuroshorts.apps.service.store import JobStore, now
from neuroshorts.settings import Settings

log = logging.getLogger(__name__)


def send(store: JobStore, settings: Settings, app: Celery, jobs: Sequence[Job]) -> None:
    """Hand each job's message to the broker, then mark them sent in one write.

    The moment is taken before sending, so a broker found to have lost its messages
    after it is known to have lost these too. Raises what the broker raised; the jobs
    sent before that are marked.
    """
    moment, sent = now(), []
    try:
        for job in jobs:
            queue.enqueue(app, settings, job.id)
            sent.append(job.id)
    finally:
        if sent:
            store.mark_sent(sent, moment)


def sweep(store: JobStore, settings: Settings, app: Celery) -> list[str]:
    """One reconciliation; returns the ids of the jobs it sent."""
    lost, resend = [], []
    if not _canary_present(app, settings):
        # The lost jobs are marked unsent before the canary goes in: should this sweep end
        # before it has sent them all, the next one finds the canary but also the marks;
        # should the broker lose the canary again while we send, the next one sees that.
        lost = store.unmark_sent(before=now())
        _plant_canary(app, settings)
        log.warning("the broker holds no canary: every queued job is sent again")
    for job in store.running():
        if store.abandoned(job, settings.lease, execute.holder_alive) and store.requeue(job):
            log.warning(
                "job %s requeued: its worker (%s pid %s) stopped during attempt %d",
                job.id,
                job.worker.host,
                job.worker.pid,
                job.attempt,
            )
            resend.append(job)
    due = {job.id for job in resend}
    for job in [*lost, *store.to_send(unsent_for=settings.resend_after)]:
        if job.id not in due:
            log.warning("job %s sent again: the broker never got or lost its message", job.id)
            due.add(job.id)
            resend.append(job)
    send(store, settings, app, resend)
    return [job.id for job in resend]


def _canary_queue(settings: Settings) -> Queue:
    """`<queue>.canary`: beside the render queue, never consumed."""
    name = f"{settings.queue}.canary"
    return Queue(name, routing_key=name, durable=True, auto_delete=False)


def _canary_present(app: Celery, settings: Settings, timeout: float = 3.0) -> bool:
    """Whether the broker still holds the canary; raises if the broker is unreachable."""
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=timeout)
        declared = _canary_queue(settings).bind(connection.default_channel).queue_declare()
        return bool(declared.message_count)


def _plant_canary(app: Celery, settings: Settings) -> None:
    """Put the canary in the broker (durable and persistent, where the broker has such)."""
    canary = _canary_queue(settings)
    with app.connection_for_write() as connection:
        connection.Producer().publish(
            {"canary": datetime.now(UTC).isoformat()},
            exchange="",
            routing_key=canary.routing_key,
            declare=[canary],
            serializer="json",
            delivery_mode="persistent",
        )
    log.info("canary planted in %s", canary.name)


class Reconciler:
    """Runs `sweep` at once (jobs stranded while nothing ran), then every interval."""

    def __init__(self, store: JobStore, settings: Settings, app: Celery) -> None:
        self.store, self.settings, self.app = store, settings, app
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reconciler", daemon=True)

    def start(self) -> None:
        # The thread's first broker connection and the server's first address lookup
        # each load the idna codec on first use; two threads importing it at once met a
        # CPython import race (KeyError 'stringprep', the API exiting at start; seen once
        # in CI). Loaded before the thread exists, it is never imported concurrently.
        codecs.lookup("idna")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        every = self.settings.sweep_interval
        while True:
            try:
                sweep(self.store, self.settings, self.app)
            except OperationalError as error:
                log.warning("sweep: broker unreachable (%s); trying again in %s s", error, every)
            except Exception:
                log.exception("sweep failed; trying again in %s s", every)
            if self._stop.wait(every):
                return
