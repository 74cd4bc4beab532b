"""The broker's memory, checked: one message in a queue of its own that no worker reads.

A broker restarted without persistence (Redis without AOF, a RabbitMQ node that lost its
disk) comes back empty, and nothing tells the service: the jobs whose messages it held
stay `queued` in the store for ever. So the sweeper keeps a canary message in the broker;
when it is gone, the broker has forgotten everything it held since the canary was
planted, and the sweeper sends every queued job again (a job that still had its message
gets two, and the second finds it already claimed: see `JobStore.claim`). It works the
same on every kombu transport: a Redis list, a durable RabbitMQ queue, a file.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from celery import Celery
from kombu import Queue

from neuroshorts.service.config import Settings

log = logging.getLogger(__name__)


def canary_queue(settings: Settings) -> Queue:
    """`<queue>.canary`: beside the render queue, never consumed."""
    name = f"{settings.queue}.canary"
    return Queue(name, routing_key=name, durable=True, auto_delete=False)


def present(app: Celery, settings: Settings, timeout: float = 3.0) -> bool:
    """Whether the broker still holds the canary; raises if the broker is unreachable."""
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=timeout)
        declared = canary_queue(settings).bind(connection.default_channel).queue_declare()
        return bool(declared.message_count)


def plant(app: Celery, settings: Settings) -> None:
    """Put the canary in the broker (durable and persistent, where the broker has such)."""
    queue = canary_queue(settings)
    with app.connection_for_write() as connection:
        connection.Producer().publish(
            {"canary": datetime.now(UTC).isoformat()},
            exchange="",
            routing_key=queue.routing_key,
            declare=[queue],
            serializer="json",
            delivery_mode="persistent",
        )
    log.info("canary planted in %s", queue.name)
