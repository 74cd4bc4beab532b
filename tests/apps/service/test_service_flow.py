"""The service end to end on each broker: real API, real worker processes, real renders.

Embedded mode (file-system broker, SQLite), Redis and RabbitMQ each run the whole flow:
a render reports its progress and succeeds with a playable MP4 and a signed callback;
two workers render two jobs at the same time, as does one worker with --concurrency 2,
whose second render, encoding beside the first, takes its share of the cores; a
cancelled render stops (kernel and ffmpeg gone) and leaves no output. The PostgreSQL job
store runs the first test on Redis.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest

from neuroshorts.apps.service.schemas import FINAL
from neuroshorts.apps.service.webhooks import SIGNATURE_HEADER, verify
from neuroshorts.output.cores import cores
from support.media import probe, x264_options
from support.process_groups import group_members
from support.service_stack import (
    LONG_PARAMETERS,
    RENDER_DEADLINE,
    SECRET,
    SHORT_PARAMETERS,
    running_stack,
    wait_for,
)

pytestmark = [pytest.mark.services, pytest.mark.render]

BROKERS = ["embedded", "redis", "rabbitmq"]


@pytest.mark.parametrize("stack", [*BROKERS, "postgres"], indirect=True)
def test_a_render_reports_progress_and_succeeds_with_a_playable_mp4(stack, receiver):
    path = f"/done/{stack.broker.name}-{stack.settings.queue}"
    callback = receiver.url(path)
    job = stack.submit(SHORT_PARAMETERS, callback_url=callback)
    assert job["state"] == "queued"

    seen: list[dict] = []

    def finished() -> dict | None:
        seen.append(stack.job(job["id"]))
        return seen[-1] if seen[-1]["state"] in FINAL else None

    done = wait_for(finished, RENDER_DEADLINE, "the render", every=0.05)
    assert done["state"] == "succeeded", done["error"]
    running = [(s["stage"], s["progress"]) for s in seen if s["state"] == "running"]
    assert any(0 < fraction < 1 for _, fraction in running), running
    assert len({stage for stage, _ in running}) >= 2, running
    fractions = [fraction for _, fraction in running]
    assert fractions == sorted(fractions), "progress never goes back"
    assert (done["progress"], done["attempt"]) == (1.0, 1)
    kernel_stages = {"kernel.start", "kernel.wait", "first_cell"}
    assert kernel_stages <= set(done["manifest"]["stages"]), "the kernel's start is timed"

    video = Path(done["manifest"]["video"])
    assert video == Path(done["output"]) == stack.settings.output_dir / f"{job['id']}.mp4"
    media = probe(video)
    assert (media.video_codec, media.width, media.height) == ("h264", 540, 960)
    assert media.audio_codec == "aac" and media.duration > 0.5
    with stack.http as http:
        served = http.get(f"/v1/renders/{job['id']}/video")
        notebook = http.get(f"/v1/renders/{job['id']}/notebook")
    assert served.status_code == 200 and served.headers["content-type"] == "video/mp4"
    assert served.content == video.read_bytes()
    assert notebook.status_code == 200 and json.loads(notebook.content)["cells"]

    log = video.with_suffix(".log").read_text()
    assert f"[job {job['id']}]" in log and "succeeded" in log

    (call,) = wait_for(lambda: receiver.calls_to(path), 60, "the callback")
    assert verify(call.body, call.headers[SIGNATURE_HEADER], SECRET)
    assert json.loads(call.body)["state"] == "succeeded"

    def recorded() -> dict | None:
        """The sender records the delivery once the receiver's reply is back, a moment
        after the receiver has the call."""
        webhook = stack.job(job["id"])["webhook"]
        return webhook if webhook["state"] != "pending" else None

    delivered = wait_for(recorded, 10, "the delivery's record")
    assert delivered["state"] == "delivered" and len(delivered["deliveries"]) == 1


@pytest.mark.parametrize("stack", BROKERS, indirect=True)
def test_two_workers_render_two_jobs_at_the_same_time(stack):
    jobs = [stack.submit(SHORT_PARAMETERS) for _ in range(2)]
    first, second = (stack.wait_state(job["id"], FINAL) for job in jobs)
    assert first["state"] == second["state"] == "succeeded", (first["error"], second["error"])
    assert first["worker"]["pid"] != second["worker"]["pid"]
    assert first["started_at"] < second["finished_at"]
    assert second["started_at"] < first["finished_at"], "their running intervals overlap"
    for job in (first, second):
        assert probe(job["manifest"]["video"]).frames > 0


def test_a_job_encoding_alone_keeps_x264s_threads_and_one_beside_it_takes_its_share(
    tmp_path, monkeypatch
):
    """One worker, two renders at once: the first starts encoding alone and keeps x264's
    own threads; the second starts while the first encodes and takes its share of the
    cores. The stack gets a temp dir of its own (short: kernels' sockets live there), so
    renders of tests running beside it are not on its 'machine'."""
    machine = tempfile.mkdtemp(prefix="ns-")
    monkeypatch.setenv("TMPDIR", machine)
    try:
        with running_stack(tmp_path, "embedded", workers=1, concurrency=2) as stack:
            first = stack.submit({**LONG_PARAMETERS, "quality": "final"})
            stack.wait_stage(first["id"], "encode")
            second = stack.wait_state(stack.submit(SHORT_PARAMETERS)["id"], FINAL)
            first = stack.wait_state(first["id"], FINAL)
    finally:
        shutil.rmtree(machine, ignore_errors=True)
    assert first["state"] == second["state"] == "succeeded", (first["error"], second["error"])
    assert second["finished_at"] < first["finished_at"], "the second rendered beside the first"
    threads = [int(x264_options(job["manifest"]["video"])["threads"]) for job in (first, second)]
    assert threads[0] >= cores(), "x264's own: ~1.5 a core"
    assert threads[1] == max(1, cores() // 2)


@pytest.mark.parametrize("stack", BROKERS, indirect=True)
def test_cancel_stops_a_running_render_and_leaves_no_output(stack, receiver):
    path = f"/cancelled/{stack.broker.name}"
    job = stack.submit(LONG_PARAMETERS, callback_url=receiver.url(path))

    current = stack.wait_stage(job["id"], "encode")
    kernel = current["worker"]["kernel_pid"]
    members = group_members(kernel)
    assert any("ffmpeg" in command for _, command in members)

    with stack.http as http:
        response = http.post(f"/v1/renders/{job['id']}/cancel")
    assert response.status_code == 202 and response.json()["cancel_requested"]
    done = stack.wait_state(job["id"], FINAL)

    assert done["state"] == "cancelled"
    assert group_members(kernel) == [], "no kernel or ffmpeg of the job is left"
    output = Path(done["output"])
    left = sorted(p.name for p in output.parent.iterdir() if job["id"] in p.name)
    assert left == [f"{job['id']}.log"], "only the job's log stays"
    (call,) = wait_for(lambda: receiver.calls_to(path), 60, "the cancel callback")
    assert json.loads(call.body)["state"] == "cancelled"
