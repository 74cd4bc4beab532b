"""The fork server a worker starts its kernels from (`forkserver.py`): it forks from one
thread, its forks come with what only some runs import, a background kernel is background
CPU work from its first thread, a server that died is started again, and when the process
that started the server dies, the server and its kernels go too.

Real kernels forked from a real server; the runs themselves are in test_prestart.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from neuroshorts.kernels import prestart
from neuroshorts.kernels.forkserver import ForkServer
from neuroshorts.kernels.processes import pid_alive
from support.kernels import imported
from support.process_groups import dead, parent_of

pytestmark = [pytest.mark.skipif(sys.platform != "linux", reason="reads /proc"), pytest.mark.render]

#: A worker's process: forks one kernel, says who is who, then waits to be killed.
HOST = """\
import time
from neuroshorts.kernels import prestart
prestart.fork_kernels()
kernel = prestart.prepare().result()
print(prestart._server.process.pid, kernel.pid, flush=True)
time.sleep(600)
"""


@pytest.fixture
def server(monkeypatch):
    server = ForkServer()
    monkeypatch.setattr(prestart, "_server", server)
    yield server
    prestart.discard_spare()
    server.close()


def threads(pid: int) -> list[Path]:
    return list(Path(f"/proc/{pid}/task").iterdir())


def test_the_server_forks_kernels_from_its_only_thread(server):
    """A fork keeps only the forking thread: one the server had would be missing in every
    kernel (onnxruntime starts one at import: Piper is not imported there)."""
    kernel = prestart.start()
    assert len(threads(server.process.pid)) == 1
    assert kernel.alive() and os.getpgid(kernel.pid) == kernel.pid, "a session of its own"
    kernel.kill()
    assert dead(kernel.pid)


def test_forks_come_with_what_only_some_runs_import(server, monkeypatch):
    """A worker's jobs with numbers in their script or media behind a URL find num2words
    and fsspec imported once in the server; a single run's kernel (not forked) skips them."""
    optional = ("num2words", "fsspec")
    forked = prestart.start()
    try:
        assert imported(forked, optional) == sorted(optional)
    finally:
        forked.kill()
    monkeypatch.setattr(prestart, "_server", None)  # a single run's kernel, from its command
    started = prestart.start()
    try:
        assert imported(started, optional) == []
    finally:
        started.kill()


def test_a_background_kernel_is_idle_cpu_work_on_every_thread(server):
    kernel = prestart.start(background=True)
    try:
        policies = {os.sched_getscheduler(int(task.name)) for task in threads(kernel.pid)}
        assert len(threads(kernel.pid)) > 1 and policies == {os.SCHED_IDLE}
        assert os.sched_getscheduler(server.process.pid) == os.SCHED_OTHER
    finally:
        kernel.kill()


def test_a_server_that_died_is_started_again_for_the_next_kernel(server):
    """Killed, as the out-of-memory killer might: the worker's next jobs still get kernels."""
    killed = server.process.pid
    os.kill(killed, signal.SIGKILL)
    server.process.wait()
    kernel = prestart.start()
    try:
        assert kernel.alive() and parent_of(kernel.pid) == server.process.pid != killed
    finally:
        kernel.kill()


def test_when_its_process_dies_the_server_and_its_kernels_exit():
    host = subprocess.Popen(
        [sys.executable, "-c", HOST], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        server, kernel = map(int, host.stdout.readline().split())
        assert pid_alive(server) and pid_alive(kernel)
        host.kill()
        host.wait()
        assert dead(server) and dead(kernel)
    finally:
        if host.poll() is None:
            os.killpg(host.pid, signal.SIGKILL)
            host.wait()
