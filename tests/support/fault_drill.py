"""A fault drill: jobs submitted through the real API while its parts are killed and restarted.

The service's promise is that every accepted job ends in exactly one terminal state, that
no output is half-written and that nothing is lost. A drill checks it the hard way: a
`neuroshorts api` process, worker processes and a private `redis-server` (never the
machine's shared one: other people's tests use it), a client submitting cheap renders (the
`blip` template: one second of solid colour) with an Idempotency-Key and retrying whatever
fails, and faults injected while the queue drains — a worker SIGKILLed and restarted as a
supervisor would, Redis crashed and restarted (without persistence its queue is gone),
the API SIGKILLed and restarted. Afterwards `Drill.inspect` lists every broken promise.

`tests/apps/service/test_faults.py` runs a small drill; `bench/faults.py` a big one with figures.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis

from neuroshorts.apps.service.schemas import FINAL, Job, State
from neuroshorts.apps.service.store import JobStore
from support import TEMPLATES
from support.media import probe
from support.service_stack import free_port, wait_for

#: Upper bounds that end waits on a loaded machine; they assert nothing.
START_DEADLINE = 120.0
#: Stable fields of a job record: an API restart must not change them.
RECORD_FIELDS = ("id", "template", "parameters", "output", "idempotency_key", "created_at")


def parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


class RedisServer:
    """A `redis-server` of our own on a free loopback port, in its own folder.

    With `aof`, every write is appended and fsynced before Redis answers (`appendfsync
    always`), so a crash loses nothing; without, a restart empties it.
    """

    def __init__(self, folder: Path, *, aof: bool) -> None:
        self.folder, self.aof, self.port = folder, aof, free_port()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--dir", str(self.folder), "--save", "", "--logfile", "redis.log"]
        argv += ["--appendonly", "yes", "--appendfsync", "always"] if self.aof else []
        self.process = subprocess.Popen(
            argv,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        try:
            wait_for(lambda: _pings(client), 30, f"redis-server on port {self.port}")
        finally:
            client.close()

    def crash(self) -> None:
        """SIGKILL: no shutdown save, connections dropped mid-command."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.crash()


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


class Service:
    """`neuroshorts api` and `neuroshorts worker` processes on one broker and job store."""

    def __init__(self, root: Path, broker_url: str, database_url: str = "") -> None:
        self.root, self.tag, self.port = root, uuid.uuid4().hex[:8], free_port()
        self.data = root / "data"
        self.database_url = database_url or f"sqlite:///{self.data / 'neuroshorts.sqlite'}"
        templates = os.pathsep.join(
            p for p in (str(TEMPLATES), os.environ.get("NEUROSHORTS_TEMPLATES", "")) if p
        )
        self.env = os.environ | {
            "NEUROSHORTS_DATA_DIR": str(self.data),
            "NEUROSHORTS_DATABASE_URL": self.database_url,
            "NEUROSHORTS_BROKER_URL": broker_url,
            "NEUROSHORTS_QUEUE": f"drill-{self.tag}",
            "NEUROSHORTS_PORT": str(self.port),
            "NEUROSHORTS_TEMPLATES": templates,
            "NEUROSHORTS_SWEEP_INTERVAL": "1",
            "NEUROSHORTS_LEASE": "30",
            "NEUROSHORTS_RESEND_AFTER": "5",
            "NEUROSHORTS_SOFT_TIME_LIMIT": "120",
            "NEUROSHORTS_TIME_LIMIT": "150",
        }
        self.url = f"http://127.0.0.1:{self.port}"
        self.api: subprocess.Popen[bytes] | None = None
        self.workers: dict[int, subprocess.Popen[bytes]] = {}
        self.names: dict[int, str] = {}
        self.starts = Counter[str]()
        self.output_dir = self.data / "renders"
        self.data.mkdir(parents=True, exist_ok=True)
        self.store = JobStore(self.database_url)

    def _spawn(self, role: str, extra: dict[str, str]) -> tuple[subprocess.Popen[bytes], Path]:
        self.starts[role] += 1
        name = f"{role}-{self.starts[role]}"
        log = self.root / f"{name}.log"
        with open(self.root / f"{name}.out", "wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "neuroshorts", role.split("-")[0]],
                env=self.env | {"NEUROSHORTS_LOG_FILE": str(log), **extra},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return process, log

    def start_api(self) -> None:
        self.api, _ = self._spawn("api", {})

        def ready() -> bool:
            if self.api.poll() is not None:
                raise RuntimeError(f"the API exited with {self.api.returncode}; see {self.root}")
            try:
                return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(ready, START_DEADLINE, "the API to be ready", every=0.2)

    def kill_api(self) -> None:
        if self.api is not None and self.api.poll() is None:
            self.api.kill()
            self.api.wait()

    def start_worker(self, slot: int) -> None:
        name = f"drill{slot}-{self.tag}@{socket.gethostname()}"
        process, log = self._spawn(f"worker-{slot}", {"NEUROSHORTS_WORKER_NAME": name})
        self.workers[slot], self.names[slot] = process, name

        def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"worker {name} exited with {process.returncode}")
            return log.is_file() and f"{name} ready." in log.read_text(errors="replace")

        wait_for(ready, START_DEADLINE, f"worker {name}", every=0.2)

    def kill_worker(self, slot: int) -> None:
        process = self.workers[slot]
        if process.poll() is None:
            process.kill()
            process.wait()

    def slot_rendering(self) -> tuple[int, Job] | None:
        """A worker slot whose render process holds a running job, and that job."""
        for job in self.store.running():
            parent = parent_of(job.worker.pid) if job.worker.pid else None
            for slot, process in self.workers.items():
                if process.poll() is None and parent == process.pid:
                    return slot, job
        return None

    def stop(self) -> None:
        for process in self.workers.values():
            if process.poll() is None:
                process.terminate()
        if self.api is not None and self.api.poll() is None:
            self.api.terminate()
        for process in [*self.workers.values(), self.api]:
            if process is None:
                continue
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.store.close()

    def api_log_lines(self, text: str) -> int:
        return sum(
            log.read_text(errors="replace").count(text) for log in self.root.glob("api-*.log")
        )

    def worker_log_lines(self, text: str) -> int:
        return sum(
            log.read_text(errors="replace").count(text) for log in self.root.glob("worker-*.log")
        )


class Submitter(threading.Thread):
    """The client: `jobs` blip renders, a burst then one every `interval` seconds.

    Every request carries its own Idempotency-Key and is retried (after a connection
    error or a 5xx, as n8n's "Retry on Fail" does) until the API answers with the job.
    """

    def __init__(self, service: Service, jobs: int, burst: int, interval: float) -> None:
        super().__init__(name="submitter", daemon=True)
        self.service, self.jobs, self.burst, self.interval = service, jobs, burst, interval
        self.ids: dict[int, str] = {}
        self.retries = 0
        self.refused: list[str] = []
        self.first: float | None = None

    def run(self) -> None:
        with httpx.Client(base_url=self.service.url, timeout=10) as client:
            for index in range(self.jobs):
                if index >= self.burst:
                    time.sleep(self.interval)
                self.ids[index] = self._submit(client, index)

    def _submit(self, client: httpx.Client, index: int) -> str:
        body = {
            "template": "blip",
            "parameters": {"color": f"#{(index * 2654435761) % 0xFFFFFF:06x}"},
        }
        key = f"drill-{self.service.tag}-{index}"
        while True:
            self.first = self.first or time.monotonic()
            try:
                response = client.post("/v1/renders", json=body, headers={"Idempotency-Key": key})
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code in (200, 202):
                return response.json()["id"]
            if response is not None and response.status_code < 500:
                self.refused.append(f"job {index}: {response.status_code} {response.text}")
                return ""
            self.retries += 1
            time.sleep(0.2)


@dataclass
class Fault:
    """An action run once, when `due(drill)` first holds."""

    name: str
    due: Callable[[Drill], bool]
    act: Callable[[Drill], str]
    at: float | None = None
    note: str = ""


@dataclass
class Outcome:
    jobs: int
    states: Counter[str]
    drained: float
    redelivered: int
    extra_attempts: int
    duplicates_skipped: int
    #: Attempts that found, on finishing or mid-render, that another attempt owned the job.
    superseded: int
    submit_retries: int
    resent: int
    faults: list[Fault]
    problems: list[str] = field(default_factory=list)

    @property
    def per_minute(self) -> float:
        return 60 * self.jobs / self.drained


class Drill:
    """One run: start the service, submit, inject `faults`, wait for the drain, check."""

    def __init__(
        self,
        root: Path,
        *,
        jobs: int,
        burst: int,
        interval: float,
        faults: list[Fault],
        workers: int = 2,
        aof: bool = False,
        database_url: str = "",
        deadline: float = 900.0,
    ) -> None:
        self.root, self.jobs, self.faults, self.deadline = root, jobs, faults, deadline
        self.redis = RedisServer(root / "redis", aof=aof)
        self.service = Service(root, self.redis.url, database_url)
        self.submitter = Submitter(self.service, jobs, burst, interval)
        self.worker_slots = workers
        self.snapshot: dict[str, dict[str, Any]] = {}
        self.api_down = 0.0
        #: Jobs whose worker was SIGKILLed mid-render; jobs queued when Redis crashed, and
        #: how many of them were still queued when it was back (without an AOF, their
        #: messages were lost).
        self.killed_jobs: list[str] = []
        self.queued_at_crash = 0
        self.lost_at_crash = 0
        self.outcome: Outcome | None = None

    def counts(self) -> Counter[str]:
        jobs, _ = self.service.store.list_jobs(limit=100_000)
        return Counter(job.state.value for job in jobs)

    def queued(self) -> set[str]:
        jobs, _ = self.service.store.list_jobs(limit=100_000)
        return {job.id for job in jobs if job.state.value == "queued"}

    def terminal(self) -> int:
        counts = self.counts()
        return sum(counts[state.value] for state in FINAL)

    def run(self) -> Outcome:
        with contextlib.ExitStack() as cleanup:
            cleanup.callback(self.redis.stop)
            self.redis.start()
            cleanup.callback(self.service.stop)
            self.service.start_api()
            for slot in range(self.worker_slots):
                self.service.start_worker(slot)
            self.submitter.start()
            end = time.monotonic() + self.deadline
            while True:
                for fault in self.faults:
                    if fault.at is None and fault.due(self):
                        fault.at = time.monotonic()
                        fault.note = fault.act(self)
                if not self.submitter.is_alive() and self.terminal() >= self.jobs:
                    break
                if time.monotonic() > end:
                    break
                time.sleep(0.2)
            drained = time.monotonic() - (self.submitter.first or time.monotonic())
            self.submitter.join(30)
            self.outcome = self.inspect(drained)
            return self.outcome

    # -- faults ---------------------------------------------------------------------------

    def kill_a_rendering_worker(self, restart_after: float = 1.0) -> str:
        """SIGKILL the worker process whose render child holds a running job; restart it."""
        slot, job = wait_for(
            self.service.slot_rendering, 60, "a worker rendering a job", every=0.05
        )
        self.service.kill_worker(slot)
        self.killed_jobs.append(job.id)
        time.sleep(restart_after)
        self.service.start_worker(slot)
        return f"worker {slot} killed while rendering {job.id} (attempt {job.attempt})"

    def restart_redis(self, downtime: float = 1.0) -> str:
        """Crash Redis with jobs waiting in the queue, then start it again."""
        counts, queued = self.counts(), self.queued()
        self.queued_at_crash = len(queued)
        self.redis.crash()
        time.sleep(downtime)
        self.redis.start()
        # A worker that had taken a queued job's message just before the crash has claimed
        # the job by now; without an AOF, the others' messages went with Redis, for the
        # reconciler to send again.
        self.lost_at_crash = len(queued & self.queued())
        lost = "everything in it lost" if not self.redis.aof else "its AOF replayed"
        return (
            f"Redis crashed with {counts['queued']} jobs queued and {counts['running']} "
            f"running; restarted after {downtime:.0f} s ({lost})"
        )

    def restart_api(self) -> str:
        """Snapshot every job record, SIGKILL the API, start it again."""
        with httpx.Client(base_url=self.service.url, timeout=30) as client:
            listed = client.get("/v1/renders", params={"limit": 500}).json()["items"]
        self.snapshot = {job["id"]: job for job in listed}
        started = time.monotonic()
        self.service.kill_api()
        self.service.start_api()
        self.api_down = time.monotonic() - started
        return f"API killed with {len(listed)} jobs on record; answering again after " + (
            f"{self.api_down:.1f} s"
        )

    # -- the promises ---------------------------------------------------------------------

    def inspect(self, drained: float) -> Outcome:
        """Every promise the drill checks, broken ones listed in `problems`."""
        problems = list(self.submitter.refused)
        ids = list(self.submitter.ids.values())
        if len(ids) != self.jobs or len(set(ids)) != self.jobs:
            problems.append(f"{len(set(ids))} distinct jobs accepted of {self.jobs} submitted")
        stored, _ = self.service.store.list_jobs(limit=100_000)
        by_id = {job.id: job for job in stored}
        if extra := set(by_id) - set(ids):
            problems.append(f"{len(extra)} jobs in the store that no client was given")
        if lost := set(ids) - set(by_id):
            problems.append(f"{len(lost)} accepted jobs lost from the store: {sorted(lost)[:5]}")
        states = Counter(job.state.value for job in by_id.values())
        unfinished = [job for job in by_id.values() if job.state not in FINAL]
        for job in unfinished[:5]:
            problems.append(f"job {job.id} never finished: {job.state} / {job.stage}")
        if len(unfinished) > 5:
            problems.append(f"... {len(unfinished) - 5} more jobs never finished")
        problems += self._outputs(by_id)
        problems += self._records()
        for fault in self.faults:
            if fault.at is None:
                problems.append(f"fault {fault.name!r} never happened")
        attempts = [job.attempt for job in by_id.values()]
        return Outcome(
            jobs=len(ids),
            states=states,
            drained=drained,
            redelivered=sum(1 for attempt in attempts if attempt > 1),
            extra_attempts=sum(max(0, attempt - 1) for attempt in attempts),
            duplicates_skipped=self.service.worker_log_lines("not run here"),
            superseded=self.service.worker_log_lines("another attempt"),
            submit_retries=self.submitter.retries,
            resent=self.service.api_log_lines(" sent again: "),
            faults=self.faults,
            problems=problems,
        )

    def _outputs(self, jobs: dict[str, Job]) -> list[str]:
        """One playable MP4 per succeeded job, none for the others, no half-written file."""
        problems = []
        folder = self.service.output_dir
        videos = {path.name for path in folder.glob("*.mp4")}
        expected = {f"{job.id}.mp4" for job in jobs.values() if job.state == State.succeeded}
        if videos != expected:
            problems.append(
                f"videos on disk ≠ succeeded jobs: {len(videos - expected)} unexpected "
                f"{sorted(videos - expected)[:3]}, {len(expected - videos)} missing "
                f"{sorted(expected - videos)[:3]}"
            )
        partials = [str(p) for p in self.root.rglob("*.partial*")]
        if partials:
            problems.append(f"{len(partials)} half-written files left: {partials[:3]}")
        for job in jobs.values():
            if job.state != State.succeeded or f"{job.id}.mp4" not in videos:
                continue
            assert job.manifest is not None
            if job.manifest["video"] != job.output:
                problems.append(f"job {job.id}: manifest names {job.manifest['video']}")
            media = probe(job.output)
            if media.frames != round(job.manifest["duration"] * job.manifest["fps"]):
                problems.append(f"job {job.id}: {media.frames} frames in {job.output}")
        return problems

    def _records(self) -> list[str]:
        """The jobs listed before the API restart, as the restarted API serves them."""
        problems = []
        with httpx.Client(base_url=self.service.url, timeout=30) as client:
            for job_id, before in self.snapshot.items():
                response = client.get(f"/v1/renders/{job_id}")
                if response.status_code != 200:
                    problems.append(f"job {job_id} gone after the API restart: {response.text}")
                    continue
                after = response.json()
                changed = [name for name in RECORD_FIELDS if after[name] != before[name]]
                if before["state"] in FINAL and after["state"] != before["state"]:
                    changed.append(f"state {before['state']} → {after['state']}")
                if changed:
                    problems.append(f"job {job_id} changed across the API restart: {changed}")
        return problems


def standard_faults(jobs: int, *, worker_kills: int, api_restart: bool = True) -> list[Fault]:
    """SIGKILLs spread over the drain; Redis crashed once a job has finished and more jobs
    are queued than the workers could be taking, so that whatever the workers do it takes
    queued messages with it (at a third of the drain, renders now fast enough left one
    queued job or none); the API restarted at three quarters submitted, apart from it."""
    faults = [
        Fault(
            "redis restart",
            lambda drill: (
                drill.terminal() >= 1 and drill.counts()["queued"] >= drill.worker_slots + 2
            ),
            lambda drill: drill.restart_redis(),
        )
    ]
    for number, fraction in enumerate((0.1, 0.65)[:worker_kills], 1):
        faults.append(
            Fault(
                f"worker SIGKILL {number}",
                lambda drill, fraction=fraction: drill.terminal() >= jobs * fraction,
                lambda drill: drill.kill_a_rendering_worker(),
            )
        )
    if api_restart:
        faults.append(
            Fault(
                "API restart",
                lambda drill: len(drill.submitter.ids) >= jobs * 0.75,
                lambda drill: drill.restart_api(),
            )
        )
    return faults
