"""A real render service for tests: API on a loopback port, worker processes, a broker.

Workers are `neuroshorts worker` subprocesses configured through NEUROSHORTS_* variables,
exactly as in production; the API runs in this process (uvicorn in a thread) so tests can
also look at its store. Every stack gets a queue and key prefix of its own on the shared
Redis and RabbitMQ, and a database of its own on PostgreSQL, all removed afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
import uvicorn
from kombu import Connection

from neuroshorts.apps.service.api import create_app
from neuroshorts.apps.service.schemas import FINAL
from neuroshorts.apps.service.store import JobStore
from neuroshorts.settings import Settings

REDIS_URL = "redis://127.0.0.1:6379/0"
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/"
SECRET = "test-webhook-secret"
#: Generous upper bounds for a loaded 2-core machine; they end waits, they assert nothing.
START_DEADLINE = 120.0
RENDER_DEADLINE = 240.0

#: About 25 s of espeak narration: an encode long enough to stop in the middle of.
LONG_SCRIPT = " ".join(
    ["Octopuses have three hearts and blue blood, and each of their arms can taste."] * 6
)
LONG_PARAMETERS = {"script": LONG_SCRIPT, "voice": "espeak:en", "quality": "draft"}
SHORT_PARAMETERS = {"script": "Hello there.", "quality": "draft"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition: Callable[[], Any], deadline: float, what: str, every: float = 0.1) -> Any:
    """Poll `condition` until it returns something truthy; fail with `what` at the deadline."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if result := condition():
            return result
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Broker:
    """A broker for one stack: its settings and how to remove what the stack left on it."""

    name: str
    env: dict[str, str]
    cleanup: Callable[[], None] = lambda: None


def make_broker(name: str, tag: str) -> Broker:
    queue = f"neuroshorts-test-{tag}"
    if name == "embedded":
        return Broker(name, {"NEUROSHORTS_QUEUE": queue})
    if name == "redis":
        prefix = f"neuroshorts-test-{tag}:"

        def drop_keys() -> None:
            client = redis.Redis.from_url(REDIS_URL)
            keys = list(client.scan_iter(match=f"{prefix}*", count=500))
            if keys:
                client.delete(*keys)
            client.close()

        options = json.dumps({"global_keyprefix": prefix})
        env = {
            "NEUROSHORTS_BROKER_URL": REDIS_URL,
            "NEUROSHORTS_BROKER_OPTIONS": options,
            "NEUROSHORTS_QUEUE": queue,
        }
        return Broker(name, env, drop_keys)
    if name == "rabbitmq":

        def drop_queue() -> None:
            with Connection(RABBITMQ_URL) as connection:
                channel = connection.default_channel
                channel.queue_delete(queue)
                channel.exchange_delete(queue)
                channel.queue_delete(f"{queue}.canary")  # the reconciler's (see reconcile.py)

        env = {"NEUROSHORTS_BROKER_URL": RABBITMQ_URL, "NEUROSHORTS_QUEUE": queue}
        return Broker(name, env, drop_queue)
    raise ValueError(name)


@contextlib.contextmanager
def postgres_database(tag: str) -> Iterator[str]:
    """A fresh database on the local PostgreSQL, dropped afterwards; yields its URL."""
    name = f"neuroshorts_test_{tag}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES + name
    finally:
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    name: str
    log: Path

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"worker {self.name} exited:\n{self.log.read_text()[-3000:]}")
        return self.log.is_file() and f"{self.name} ready." in self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Stack:
    broker: Broker
    settings: Settings
    env: dict[str, str]
    root: Path
    url: str = ""
    workers: list[Worker] = field(default_factory=list)
    store: JobStore | None = None
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None

    @property
    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def start_worker(self) -> Worker:
        name = f"w{len(self.workers)}-{uuid.uuid4().hex[:6]}@{socket.gethostname()}"
        log = self.root / f"{name.split('@')[0]}.log"
        env = self.env | {"NEUROSHORTS_WORKER_NAME": name, "NEUROSHORTS_LOG_FILE": str(log)}
        with open(self.root / f"{name.split('@')[0]}.out", "wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "neuroshorts", "worker"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        worker = Worker(process, name, log)
        self.workers.append(worker)
        return worker

    def start_api(self) -> None:
        app = create_app(self.settings)
        self.store = app.state.store
        config = uvicorn.Config(app, host="127.0.0.1", port=self.settings.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.settings.port}"
        wait_for(lambda: self.server.started, START_DEADLINE, "the API to start")

    def stop(self) -> None:
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        for worker in self.workers:
            worker.stop()
        if self.server is not None:
            self.server.should_exit = True
            self.thread.join(30)

    def submit(self, parameters: dict[str, Any], **extra: Any) -> dict[str, Any]:
        with self.http as http:
            response = http.post(
                "/v1/renders", json={"template": "explainer", "parameters": parameters, **extra}
            )
        assert response.status_code == 202, response.text
        return response.json()

    def job(self, job_id: str) -> dict[str, Any]:
        with self.http as http:
            response = http.get(f"/v1/renders/{job_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def wait_state(
        self, job_id: str, states: set[str], deadline: float = RENDER_DEADLINE
    ) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            job = self.job(job_id)
            return job if job["state"] in states else None

        return wait_for(reached, deadline, f"job {job_id} to be {states}")

    def wait_stage(
        self, job_id: str, stage: str, deadline: float = RENDER_DEADLINE
    ) -> dict[str, Any]:
        """The job once it is in `stage`; fails at once, with its error, if it ends first."""

        def reached() -> dict[str, Any] | None:
            job = self.job(job_id)
            if job["state"] in FINAL:
                raise AssertionError(f"job {job_id} ended {job['state']} before {stage}: {job}")
            return job if job["stage"] == stage else None

        return wait_for(reached, deadline, f"job {job_id} to reach {stage}", every=0.05)

    def queue_length(self) -> int:
        app = self.settings
        with Connection(app.broker_url, transport_options=app.transport_options()) as conn:
            return conn.default_channel.queue_declare(app.queue).message_count


def stack_settings(
    root: Path, broker: Broker, database_url: str = "", **extra: Any
) -> tuple[Settings, dict[str, str]]:
    """Settings for the API in this process; the workers get the same as variables."""
    env = {
        "NEUROSHORTS_DATA_DIR": str(root / "data"),
        "NEUROSHORTS_WEBHOOK_SECRET": SECRET,
        # The test's webhook receiver listens on loopback, which callbacks may not reach
        # by default.
        "NEUROSHORTS_CALLBACK_HOSTS": "127.0.0.1",
        "NEUROSHORTS_WEBHOOK_BACKOFF": "0.2",
        "NEUROSHORTS_SWEEP_INTERVAL": "1",
        "NEUROSHORTS_LEASE": "30",
        "NEUROSHORTS_SOFT_TIME_LIMIT": "300",
        "NEUROSHORTS_TIME_LIMIT": "360",
        # An idle-priority render gets no CPU while anything else wants it: under the
        # suite's second process (its own renders at normal priority) a job starved past
        # its limits. `test_priority.py` checks that renders do run as background work.
        "NEUROSHORTS_RENDER_PRIORITY": "normal",
        **({"NEUROSHORTS_DATABASE_URL": database_url} if database_url else {}),
        **broker.env,
        **{f"NEUROSHORTS_{key.upper()}": str(value) for key, value in extra.items()},
    }
    values = {key.removeprefix("NEUROSHORTS_").lower(): value for key, value in env.items()}
    if "broker_options" in values:
        values["broker_options"] = json.loads(values["broker_options"])
    return Settings(port=free_port(), **values), env


@contextlib.contextmanager
def running_stack(
    root: Path, broker_name: str, workers: int = 2, postgres: bool = False, **extra: Any
) -> Iterator[Stack]:
    """API and `workers` worker processes on `broker_name`, torn down afterwards."""
    tag = uuid.uuid4().hex[:10]
    broker = make_broker(broker_name, tag)
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(broker.cleanup)
        database = cleanup.enter_context(postgres_database(tag)) if postgres else ""
        settings, env = stack_settings(root, broker, database, **extra)
        stack = Stack(broker, settings, os.environ | env, root)
        cleanup.callback(stack.stop)
        stack.start_api()
        for _ in range(workers):
            stack.start_worker()
        for worker in stack.workers:
            wait_for(worker.ready, START_DEADLINE, f"worker {worker.name}", every=0.25)
        yield stack
