"""A thread that takes queued items a batch at a time, for writes cheaper together.

The API's store writes (new jobs, sent marks) cost mostly per transaction, and on SQLite
each waits its turn for one write lock: one thread writing whatever has gathered in one
transaction beats every request thread writing its own.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

Item = TypeVar("Item")
_STOP = object()


class Batcher(Generic[Item]):
    """Hands `handle` the items put since its last call, in order, on a thread of its own.

    After the first item of a batch it waits `gather` seconds for more: longer batches
    for writes nobody waits on, none (what is already queued) for those a client waits on.
    """

    def __init__(
        self, name: str, handle: Callable[[list[Item]], None], gather: float = 0.0
    ) -> None:
        self._handle, self._gather = handle, gather
        self._queue: queue.SimpleQueue[Item | object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, item: Item) -> None:
        self._queue.put(item)

    def close(self) -> None:
        """Handle what is queued, then stop."""
        self._queue.put(_STOP)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch: list[Item] = []
            item = self._queue.get()
            until = time.monotonic() + self._gather
            while True:
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)  # type: ignore[arg-type]
                try:
                    item = self._queue.get(timeout=max(0.0, until - time.monotonic()))
                except queue.Empty:
                    break
            if not batch:
                continue
            try:
                self._handle(batch)
            except Exception:  # the thread must live on: the next batch has waiters too
                log.exception("%s: a batch of %d failed", self._thread.name, len(batch))
