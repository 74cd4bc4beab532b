"""The Celery app the API sends render messages with."""

from __future__ import annotations

import threading
import uuid

from sqlalchemy import Engine, event

from neuroshorts.apps.service import queue
from neuroshorts.settings import Settings


def test_sending_from_request_threads_touches_no_database(tmp_path):
    """The job store is the one record of a job: Celery keeps no results. (With Celery's
    database result backend, the first send of each of the API's request threads made a
    backend that connected and checked its tables: 80 ms each on PostgreSQL.)"""
    settings = Settings(data_dir=tmp_path / "data")
    app = queue.make_celery(settings)
    connected = []
    listener = lambda *_: connected.append(threading.current_thread().name)  # noqa: E731
    event.listen(Engine, "connect", listener)
    try:
        senders = [
            threading.Thread(target=queue.enqueue, args=(app, settings, uuid.uuid4().hex))
            for _ in range(3)
        ]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
    finally:
        event.remove(Engine, "connect", listener)
    assert connected == []
    assert len(list((settings.broker_folder / "messages").iterdir())) == 3
