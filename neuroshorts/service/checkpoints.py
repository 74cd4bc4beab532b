"""WAL checkpoints of the SQLite job store, done by a thread instead of by a request.

In WAL mode SQLite copies the log back into the database file (a checkpoint, with an
fsync) from inside the commit that takes the log past 1,000 pages. In the API that commit
belongs to a submit: every ~190 submits one of them paid 20 ms on an idle machine and up
to 0.2 s while renders wrote to the same disk, and every submit queued behind it waited
as long (the API's writers share one lock, see `JobStore._writing`). So the API turns
that off for its own connections and checkpoints from this thread every `every` seconds.
A PASSIVE checkpoint takes no write lock: submits go on committing while it copies.

It runs every second, so that the log stays under SQLite's threshold (50 submits a second add
~270 pages a second): past it, every commit of a worker's heartbeat checkpoints, and with
checkpoints every 10 s a heartbeat's write was seen taking 0.24 s, the API's write beside
it 0.33 s. Other processes (workers) keep SQLite's automatic checkpoints; they write little.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import Engine, event

log = logging.getLogger(__name__)


def _no_auto_checkpoint(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint = 0")
    cursor.close()


class WalCheckpoints:
    """Checkpoint `engine`'s SQLite database every `every` seconds from a daemon thread."""

    def __init__(self, engine: Engine, every: float = 1.0) -> None:
        self.engine, self.every = engine, every
        event.listen(engine, "connect", _no_auto_checkpoint)
        engine.dispose()  # connections opened before keep their automatic checkpoints
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoints", daemon=True)
        self._thread.start()

    def checkpoint(self) -> None:
        """One PASSIVE checkpoint: copies what it can, waits for nobody."""
        with self.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        """Stop the thread after a last checkpoint."""
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            stopping = self._stop.wait(self.every)
            try:
                self.checkpoint()
            except Exception:
                log.exception("WAL checkpoint failed; trying again in %s s", self.every)
            if stopping:
                return
