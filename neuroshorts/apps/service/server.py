"""The service's processes as the CLI starts them: API, worker, or both in one command.

`serve` is the embedded mode: it starts one worker as a child process (the same command
as `neuroshorts worker`, so it behaves exactly like a distributed one) and the API in
the foreground, and stops the worker when the API stops. Nothing else to start.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys

import uvicorn
from celery import platforms

from neuroshorts import templates
from neuroshorts.kernels.processes import pid_alive
from neuroshorts.media import storage
from neuroshorts.settings import Settings

log = logging.getLogger(__name__)

#: Seconds an idle HTTP connection is kept open. Longer than the idle expiry of client
#: pools (httpx 5 s, Node's agents 4-15 s, load balancers 60 s): when the server closed
#: first (uvicorn's default is 5 s), a request a client sent on the connection at that
#: moment failed with a reset (seen in bench/api.py, about once in 5000 requests).
KEEP_ALIVE = 75


def run_api(settings: Settings, *, access_log: bool = True) -> None:
    """Serve the API on settings.host:settings.port until SIGTERM or Ctrl-C.

    uvicorn shuts down gracefully on SIGTERM and then raises the signal again; the
    handler installed here turns that into a normal exit, so callers' `finally` blocks
    run (serve stops its worker there) and the exit status is 0.
    """
    from neuroshorts.apps.service.api import create_app

    signal.signal(signal.SIGTERM, _exit_normally)
    app = create_app(settings)
    log.info("API on http://%s:%d (OpenAPI at /docs)", settings.host, settings.port)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        access_log=access_log,
        log_config=None,
        timeout_keep_alive=KEEP_ALIVE,
    )


def worker_argv(settings: Settings) -> list[str]:
    """Celery worker options: prefork (time limits need it), one message at a time."""
    argv = [
        "worker",
        "--loglevel=INFO",
        f"--concurrency={settings.concurrency}",
        f"--queues={settings.queue}",
        "--prefetch-multiplier=1",
        "--pool=prefork",
        # Workers of one queue need no gossip: the job store is what they share.
        "--without-gossip",
        "--without-mingle",
    ]
    if settings.worker_name:
        argv.append(f"--hostname={settings.worker_name}")
    return argv


def run_worker(settings: Settings) -> None:
    """Consume render jobs until interrupted (Celery's warm shutdown on SIGTERM)."""
    from neuroshorts.apps.service.tasks import worker_app

    # The worker itself keeps its normal priority: it holds the job store's write lock
    # for heartbeats, and a lowered holder would make the API wait on it. Its renders
    # are lowered instead (`render_priority`).
    # Renders a killed worker left half-done on this disk (a remote output's work folder).
    storage.discard_stale_work(pid_alive)
    app = worker_app(settings)
    # Once, before Celery forks its pool: every pool process starts with papermill loaded.
    templates.load_runner()
    log.info("worker on %s, queue %s", _redacted(settings.broker_url), settings.queue)
    app.worker_main(worker_argv(settings))


def serve(settings: Settings) -> int:
    """API and one worker (a child process) in one command; the worker stops with the API."""
    # Not a settings read: the worker's environment, this one's plus the paths settled here.
    env = os.environ | {
        "NEUROSHORTS_DATA_DIR": str(settings.data_dir),
        "NEUROSHORTS_BROKER_URL": settings.broker_url,
        "NEUROSHORTS_DATABASE_URL": settings.database_url,
        "NEUROSHORTS_OUTPUT_DIR": settings.output_url or str(settings.output_dir),
        "NEUROSHORTS_QUEUE": settings.queue,
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "neuroshorts", "worker"],
        env=env,
        # Should serve itself be killed outright, the worker still gets its SIGTERM.
        preexec_fn=lambda: platforms.set_pdeathsig("SIGTERM"),
    )
    log.info("worker started (pid %d)", worker.pid)
    try:
        run_api(settings)
    except KeyboardInterrupt:
        log.info("interrupted")
    finally:
        stop_process(worker)
    return 0


def _exit_normally(signum: int, frame: object) -> None:
    raise SystemExit(0)


def stop_process(process: subprocess.Popen[bytes], grace: float = 30.0) -> None:
    """SIGTERM (Celery finishes the render in hand), then SIGKILL after `grace` seconds."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        log.warning("pid %d did not stop in %.0f s; killing it", process.pid, grace)
        process.kill()
        process.wait()


def _redacted(url: str) -> str:
    """The URL without its password, for logs."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}"
