"""The image's entrypoint, run outside Docker: each role starts, becomes ready and stops.

`docker/entrypoint.sh` is what every container runs, so it is started here as a container
would start it (the command as its argument, settings in `NEUROSHORTS_*` variables, a data
directory of its own) with this checkout's virtualenv first on PATH. Readiness is what the
image's HEALTHCHECK sees: `/readyz` answering 200 for the HTTP roles, the worker answering
a ping by its node name over its broker.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from support import REPO

pytestmark = pytest.mark.services

ENTRYPOINT = REPO / "docker" / "entrypoint.sh"
VENV_BIN = Path(sys.executable).parent
#: Upper bound for a role to come up on a loaded 2-core machine; not a timing assertion.
START_DEADLINE = 180.0
STOP_DEADLINE = 60.0
#: Exit statuses of a graceful stop (uvicorn left alone re-raises SIGTERM once it is done).
GRACEFUL = (0, -signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def role_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """A container's environment: its own data dir, role file and settings, nothing inherited
    from NEUROSHORTS_* of the test run."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEUROSHORTS_")}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env |= {
        "NEUROSHORTS_DATA_DIR": str(tmp_path / "data"),
        "NEUROSHORTS_ROLE_FILE": str(tmp_path / "role"),
        "NEUROSHORTS_HOST": "127.0.0.1",
        "NEUROSHORTS_LOG_FORMAT": "json",
        **settings,
    }
    return env


def entrypoint(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ENTRYPOINT, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


@contextlib.contextmanager
def started(role: str, env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen]:
    """Run the entrypoint in `role`; on exit send SIGTERM to it alone, as Docker's stop
    does through tini, and require it to end by itself. Whatever it left running is
    killed afterwards (see `leftovers`)."""
    output = (tmp_path / f"{role}.out").open("w")
    process = subprocess.Popen(
        [ENTRYPOINT, role],
        env=env,
        cwd=tmp_path,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=STOP_DEADLINE)
        process.leftovers = leftovers(process.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        output.close()


def leftovers(group: int) -> bool:
    """Whether processes of the role's group are still running a while after it exited
    (children get STOP_DEADLINE to finish their own shutdown)."""
    deadline = time.monotonic() + STOP_DEADLINE
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        time.sleep(0.5)
    return True


def wait_until(ready: Callable[[], bool], process: subprocess.Popen, tmp_path: Path) -> None:
    deadline = time.monotonic() + START_DEADLINE
    while not ready():
        output = "".join(p.read_text(errors="replace") for p in tmp_path.glob("*.out"))
        assert process.poll() is None, f"exited with {process.returncode}:\n{output[-3000:]}"
        assert time.monotonic() < deadline, f"not ready in {START_DEADLINE} s:\n{output[-3000:]}"
        time.sleep(0.5)


def readyz(port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def json_log_lines(env: dict[str, str], role: str) -> list[dict]:
    """The lines of the role's own log file, which the entrypoint names per container."""
    path = Path(env["NEUROSHORTS_DATA_DIR"]) / "logs" / f"{role}-{socket.gethostname()}.log"
    assert path.is_file(), f"no log file {path}"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# --- the long-running roles ---------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("role", ["api", "serve"])
def test_http_role_becomes_ready_passes_its_healthcheck_and_stops_on_sigterm(role, tmp_path):
    port = free_port()
    env = role_env(tmp_path, NEUROSHORTS_PORT=str(port))
    with started(role, env, tmp_path) as process:
        wait_until(lambda: readyz(port) == 200, process, tmp_path)
        check = entrypoint("healthcheck", env=env, cwd=tmp_path)
        assert check.returncode == 0, check.stderr
    assert process.returncode in GRACEFUL
    assert not process.leftovers, "serve stops its worker with the API"
    messages = [line["message"] for line in json_log_lines(env, role)]
    assert "Application shutdown complete." in messages

    after = entrypoint("healthcheck", env=env, cwd=tmp_path)
    assert after.returncode != 0
    assert f"not ready: http://127.0.0.1:{port}/readyz" in after.stderr


@pytest.fixture
def redis_broker(tmp_path) -> Iterator[dict[str, str]]:
    """Settings for a worker on the real Redis, isolated by a key prefix and queue of its
    own; its keys are removed afterwards, nobody else's are touched."""
    tag = uuid.uuid4().hex[:10]
    prefix = f"neuroshorts-test-{tag}:"
    yield {
        "NEUROSHORTS_BROKER_URL": "redis://127.0.0.1:6379/0",
        "NEUROSHORTS_BROKER_OPTIONS": json.dumps({"global_keyprefix": prefix}),
        "NEUROSHORTS_QUEUE": f"renders-{tag}",
    }
    client = redis.Redis(host="127.0.0.1", port=6379, db=0)
    keys = list(client.scan_iter(match=f"{prefix}*", count=500))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.mark.slow
@pytest.mark.parametrize("broker", ["embedded", "redis"])
def test_worker_answers_the_healthcheck_ping_by_name_and_stops_on_sigterm(
    broker, tmp_path, request
):
    node = f"test-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    settings = request.getfixturevalue("redis_broker") if broker == "redis" else {}
    env = role_env(tmp_path, NEUROSHORTS_WORKER_NAME=node, **settings)

    def answers() -> bool:
        return entrypoint("healthcheck", env=env, cwd=tmp_path).returncode == 0

    with started("worker", env, tmp_path) as process:
        wait_until(answers, process, tmp_path)
    assert process.returncode in GRACEFUL
    assert not process.leftovers

    after = entrypoint("healthcheck", "worker", env=env, cwd=tmp_path)
    assert after.returncode != 0
    assert f"not ready: no answer from {node}" in after.stderr
    assert json_log_lines(env, "worker"), "the role logs JSON lines to its own file"


# --- one-off commands and dispatch ----------------------------------------------------------


def test_a_cli_subcommand_runs_once_through_the_entrypoint(tmp_path):
    listing = entrypoint("templates", env=role_env(tmp_path), cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert "explainer" in listing.stdout.split()


def test_bad_input_keeps_the_cli_exit_status_and_message(tmp_path):
    result = entrypoint(
        "render",
        "explainer",
        "-p",
        "bogus",
        "1",
        "-o",
        str(tmp_path / "x.mp4"),
        env=role_env(tmp_path),
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "parameter 'bogus'" in result.stderr
    assert not (tmp_path / "x.mp4").exists()


def test_options_go_to_the_cli_and_other_commands_run_as_given(tmp_path):
    env = role_env(tmp_path)
    version = entrypoint("--version", env=env, cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("neuroshorts ")
    shell = entrypoint("sh", "-c", "echo inside; exit 3", env=env, cwd=tmp_path)
    assert (shell.returncode, shell.stdout) == (3, "inside\n")


def test_healthcheck_of_a_one_off_container_has_nothing_to_probe(tmp_path):
    result = entrypoint("healthcheck", env=role_env(tmp_path), cwd=tmp_path)
    assert result.returncode == 0
    assert not (tmp_path / "role").exists()
