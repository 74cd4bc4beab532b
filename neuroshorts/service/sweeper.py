"""The sweeper: the job store is the record of what must run; the broker only carries it.

Brokers disagree on what happens to the message of a worker killed mid-render: RabbitMQ
delivers it again at once, Redis only after the visibility timeout (longer than the hard
time limit, so an hour is normal), and the file-system broker of the embedded mode never.
The job store knows better: a running job whose heartbeat is older than the lease, or
whose worker process on this host is gone, is requeued, whichever broker is in use. A
job that was also cancelled, or that has used up its attempts, is closed by the worker
that receives the new message (see `JobStore.claim`).

Queued jobs can lose their message too: the API may die between storing a job and
sending it, a send may fail while the broker restarts, and a broker restarted without
persistence forgets every message it held. So a queued job whose message was never sent
is sent after `resend_after` seconds, and when the broker's canary is gone (see
canary.py) every queued job is sent again. Sending too often is harmless: a worker that
receives a job already claimed or finished acknowledges the message and does nothing.
"""

from __future__ import annotations

import logging
import threading

from celery import Celery
from kombu.exceptions import OperationalError

from neuroshorts.service import canary, execute, queue
from neuroshorts.service.config import Settings
from neuroshorts.service.marks import SentMarks
from neuroshorts.service.schemas import Job
from neuroshorts.service.store import JobStore, now

log = logging.getLogger(__name__)


def sweep(store: JobStore, settings: Settings, app: Celery) -> list[str]:
    """Requeue every abandoned running job, send every queued job that lacks a message;
    returns the ids of the jobs sent."""
    lost_before = None
    if not canary.present(app, settings):
        # Planted first: should the broker lose it again while we send, the next sweep
        # sees that too.
        lost_before = now()
        canary.plant(app, settings)
        log.warning("the broker holds no canary: every queued job is sent again")
    sent = []
    for job in store.running():
        if store.abandoned(job, settings.lease, execute.holder_alive) and store.requeue(job):
            log.warning(
                "job %s requeued: its worker (%s pid %s) stopped during attempt %d",
                job.id,
                job.worker.host,
                job.worker.pid,
                job.attempt,
            )
            send_job(store, settings, app, job)
            sent.append(job.id)
    for job in store.to_send(unsent_for=settings.resend_after, sent_before=lost_before):
        if job.id not in sent:
            log.warning("job %s sent again: the broker never got or lost its message", job.id)
            send_job(store, settings, app, job)
            sent.append(job.id)
    return sent


def send_job(
    store: JobStore, settings: Settings, app: Celery, job: Job, marks: SentMarks | None = None
) -> None:
    """Hand the job's message to the broker and record when (the time taken before),
    at once or, with `marks`, written behind."""
    moment = now()
    queue.enqueue(app, settings, job.id)
    if marks is None:
        store.mark_sent([(job.id, moment)])
    else:
        marks.add(job.id, moment)


class Sweeper:
    """Runs `sweep` every `settings.sweep_interval` seconds in a daemon thread."""

    def __init__(self, store: JobStore, settings: Settings, app: Celery) -> None:
        self.store, self.settings, self.app = store, settings, app
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        """Sweep at once (jobs stranded while nothing ran), then every interval."""
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
