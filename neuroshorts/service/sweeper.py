"""The sweeper: a running job whose worker went silent goes back in the queue.

Brokers disagree on what happens to the message of a worker killed mid-render: RabbitMQ
delivers it again at once, Redis only after the visibility timeout (longer than the hard
time limit, so an hour is normal), and the file-system broker of the embedded mode never.
The job store knows better: a running job whose heartbeat is older than the lease, or
whose worker process on this host is gone, is requeued, whichever broker is in use. A
job that was also cancelled, or that has used up its attempts, is closed by the worker
that receives the new message (see `JobStore.claim`).
"""

from __future__ import annotations

import logging
import threading

from celery import Celery

from neuroshorts.service import execute, queue
from neuroshorts.service.config import Settings
from neuroshorts.service.store import JobStore

log = logging.getLogger(__name__)


def sweep(store: JobStore, settings: Settings, app: Celery) -> list[str]:
    """Requeue every abandoned running job once; returns their ids."""
    requeued = []
    for job in store.running():
        if store.abandoned(job, settings.lease, execute.holder_alive) and store.requeue(job):
            queue.enqueue(app, settings, job.id)
            log.warning(
                "job %s requeued: its worker (%s pid %s) stopped during attempt %d",
                job.id,
                job.worker.host,
                job.worker.pid,
                job.attempt,
            )
            requeued.append(job.id)
    return requeued


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
        while True:
            try:
                sweep(self.store, self.settings, self.app)
            except Exception:
                log.exception("sweep failed; trying again in %s s", self.settings.sweep_interval)
            if self._stop.wait(self.settings.sweep_interval):
                return
