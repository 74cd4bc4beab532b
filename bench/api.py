"""Benchmark: the render API's load target, while two workers render what it queues.

target   for `--seconds` (60), submits of a render at a steady `--rate` (5 a second, ten
         times what two workers drain) by 10 keep-alive clients, `/healthz` called once a
         second by 5 more, and one `POST /v1/batches` of `--batch` (500) rows sent a third
         of the way in; two workers render throughout. Then the queue is drained and every
         job checked: succeeded, with one MP4, no other MP4 on disk, and no message run
         twice. Jobs that needed a second attempt (a kernel that did not start is requeued)
         are counted and printed: "eventually succeeds exactly once" allows them.
         Target: 0 errors, submit p99 <= 100 ms, /healthz p99 <= 50 ms, every job
         succeeded exactly once. Baseline: the /healthz latency of the same run, the API
         with nothing behind it.
fifty    (information only, the retired target) 50 clients each submitting once a second
         for `--fifty` seconds; the jobs it queues are cancelled afterwards.

Everything is real: `neuroshorts api` and two `neuroshorts worker` processes on the
embedded broker and SQLite (default), or on Redis and a fresh PostgreSQL database of the
local servers (`--broker redis --postgres`). Jobs render the `blip` test template (one
second of solid colour through papermill and ffmpeg), so the drain of 800 jobs takes
minutes rather than an hour; the submit path checks, stores and sends them like any other.

Usage: python bench/api.py [--broker embedded|redis|rabbitmq] [--postgres] [--rate 5]
                           [--seconds 60] [--batch 500] [--fifty 30]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import redis
import uvloop
from kombu import Connection

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from support import TEMPLATES  # noqa: E402
from support.service_stack import postgres_database  # noqa: E402

BLIP = {"template": "blip", "parameters": {"color": "#204060"}}
BROKERS = {
    "embedded": {},
    "redis": {"NEUROSHORTS_BROKER_URL": "redis://127.0.0.1:6379/0"},
    "rabbitmq": {"NEUROSHORTS_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672//"},
}
#: Clients sharing the steady submit rate, and /healthz clients (one call a second each).
SUBMITTERS, PROBES = 10, 5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Service:
    """`neuroshorts api` plus workers, started and stopped as processes."""

    def __init__(
        self, root: Path, broker: str, database_url: str, env: dict[str, str] | None = None
    ) -> None:
        self.root, self.port, tag = root, free_port(), uuid.uuid4().hex[:8]
        self.env = os.environ | {
            "NEUROSHORTS_DATA_DIR": str(root / "data"),
            "NEUROSHORTS_PORT": str(self.port),
            "NEUROSHORTS_QUEUE": f"bench-{tag}",
            "NEUROSHORTS_TEMPLATES": str(TEMPLATES),
            **BROKERS[broker],
            **(env or {}),
        }
        if database_url:
            self.env["NEUROSHORTS_DATABASE_URL"] = database_url
        if broker == "redis":
            self.env["NEUROSHORTS_BROKER_OPTIONS"] = json.dumps({"global_keyprefix": f"b-{tag}:"})
        self.url = f"http://127.0.0.1:{self.port}"
        self.output_dir = root / "data" / "renders"
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

    def stop(self) -> None:
        for process in [*self.workers, self.api]:
            process.send_signal(signal.SIGTERM)
        for process in [*self.workers, self.api]:
            try:
                process.wait(120)
            except subprocess.TimeoutExpired:
                process.kill()
        self._drop_broker_state()

    def _drop_broker_state(self) -> None:
        """Remove this run's queue (RabbitMQ) or keys (Redis) from the shared broker."""
        broker = self.env.get("NEUROSHORTS_BROKER_URL", "")
        queue = self.env["NEUROSHORTS_QUEUE"]
        if broker.startswith("redis://"):
            prefix = json.loads(self.env["NEUROSHORTS_BROKER_OPTIONS"])["global_keyprefix"]
            client = redis.Redis.from_url(broker)
            if keys := list(client.scan_iter(match=f"{prefix}*")):
                client.delete(*keys)
        elif broker.startswith("amqp://"):
            with Connection(broker) as connection:
                for name in (queue, f"{queue}.canary"):
                    connection.default_channel.queue_delete(name)
                connection.default_channel.exchange_delete(queue)


def wait(condition, what: str, deadline: float = 300.0) -> None:
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


@contextlib.contextmanager
def service(broker: str, postgres: bool, env: dict[str, str] | None = None) -> Iterator[Service]:
    """The API (and the workers added) running on `broker`, with `env` added to theirs."""
    with contextlib.ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="neuroshorts-bench-")))
        tag = f"bench_{uuid.uuid4().hex[:10]}"
        database = stack.enter_context(postgres_database(tag)) if postgres else ""
        running = Service(root, broker, database, env)
        stack.callback(running.stop)

        def ready() -> bool:
            try:
                return httpx.get(f"{running.url}/readyz").status_code == 200
            except httpx.HTTPError:
                return False

        wait(ready, "the API")
        yield running


@dataclass
class Calls:
    """Latencies (ms) of the calls that succeeded, and what went wrong with the others."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)

    def p(self, share: float) -> float:
        return statistics.quantiles(self.latencies, n=1000, method="inclusive")[
            round(share * 1000) - 1
        ]


def request_bytes(host: str, method: str, path: str, body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


async def client(
    url: str, request: bytes, calls: Calls, seconds: float, pace: float, start: float
) -> None:
    """One keep-alive connection making a call every `pace` seconds from `start` (loop
    time) for `seconds`. HTTP/1.1 by hand: httpx spent 4.5 ms of CPU per call on the
    API's two cores (more than half a submit's own cost), measured as the API's latency."""
    address = urlsplit(url)
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, start - loop.time()))
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    end, due = start + seconds, start
    while due < end:
        await asyncio.sleep(max(0.0, due - loop.time()))
        started = time.perf_counter()
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            answer = await reader.readexactly(_content_length(head))
        except (OSError, asyncio.IncompleteReadError) as error:
            calls.errors.append(f"{type(error).__name__}: {error}")
            writer.close()
            reader, writer = await asyncio.open_connection(address.hostname, address.port)
        else:
            if head[9:12] in (b"200", b"202"):
                calls.latencies.append((time.perf_counter() - started) * 1000)
                if answer.startswith(b"{"):
                    calls.ids.append(json.loads(answer).get("id", ""))
            else:
                calls.errors.append((head[9:12] + b" " + answer[:200]).decode(errors="replace"))
        due += pace
    writer.close()


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    raise AssertionError(f"no Content-Length in {head!r}")


async def target_load(
    url: str, rate: float, seconds: float, rows: int
) -> tuple[Calls, Calls, Calls, float]:
    """The target's phase: steady submits, /healthz probes and one batch a third in."""
    host = urlsplit(url).netloc
    submit = request_bytes(host, "POST", "/v1/renders", json.dumps(BLIP).encode())
    probe = request_bytes(host, "GET", "/healthz")
    submits, probes, batch = Calls(), Calls(), Calls()
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.5
    pace = SUBMITTERS / rate
    tasks = [
        client(url, submit, submits, seconds, pace, start + index * pace / SUBMITTERS)
        for index in range(SUBMITTERS)
    ]
    tasks += [
        client(url, probe, probes, seconds, 1.0, start + random.uniform(0, 1))
        for _ in range(PROBES)
    ]

    async def one_batch() -> float:
        await asyncio.sleep(max(0.0, start + seconds / 3 - loop.time()))
        body = {
            "template": "blip",
            "rows": [{"color": f"#{index:06x}"} for index in range(rows)],
        }
        started = time.perf_counter()
        async with httpx.AsyncClient(base_url=url, timeout=120) as http:
            response = await http.post("/v1/batches", json=body)
        took = time.perf_counter() - started
        if response.status_code == 202:
            batch.ids += [job["id"] for job in response.json()["jobs"]]
        else:
            batch.errors.append(f"{response.status_code} {response.text[:200]}")
        return took

    *_, batch_seconds = await asyncio.gather(*tasks, one_batch())
    return submits, probes, batch, batch_seconds


def drain(running: Service, ids: list[str], deadline: float) -> tuple[float, list[str]]:
    """Wait until every job is final; the seconds it took and every broken promise."""
    started = time.monotonic()
    with httpx.Client(base_url=running.url, timeout=60) as http:

        def states() -> dict[str, int]:
            counts: dict[str, int] = {}
            for state in ("queued", "running"):
                response = http.get("/v1/renders", params={"state": state, "limit": 1})
                counts[state] = response.json()["total"]
            return counts

        last = 0.0
        while (pending := states()) and sum(pending.values()):
            if time.monotonic() - started > deadline:
                break
            if time.monotonic() - last > 30:
                print(f"  draining: {pending} after {time.monotonic() - started:.0f} s")
                last = time.monotonic()
            time.sleep(2)
        took = time.monotonic() - started
        jobs = {}
        for offset in range(0, 100_000, 500):
            page = http.get("/v1/renders", params={"limit": 500, "offset": offset}).json()
            jobs |= {job["id"]: job for job in page["items"]}
            if len(page["items"]) < 500:
                break
    problems = []
    if missing := set(ids) - set(jobs):
        problems.append(f"{len(missing)} accepted jobs not in the store")
    if extra := set(jobs) - set(ids):
        problems.append(f"{len(extra)} jobs in the store that no client was given")
    if len(set(ids)) != len(ids):
        problems.append(f"{len(ids) - len(set(ids))} ids given twice")
    for job in jobs.values():
        if job["state"] != "succeeded":
            problems.append(
                f"job {job['id']}: {job['state']} after {job['attempt']} attempts"
                + (f": {job['error']}" if job.get("error") else "")
            )
    videos = {path.name for path in running.output_dir.glob("*.mp4")}
    expected = {f"{job_id}.mp4" for job_id in jobs}
    if videos != expected:
        problems.append(
            f"MP4s on disk ≠ jobs: {len(videos - expected)} extra, {len(expected - videos)} missing"
        )
    if partial := list(running.output_dir.rglob("*.partial*")):
        problems.append(f"{len(partial)} half-written files")
    skipped = sum(
        log.read_text(errors="replace").count("not run here")
        for log in running.root.glob("w*.file.log")
    )
    if skipped:
        problems.append(f"{skipped} messages delivered for a job already claimed or done")
    retried = sum(job["attempt"] > 1 for job in jobs.values())
    return took, problems, retried


def fifty(running: Service, seconds: float) -> Calls:
    """The retired target, as information: 50 clients, one submit a second each."""
    host = urlsplit(running.url).netloc
    submit = request_bytes(host, "POST", "/v1/renders", json.dumps(BLIP).encode())

    async def load() -> Calls:
        calls = Calls()
        start = asyncio.get_running_loop().time() + 0.5
        await asyncio.gather(
            *(
                client(running.url, submit, calls, seconds, 1.0, start + random.uniform(0, 1))
                for _ in range(50)
            )
        )
        return calls

    calls = uvloop.run(load())
    with httpx.Client(base_url=running.url, timeout=60) as http:
        for job_id in calls.ids:
            http.post(f"/v1/renders/{job_id}/cancel")
    return calls


def report_load(
    args: argparse.Namespace,
    load: float,
    s: Calls,
    h: Calls,
    batch: Calls,
    batch_seconds: float,
    errors: list[str],
) -> None:
    """The load phase's figures, printed as soon as it ends."""
    print(f"load average before the load phase: {load:.2f}")
    print(
        f"submit : {len(s.latencies)} at {args.rate:g}/s, p50 {statistics.median(s.latencies):.1f}"
        f" ms, p99 {s.p(0.99):.1f} ms, max {max(s.latencies):.1f} ms (target p99 <= 100 ms)"
    )
    print(
        f"healthz: {len(h.latencies)}, p50 {statistics.median(h.latencies):.1f} ms, "
        f"p99 {h.p(0.99):.1f} ms, max {max(h.latencies):.1f} ms (target p99 <= 50 ms)"
    )
    print(f"ratio  : submit p99 {s.p(0.99) / h.p(0.99):.2f}x the /healthz p99 (the baseline)")
    print(f"batch  : {len(batch.ids)} rows accepted in {batch_seconds:.2f} s")
    print(f"errors : {len(errors)}" + "".join(f"\n  - {error}" for error in errors[:10]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", choices=BROKERS, default="embedded")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL job store")
    parser.add_argument("--rate", type=float, default=5.0, help="submits a second")
    parser.add_argument("--seconds", type=float, default=60.0, help="of steady submits")
    parser.add_argument("--batch", type=int, default=500, help="rows of the one batch")
    parser.add_argument("--fifty", type=float, default=30.0, help="seconds; 0 to skip")
    args = parser.parse_args()

    store = "PostgreSQL" if args.postgres else "SQLite"
    print(f"{args.broker} broker, {store} job store, 2 workers; {os.cpu_count()} cores")
    with service(args.broker, args.postgres) as running:
        running.add_worker()
        running.add_worker()
        load = os.getloadavg()[0]
        submits, probes, batch, batch_seconds = uvloop.run(
            target_load(running.url, args.rate, args.seconds, args.batch)
        )
        ids = submits.ids + batch.ids
        errors = submits.errors + probes.errors + batch.errors
        report_load(args, load, submits, probes, batch, batch_seconds, errors)
        print(f"draining the queue ({len(ids)} jobs accepted)", flush=True)
        drained, problems, retried = drain(running, ids, deadline=max(900.0, 10.0 * len(ids)))
        info = fifty(running, args.fifty) if args.fifty else None
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    print(
        f"drain  : {len(ids)} jobs final {drained:.0f} s after the load phase "
        f"({60 * len(ids) / (args.seconds + drained):.1f} jobs/min overall)"
    )
    print(
        "jobs   : "
        + ("every one succeeded exactly once" if not problems else "BROKEN")
        + f" ({retried} needed more than one attempt)"
    )
    for problem in problems[:20]:
        print(f"  - {problem}")
    if info is not None:
        print(
            f"fifty  : (information) 50 clients at 1/s for {args.fifty:g} s: "
            f"{len(info.latencies)} submits, p50 {statistics.median(info.latencies):.1f} ms, "
            f"p99 {info.p(0.99):.1f} ms, {len(info.errors)} errors"
        )
    met = (
        not errors
        and not problems
        and submits.p(0.99) <= 100
        and probes.p(0.99) <= 50
        and len(batch.ids) == args.batch
    )
    print("target : " + ("MET" if met else "MISSED"))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
