"""Write-behind of the "message sent" marks of the jobs the API queues.

Every submit stores its job, sends its message, then marks it sent (see `send_job`). The
client needs its job, not the mark, and on SQLite each write waits its turn for the one
write lock, which the workers' heartbeats also take: so the API leaves the marks to one
thread that writes whatever has gathered in one transaction, out of the request's way.
After the first mark it waits `GATHER` seconds for more: written one by one, the marks
took a sixth of the API's CPU at 50 submits a second (a transaction each), gathered they
take one transaction per batch. A mark lost with the process costs at most a second
message after `resend_after`, which a worker acknowledges and ignores (see sweeper.py).
"""

from __future__ import annotations

import logging
from datetime import datetime

from neuroshorts.service.batching import Batcher
from neuroshorts.service.store import JobStore

log = logging.getLogger(__name__)

#: Seconds the thread gathers marks after the first before writing them.
GATHER = 0.25


class SentMarks:
    """A thread writing `(job id, moment sent)` marks to `store`, batched."""

    def __init__(self, store: JobStore) -> None:
        self.store = store
        self._batcher = Batcher("sent-marks", self._write, GATHER)

    def add(self, job_id: str, moment: datetime) -> None:
        self._batcher.put((job_id, moment))

    def close(self) -> None:
        """Write what is pending, then stop."""
        self._batcher.close()

    def _write(self, marks: list[tuple[str, datetime]]) -> None:
        try:
            self.store.mark_sent(marks)
        except Exception:
            log.exception("could not mark %d jobs sent; the sweeper sends them again", len(marks))
