"""The batching thread behind the API's group commit and its sent marks."""

from __future__ import annotations

import threading
import time

from neuroshorts.service.batching import Batcher


def test_a_failed_batch_leaves_the_thread_serving_the_next(caplog):
    """Submits wait on the thread for their jobs: were it to die, every later one would
    wait for ever."""
    handled: list[list[int]] = []
    second = threading.Event()

    def handle(batch: list[int]) -> None:
        handled.append(batch)
        if len(handled) == 1:
            raise RuntimeError("database gone")
        second.set()

    batcher = Batcher("test-batcher", handle)
    batcher.put(1)
    while not handled:
        time.sleep(0.01)
    batcher.put(2)
    assert second.wait(5)
    batcher.close()
    assert handled == [[1], [2]]
    assert "test-batcher: a batch of 1 failed" in caplog.text


def test_items_put_within_the_gathering_time_are_handled_together():
    handled: list[list[int]] = []
    batcher = Batcher("test-gather", handled.append, gather=0.5)
    for item in range(5):
        batcher.put(item)
    batcher.close()
    assert handled == [[0, 1, 2, 3, 4]]
