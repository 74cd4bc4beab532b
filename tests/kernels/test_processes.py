"""Telling live processes from dead ones, zombies included (`kernels/processes.py`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from neuroshorts.kernels.processes import group_alive, pid_alive

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="zombies are told by /proc")


def zombie() -> subprocess.Popen[bytes]:
    """A group leader that exited and that nobody has reaped yet."""
    process = subprocess.Popen(["true"], start_new_session=True)
    deadline = time.monotonic() + 10
    stat = Path(f"/proc/{process.pid}/stat")
    while stat.read_text().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.01)
    return process


def test_a_zombie_is_not_alive_and_neither_is_a_group_of_zombies():
    process = zombie()
    try:
        os.kill(process.pid, 0)  # the pid still exists...
        assert not pid_alive(process.pid)  # ...but nothing runs
        assert not group_alive(process.pid)
    finally:
        process.wait()
    assert not pid_alive(process.pid) and not group_alive(process.pid)


def test_a_group_with_one_live_member_is_alive():
    leader = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        assert pid_alive(leader.pid) and group_alive(leader.pid)
    finally:
        leader.kill()
        leader.wait()
