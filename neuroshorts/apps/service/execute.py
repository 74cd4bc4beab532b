"""What a worker does with one job: claim it, render it, report it, close it, call back.

A message can arrive twice (the broker re-delivers after a worker died, the sweeper
requeued a silent job), so the job is first *claimed* in the store; only the claimant
renders. While the template runs, a heartbeat thread writes progress to the store every
half second and reads back whether the job was cancelled or taken over; either stops the
render, which kills the kernel's process group (kernel and ffmpeg), as does the soft time
limit. A cancelled job leaves no output: its video and sidecars are removed, only its log
stays.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
from pathlib import Path
from types import TracebackType

from neuroshorts import templates
from neuroshorts.apps import logs
from neuroshorts.apps.service import webhooks
from neuroshorts.apps.service.schemas import Job, State
from neuroshorts.apps.service.store import JobStore
from neuroshorts.errors import (
    KernelError,
    ParameterError,
    RenderError,
    RunCancelled,
    TemplateError,
    TemplateRunError,
)
from neuroshorts.kernels.processes import pid_alive
from neuroshorts.media import storage
from neuroshorts.output.bundle import LOG, Bundle
from neuroshorts.output.progress import Progress
from neuroshorts.settings import Settings

log = logging.getLogger(__name__)

HOST = socket.gethostname()
_stores: dict[tuple[int, str], JobStore] = {}


def store_for(settings: Settings) -> JobStore:
    """One store per process: a forked worker child must not share its parent's pool."""
    key = (os.getpid(), settings.database_url)
    if key not in _stores:
        _stores[key] = JobStore(settings.database_url)
    return _stores[key]


def holder_alive(host: str | None, pid: int | None) -> bool:
    """Whether the process holding a job may still run it (unknowable on another host)."""
    if host != HOST or pid is None:
        return True
    return pid_alive(pid)


def is_local(output: str) -> bool:
    return "://" not in output


def log_file(job: Job) -> Path:
    """The job's log: beside its video, or, for a remote video, in the work area until it
    is uploaded beside the video (`publish_log`)."""
    if is_local(job.output):
        return Bundle(Path(job.output)).log
    return storage.work_file(f"{job.id}.log")


def publish_log(job: Job) -> None:
    """Upload a remote job's log beside its video once the job closed, then drop the copy.

    It went up once already with the render's files, before the manifest; this upload
    adds the lines of the job's closing (or is the only one, for a failed job).
    """
    local = log_file(job)
    if is_local(job.output) or not local.is_file():
        return
    try:
        storage.upload(local, storage.sibling_url(job.output, LOG))
    except storage.PublishError as error:
        log.warning("job %s: its log stays at %s: %s", job.id, local, error)
        return
    local.unlink()


def discard_outputs(output: str, *, keep_notebook: bool = False) -> None:
    """Remove a local job's video, its sidecars and any half-written file of them (a
    cancelled job); `keep_notebook` leaves the executed notebook of a failed run. The
    job's log stays."""
    if is_local(output):
        Bundle(Path(output)).discard(keep_notebook=keep_notebook)


def stop_previous_kernel(host: str | None, kernel_pid: int | None) -> None:
    """Kill the kernel group of an earlier attempt on this host, if it somehow lives on.

    A kernel notices its parent's death within a second and exits, and its ffmpeg
    stops at the end of its input; this makes sure before a new attempt starts.
    """
    if host != HOST or kernel_pid is None or not pid_alive(kernel_pid):
        return
    try:
        command = Path(f"/proc/{kernel_pid}/cmdline").read_bytes()
    except OSError:
        return
    if b"ipykernel" in command:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(kernel_pid, signal.SIGKILL)
            log.warning("killed kernel group %d left by an earlier attempt", kernel_pid)


def run_job(job_id: str, settings: Settings) -> str:
    """Render job `job_id` if this worker may; returns what became of it (for Celery)."""
    store = store_for(settings)
    claim = store.claim(
        job_id,
        HOST,
        os.getpid(),
        max_attempts=settings.max_attempts,
        lease=settings.lease,
        holder_alive=holder_alive,
    )
    if claim.job is None:
        log.info("job %s not run here: %s", job_id, claim.reason)
        if claim.closed is not None:
            # Its last attempt died mid-render: what that attempt wrote goes (a failed
            # job keeps the executed notebook as the record of how far it got).
            failed = claim.closed.state != State.cancelled
            discard_outputs(claim.closed.output, keep_notebook=failed)
            webhooks.deliver(store, settings, job_id)
        else:
            # A job that ended while its worker crashed mid-delivery still gets its call.
            webhooks.deliver(store, settings, job_id)
        return claim.reason
    job, claimed = claim.job, time.perf_counter()
    with logs.job_scope(job.id, log_file=log_file(job)):
        stop_previous_kernel(claim.previous_host, claim.previous_kernel)
        if is_local(job.output):
            discard_outputs(job.output)
        final = _render(store, job, settings, since=claimed)
    publish_log(job)
    if final is not None:
        webhooks.deliver(store, settings, job.id)
        return final.state
    return "superseded"


def _render(store: JobStore, job: Job, settings: Settings, *, since: float) -> Job | None:
    """Run the template and close the job; None if another attempt now owns it (or will).

    The next job's kernel starts while this one renders; `since` is the claim, from
    which the manifest's `first_cell` stage counts.
    """
    log.info("attempt %d: rendering %s → %s", job.attempt, job.template, job.output)
    heartbeat = Heartbeat(store, job, limit=settings.soft_time_limit)
    try:
        with heartbeat:
            manifest = templates.run(
                job.template,
                job.parameters,
                job.output,
                attachments=[log_file(job)] if not is_local(job.output) else [],
                progress=False,
                on_progress=heartbeat.progress,
                cancel=heartbeat.stop,
                background=settings.render_priority == "idle",
                next_kernel=True,
                since=since,
            )
    except RunCancelled:
        return _close_stopped(store, job, heartbeat)
    except (TemplateError, ParameterError) as error:
        return _fail(store, job, str(error))
    except TemplateRunError as error:
        if isinstance(error.__cause__, KernelError):
            return _requeue(store, heartbeat.current, error)
        return _fail(store, job, str(error))
    except RenderError as error:
        return _fail(store, job, str(error))
    except Exception as error:
        log.exception("job %s failed unexpectedly", job.id)
        return _fail(store, job, f"{type(error).__name__}: {error}")
    if heartbeat.stop.is_set():
        return _close_stopped(store, job, heartbeat)
    closed = store.finish(
        heartbeat.current, State.succeeded, manifest=manifest.model_dump(mode="json")
    )
    if closed is None:
        log.warning("job %s finished, but another attempt owns it now", job.id)
    else:
        log.info("job %s succeeded: %s", job.id, manifest.video)
    return closed


def _requeue(store: JobStore, job: Job, error: Exception) -> Job | None:
    """A kernel that did not start is the machine's fault, not the job's (seen when other
    work starved an idle-priority kernel for two minutes): the job goes back to the queue
    and the reconciler sends it again, counted as another attempt (`max_attempts`)."""
    if store.requeue(job):
        log.warning("job %s requeued after attempt %d: %s", job.id, job.attempt, error)
    return None


def _close_stopped(store: JobStore, job: Job, heartbeat: Heartbeat) -> Job | None:
    if heartbeat.superseded:
        log.warning("job %s was taken over by another attempt; this one stopped", job.id)
        return None
    if heartbeat.timed_out:
        discard_outputs(job.output, keep_notebook=True)
        error = "the render exceeded the soft time limit and was stopped"
        return _fail(store, job, error, kind="timeout")
    discard_outputs(job.output)
    log.info("job %s cancelled; its kernel and ffmpeg were stopped", job.id)
    return store.finish(heartbeat.current, State.cancelled, stage="cancelled")


def _fail(store: JobStore, job: Job, error: str, kind: str = "render") -> Job | None:
    log.error("job %s failed (%s): %s", job.id, kind, error)
    current = store.get(job.id) or job
    return store.finish(current, State.failed, error=error, error_kind=kind)


class Heartbeat:
    """Writes the latest progress to the store twice a second and listens for a stop.

    `stop` is set when the job was cancelled (`cancel_requested`), when the store no
    longer shows this attempt as running (`superseded`: requeued or claimed elsewhere) or
    `limit` seconds after it started (`timed_out`). The soft time limit is kept here, not
    as Celery's `task_soft_time_limit`: Celery raises that from a signal into whatever the
    main thread runs, which is papermill's event loop mid-step (its tasks left half-run
    in the loop the next job reuses) or a store write; a stop here ends the render the
    way a cancel does. Celery's hard `task_time_limit` stays as the backstop.
    """

    interval = 0.5

    def __init__(self, store: JobStore, job: Job, *, limit: float) -> None:
        self.store, self.job, self.current = store, job, job
        self.stop = threading.Event()
        self.superseded = self.timed_out = False
        self._deadline = time.monotonic() + limit
        self._latest = Progress("starting", 0.0)
        self._wake, self._done = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{job.id}", daemon=True)

    def progress(self, report: Progress) -> None:
        first_pid = report.kernel_pid is not None and self._latest.kernel_pid is None
        self._latest = report
        if first_pid:
            self._wake.set()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._done.set()
        self._wake.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._done.is_set():
            if time.monotonic() >= self._deadline and not self.stop.is_set():
                self.timed_out = True
                self.stop.set()
            self._write()
            self._wake.wait(self.interval)
            self._wake.clear()

    def _write(self) -> None:
        report = self._latest
        try:
            current = self.store.report(
                self.job.id, self.job.attempt, report.stage, report.fraction, report.kernel_pid
            )
        except Exception:
            log.exception("could not record progress of %s; will retry", self.job.id)
            return
        if current is None:
            self.superseded = True
            self.stop.set()
            return
        self.current = current
        if current.cancel_requested:
            self.stop.set()
