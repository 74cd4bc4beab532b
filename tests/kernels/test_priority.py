"""Renders as background CPU work: what `priority.make_background` leaves in the kernel.

The point is latency for everything else (see bench/api.py); a test cannot time that
without flaking, so it checks what the scheduler is told, on the process and on the
child it starts afterwards, as a kernel starts ffmpeg.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from neuroshorts.kernels import priority
from neuroshorts.output.progress import Progress
from neuroshorts.templates import run
from support.process_groups import group_members

pytestmark = [pytest.mark.skipif(sys.platform != "linux", reason="reads /proc"), pytest.mark.render]

#: Waits for a line, then starts a child (as a kernel starts ffmpeg) and prints its pid.
KERNEL_LIKE = (
    "import subprocess, sys; sys.stdin.readline(); "
    "child = subprocess.Popen(['sleep', '60']); print(child.pid, flush=True); child.wait()"
)


@pytest.fixture
def kernel_like():
    process = subprocess.Popen(
        [sys.executable, "-c", KERNEL_LIKE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    yield process
    os.killpg(process.pid, 9)
    process.wait()


def test_a_background_process_and_the_children_it_starts_later_yield_the_cpu(kernel_like):
    assert os.sched_getscheduler(kernel_like.pid) == os.SCHED_OTHER
    priority.make_background(kernel_like.pid)
    kernel_like.stdin.write("go\n")
    kernel_like.stdin.flush()
    child = int(kernel_like.stdout.readline())

    assert os.sched_getscheduler(kernel_like.pid) == os.sched_getscheduler(child) == os.SCHED_IDLE
    autogroup = Path(f"/proc/{kernel_like.pid}/autogroup")
    if autogroup.exists():
        assert autogroup.read_text().split()[-2:] == ["nice", "19"]
    group = priority.idle_cgroup()
    if os.geteuid() == 0 and Path("/sys/fs/cgroup/cpu/cpu.idle").exists():
        assert group is not None, "root on a cgroup v1 cpu controller gets the idle cgroup"
    if group is not None:
        assert (group / "cpu.idle").read_text().strip() == "1"
        for pid in (kernel_like.pid, child):
            cpu = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
            assert any(":cpu:" in line and line.endswith(priority.CGROUP_NAME) for line in cpu), cpu


def test_this_process_keeps_its_own_priority(kernel_like):
    """Only the render is lowered: the worker holds the store's write lock."""
    before = os.sched_getscheduler(0), os.getpriority(os.PRIO_PROCESS, 0)
    priority.make_background(kernel_like.pid)
    assert (os.sched_getscheduler(0), os.getpriority(os.PRIO_PROCESS, 0)) == before


@pytest.mark.slow
def test_a_background_render_runs_its_kernel_and_ffmpeg_as_idle_cpu_work(tmp_path):
    """What a worker with `render_priority=idle` asks of `templates.run`, on a real render."""
    seen: dict[str, int] = {}

    def on_progress(report: Progress) -> None:
        if report.stage != "encode" or report.kernel_pid is None or "ffmpeg" in seen:
            return
        for pid, command in group_members(report.kernel_pid):
            if "ffmpeg" in command:
                seen["ffmpeg"] = os.sched_getscheduler(pid)
                seen["kernel"] = os.sched_getscheduler(report.kernel_pid)

    values = {"script": "Hello there, this runs in the background.", "quality": "draft"}
    run(
        "explainer",
        values,
        tmp_path / "idle.mp4",
        progress=False,
        on_progress=on_progress,
        background=True,
    )
    assert seen == {"ffmpeg": os.SCHED_IDLE, "kernel": os.SCHED_IDLE}
    assert os.sched_getscheduler(0) == os.SCHED_OTHER, "the caller keeps its own priority"
