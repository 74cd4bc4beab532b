"""Benchmark: render API submit latency under load, and queue throughput with 1 vs 2 workers.

throughput  N one-sentence draft renders through 1 worker, then through 2: jobs per
            minute from the first submit to the last job done.
latency     50 concurrent clients, each submitting one render a second (a valid
            one-sentence draft render: validated against the template, stored, queued),
            while two workers render; p50 and p99 per request. Baseline: the same clients
            calling GET /healthz at the same pace just before (HTTP, the event loop and
            the client, with no work behind them).
burst       the same 50 clients submitting back to back: the most submits per second
            the API takes while the workers render, and the latency at that saturation
            (which is queueing: 50 requests in flight / throughput).

Everything is real: `neuroshorts api` and `neuroshorts worker` processes on the chosen
broker (the embedded file-system broker and SQLite by default), papermill renders. The
jobs queued by the latency phases are cancelled afterwards. CPU is shared by the renders,
the API and the clients: on 2 cores this measures the API with both cores busy.

Usage: python bench/api.py [--broker embedded|redis|rabbitmq] [--clients 50]
                           [--seconds 30] [--jobs 6]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import redis
import uvloop
from kombu import Connection

SHORT = {"script": "Hello there.", "quality": "draft"}


def busy_render(seconds: float) -> dict:
    """A render that keeps a worker busy through the three load phases of `seconds` each."""
    sentences = max(16, round(2 * seconds))
    return {
        "script": " ".join(["Octopuses have three hearts and blue blood."] * sentences),
        "quality": "final",
    }


BROKERS = {
    "embedded": {},
    "redis": {"NEUROSHORTS_BROKER_URL": "redis://127.0.0.1:6379/0"},
    "rabbitmq": {"NEUROSHORTS_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672//"},
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Service:
    """`neuroshorts api` plus workers, started and stopped as processes."""

    def __init__(self, root: Path, broker: str) -> None:
        self.root, self.port, tag = root, free_port(), uuid.uuid4().hex[:8]
        self.env = os.environ | {
            "NEUROSHORTS_HOME": str(root / "home"),
            "NEUROSHORTS_DATA_DIR": str(root / "data"),
            "NEUROSHORTS_PORT": str(self.port),
            "NEUROSHORTS_QUEUE": f"bench-{tag}",
            **BROKERS[broker],
        }
        if broker == "redis":
            self.env["NEUROSHORTS_BROKER_OPTIONS"] = json.dumps({"global_keyprefix": f"b-{tag}:"})
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers: list[subprocess.Popen[bytes]] = []
        self.api = self._start("api", "api")

    def _start(self, name: str, *command: str) -> subprocess.Popen[bytes]:
        with open(self.root / f"{name}.log", "ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "neuroshorts", *command],
                env=self.env | {"NEUROSHORTS_LOG_FILE": str(self.root / f"{name}.file.log")},
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def add_worker(self) -> None:
        name = f"w{len(self.workers)}-{uuid.uuid4().hex[:6]}@{socket.gethostname()}"
        worker = self._start(name.split("@")[0], "worker", "--name", name)
        self.workers.append(worker)
        log = self.root / f"{name.split('@')[0]}.file.log"
        wait(lambda: log.is_file() and f"{name} ready." in log.read_text(), f"worker {name}")

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            worker.wait(120)
        self.workers.clear()

    def stop(self) -> None:
        self.stop_workers()
        self.api.send_signal(signal.SIGTERM)
        self.api.wait(60)
        self._drop_broker_state()

    def _drop_broker_state(self) -> None:
        """Remove this run's queue (RabbitMQ) or keys (Redis) from the shared broker."""
        broker = self.env.get("NEUROSHORTS_BROKER_URL", "")
        if broker.startswith("redis://"):
            prefix = json.loads(self.env["NEUROSHORTS_BROKER_OPTIONS"])["global_keyprefix"]
            client = redis.Redis.from_url(broker)
            if keys := list(client.scan_iter(match=f"{prefix}*")):
                client.delete(*keys)
        elif broker.startswith("amqp://"):
            with Connection(broker) as connection:
                connection.default_channel.queue_delete(self.env["NEUROSHORTS_QUEUE"])
                connection.default_channel.exchange_delete(self.env["NEUROSHORTS_QUEUE"])


def wait(condition, what: str, deadline: float = 300.0) -> None:
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


@contextmanager
def service(broker: str) -> Iterator[Service]:
    with tempfile.TemporaryDirectory(prefix="neuroshorts-bench-") as root:
        running = Service(Path(root), broker)
        try:

            def ready() -> bool:
                try:
                    return httpx.get(f"{running.url}/readyz").status_code == 200
                except httpx.HTTPError:
                    return False

            wait(ready, "the API")
            yield running
        finally:
            running.stop()


async def load(
    url: str, clients: int, seconds: float, path: str, pace: float | None
) -> list[float]:
    """`clients` concurrent clients calling `path` for `seconds`; each call's latency in ms.

    With `pace`, each client makes one call every `pace` seconds (starting at a random
    offset); without, each calls again as soon as its answer arrives. Each client is one
    keep-alive connection speaking HTTP/1.1 by hand: the clients share the API's two
    cores, and httpx spent 4.5 ms of CPU per call here (more than half what the API
    spends on a submit), which was measured as the API's latency. These spend 0.5 ms.
    """
    address = urlsplit(url)
    host, port = address.hostname, address.port
    body = json.dumps({"template": "explainer", "parameters": SHORT}).encode()
    if path == "/healthz":
        request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    else:
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
    latencies: list[float] = []

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        if pace:
            await asyncio.sleep(random.uniform(0, pace))
        while (now := loop.time()) < end:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            answer = await reader.readexactly(_content_length(head))
            latencies.append((time.perf_counter() - started) * 1000)
            assert head[9:12] in (b"200", b"202"), head + answer
            if pace:
                await asyncio.sleep(max(0.0, now + pace - loop.time()))
        writer.close()
        await writer.wait_closed()

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    raise AssertionError(f"no Content-Length in {head!r}")


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def submit(http: httpx.Client, parameters: dict) -> str:
    response = http.post("/v1/renders", json={"template": "explainer", "parameters": parameters})
    response.raise_for_status()
    return response.json()["id"]


def wait_jobs(http: httpx.Client, ids: list[str]) -> None:
    def done() -> bool:
        states = [http.get(f"/v1/renders/{job}").json()["state"] for job in ids]
        if "failed" in states:
            raise SystemExit("a benchmark render failed; see the worker logs")
        return all(state in ("succeeded", "cancelled") for state in states)

    wait(done, "the renders", deadline=1800)


def latency(running: Service, clients: int, seconds: float) -> dict[str, float]:
    """The three load phases while two long renders keep both workers busy."""
    with httpx.Client(base_url=running.url, timeout=60) as http:
        busy = [submit(http, busy_render(seconds)) for _ in range(2)]

        def rendering() -> bool:
            return all(http.get(f"/v1/renders/{j}").json()["state"] == "running" for j in busy)

        wait(rendering, "two renders to start")
        figures: dict[str, float] = {}
        for name, path, pace in (
            ("healthz", "/healthz", 1.0),
            ("submit", "/v1/renders", 1.0),
            ("burst", "/v1/renders", None),
        ):
            calls = uvloop.run(load(running.url, clients, seconds, path, pace))
            figures |= {
                f"{name}_p50": statistics.median(calls),
                f"{name}_p99": percentile(calls, 0.99),
                f"{name}_count": len(calls),
            }
        still = [http.get(f"/v1/renders/{j}").json()["state"] for j in busy]
        for job in busy:  # they only kept the workers busy; a worker stops after its task
            http.post(f"/v1/renders/{job}/cancel")
        while queued := http.get("/v1/renders", params={"state": "queued", "limit": 500}).json():
            if not queued["items"]:
                break
            for job in queued["items"]:
                http.post(f"/v1/renders/{job['id']}/cancel")
    if still != ["running", "running"]:
        print(f"note: the two renders did not last the whole load ({still})")
    figures["burst_rate"] = figures["burst_count"] / seconds
    return figures


def throughput(running: Service, jobs: int) -> float:
    with httpx.Client(base_url=running.url, timeout=60) as http:
        started = time.perf_counter()
        ids = [submit(http, SHORT) for _ in range(jobs)]
        wait_jobs(http, ids)
        return jobs / ((time.perf_counter() - started) / 60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", choices=BROKERS, default="embedded")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0, help="per load phase")
    parser.add_argument("--jobs", type=int, default=6, help="renders per throughput run")
    args = parser.parse_args()

    with service(args.broker) as running:
        running.add_worker()
        one = throughput(running, args.jobs)
        running.add_worker()
        two = throughput(running, args.jobs)
        figures = latency(running, args.clients, args.seconds)

    f = figures
    print(f"broker : {args.broker}; {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f} at end")
    print(f"through: 1 worker {one:.1f} jobs/min, 2 workers {two:.1f} jobs/min ({two / one:.2f}x)")
    print(
        f"healthz: p50 {f['healthz_p50']:.1f} ms, p99 {f['healthz_p99']:.1f} ms "
        f"({args.clients} clients, 1 call/s each, 2 renders running)"
    )
    print(
        f"submit : p50 {f['submit_p50']:.1f} ms, p99 {f['submit_p99']:.1f} ms "
        f"({f['submit_count']:.0f} submits; target p99 <= 50 ms)"
    )
    print(f"ratio  : submit p99 {f['submit_p99'] / f['healthz_p99']:.2f}x the /healthz p99")
    print(
        f"burst  : {f['burst_rate']:.0f} submits/s back to back, p50 {f['burst_p50']:.0f} ms, "
        f"p99 {f['burst_p99']:.0f} ms (queueing at saturation)"
    )


if __name__ == "__main__":
    main()
