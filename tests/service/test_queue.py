"""The Celery app the API sends render messages with."""

from __future__ import annotations

import threading
import uuid

import pytest
from service_stack import postgres_database
from sqlalchemy import Engine, event

from neuroshorts.service import queue
from neuroshorts.service.config import Settings


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request, tmp_path):
    if request.param == "sqlite":
        yield Settings(data_dir=tmp_path / "data")
        return
    with postgres_database(uuid.uuid4().hex[:10]) as url:
        yield Settings(data_dir=tmp_path / "data", database_url=url)


def test_request_threads_send_without_connecting_to_the_result_database(settings):
    """Celery made a result backend in each thread that sent: on the database backend that
    connected and checked its tables, 80 ms on PostgreSQL for the first submit of each of
    the API's request threads, a second's stall when 50 clients arrived together."""
    app = queue.make_celery(settings)
    queue.enqueue(app, settings, uuid.uuid4().hex)  # start-up: the one backend is made
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
    assert app.backend.thread_safe
