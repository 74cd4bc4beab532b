"""A worker killed with SIGKILL mid-render: the job runs again elsewhere, ends with one video.

Embedded mode is the hard case (the file-system broker never delivers a message twice,
so the API's reconciler requeues the job); on RabbitMQ the broker itself delivers the
message again to the other worker. Either way the killed attempt's kernel and ffmpeg
must be gone (checked in /proc, as `ps` would) and must not have written the output.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from neuroshorts.apps.service.schemas import FINAL
from support.media import probe
from support.process_groups import group_members, parent_of
from support.service_stack import (
    LONG_PARAMETERS,
    LONG_SCRIPT,
    running_stack,
)

pytestmark = [pytest.mark.services, pytest.mark.render, pytest.mark.slow]


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that contain `text` (a job id in a file name)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and entry.name != str(os.getpid()):
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if text in command:
                found.append(command)
    return found


@pytest.mark.parametrize("broker", ["embedded", "rabbitmq"])
def test_a_worker_killed_mid_render_is_replaced_and_the_job_ends_with_one_output(broker, tmp_path):
    with running_stack(tmp_path, broker, workers=2) as stack:
        job = stack.submit(LONG_PARAMETERS)

        first = stack.wait_stage(job["id"], "encode")
        kernel, child = first["worker"]["kernel_pid"], first["worker"]["pid"]
        assert any("ffmpeg" in command for _, command in group_members(kernel))
        (victim,) = [w for w in stack.workers if w.process.pid == parent_of(child)]
        os.kill(victim.process.pid, signal.SIGKILL)
        victim.process.wait()

        done = stack.wait_state(job["id"], FINAL)

        assert done["state"] == "succeeded", done["error"]
        assert done["attempt"] == 2 and done["worker"]["pid"] != child
        assert group_members(kernel) == [], "the killed attempt's kernel and ffmpeg are gone"
        assert processes_mentioning(job["id"]) == []
        output_dir = Path(done["output"]).parent
        videos = sorted(p.name for p in output_dir.iterdir() if ".mp4" in p.name)
        assert videos == [f"{job['id']}.mp4"], "one output, no partial file"
        media = probe(done["manifest"]["video"])
        assert media.duration == pytest.approx(done["manifest"]["duration"], abs=0.1)
        assert media.duration > 15, "the whole script, not the part the killed worker encoded"


def test_a_render_past_its_soft_time_limit_is_stopped_and_the_worker_goes_on(tmp_path):
    # The limit is the quick job's too: 20 s leaves it room on a loaded machine (where
    # the next job's kernel starts beside it), and ~75 s of final-quality video takes
    # well over 20 s to encode anywhere.
    with running_stack(tmp_path, "embedded", workers=1, soft_time_limit=20) as stack:
        slow = stack.submit(
            LONG_PARAMETERS | {"script": " ".join([LONG_SCRIPT] * 3), "quality": "final"}
        )
        done = stack.wait_state(slow["id"], FINAL)
        assert done["state"] == "failed" and "soft time limit" in done["error"]
        assert group_members(done["worker"]["kernel_pid"]) == []
        output = Path(done["output"])
        assert not [p.name for p in output.parent.iterdir() if ".mp4" in p.name]

        quick = stack.submit({"script": "Hello there.", "quality": "draft"})
        after = stack.wait_state(quick["id"], FINAL)
        assert after["state"] == "succeeded", after["error"]
        assert after["worker"]["pid"] == done["worker"]["pid"], "the same worker process"
