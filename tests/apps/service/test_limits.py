"""How much a request may ask for, and what a worker does past its limits.

The API checks request body, parameters, script and the video's estimated length
before anything is queued (413 or 422 naming the field). The asset size limit and the
scheme policy are enforced where the media are fetched, in the worker's kernel, so
those are proven on a real worker; so is the time limit, which ends a job `failed` with
`error_kind` `timeout` and no video.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from neuroshorts.apps.service import queue
from neuroshorts.apps.service.limits import estimated_seconds
from neuroshorts.apps.service.schemas import FINAL
from neuroshorts.apps.service.store import NewJob, new_id
from neuroshorts.media import assets
from neuroshorts.media.policy import HOSTS_ENV
from support.loopback import LoopbackServer, Reply
from support.process_groups import group_members
from support.service_stack import LONG_PARAMETERS, running_stack

pytestmark = pytest.mark.services

LIMITS = {
    "max_body_bytes": 20_000,
    "max_parameters_bytes": 2_000,
    "max_script_chars": 500,
    "max_duration": 10,
    "max_batch_rows": 3,
}
SHORT = {"script": "Hi.", "quality": "draft"}


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    root = tmp_path_factory.mktemp("limits")
    with running_stack(root, "embedded", workers=0, **LIMITS) as stack:
        yield stack


def refused(stack, status: int, field: str, says: str, **request) -> None:
    """Send `request`; assert the status, the field, the reason and that nothing is queued."""
    before = (stack.store.count(), stack.queue_length())
    with httpx.Client(base_url=stack.url, timeout=30) as http:
        response = http.request(**request)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["field"] == field and says in error["reason"], error
    assert (stack.store.count(), stack.queue_length()) == before


def render(parameters: dict, **extra) -> dict:
    return {
        "method": "POST",
        "url": "/v1/renders",
        "json": {"template": "explainer", "parameters": parameters, **extra},
    }


def batch(rows: list[dict]) -> dict:
    return {"method": "POST", "url": "/v1/batches", "json": {"template": "explainer", "rows": rows}}


def test_a_script_over_the_length_limit_is_refused(api):
    script = "a" * 501
    refused(
        api, 422, "parameters.script", "501 characters; at most 500", **render({"script": script})
    )


def test_a_script_too_long_to_narrate_within_the_duration_limit_is_refused(api):
    script = "word " * 60  # at least 60 / 3.5 = 17 s of speech
    assert estimated_seconds(script, 3.5) > LIMITS["max_duration"]
    refused(api, 422, "parameters.script", "at least 17 s", **render({"script": script}))
    with httpx.Client(base_url=api.url, timeout=30) as http:
        faster = http.post("/v1/renders", json=render({"script": script, "speed": 2.0})["json"])
    assert faster.status_code == 202, "read twice as fast it fits: the estimate takes the speed"


def test_text_without_spaces_counts_a_word_per_six_characters(api):
    script = "字" * 420  # 70 "words", at least 20 s
    refused(api, 422, "parameters.script", "at least 20 s", **render({"script": script}))


def test_parameters_over_the_size_limit_get_413(api):
    title = "t" * 3_000
    refused(api, 413, "parameters", "at most 2000", **render({**SHORT, "title": title}))


def test_a_body_over_the_size_limit_gets_413_declared_or_streamed(api):
    body = b'{"template": "explainer", "parameters": {"title": "' + b"x" * 30_000 + b'"}}'
    headers = {"Content-Type": "application/json"}
    refused(
        api,
        413,
        "body",
        "at most 20000",
        method="POST",
        url="/v1/renders",
        content=body,
        headers=headers,
    )

    def chunks():
        for start in range(0, len(body), 4_096):
            yield body[start : start + 4_096]

    refused(
        api,
        413,
        "body",
        "more than 20000 bytes",
        method="POST",
        url="/v1/renders",
        content=chunks(),
        headers=headers,
    )


def test_a_batch_over_the_row_limit_is_refused(api):
    rows = [SHORT] * 4
    refused(api, 422, "rows", "4 rows; at most 3", **batch(rows))


def test_a_batch_row_past_a_limit_is_refused_naming_the_row(api):
    rows = [SHORT, {"script": "b" * 600}]
    refused(api, 422, "rows[1].script", "at most 500", **batch(rows))


def test_a_request_within_every_limit_is_accepted(api):
    with httpx.Client(base_url=api.url, timeout=30) as http:
        response = http.post("/v1/renders", json=render({"script": "word " * 30})["json"])
    assert response.status_code == 202, response.text


# -- on a real worker -------------------------------------------------------------------


@pytest.fixture(scope="module")
def photo_server(tmp_path_factory):
    photo = assets.resolve("builtin:aurora").read_bytes()
    with LoopbackServer() as server:
        server.routes["/aurora.jpg"] = Reply(photo, headers={"Content-Type": "image/jpeg"})
        yield server


@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    """One worker that may fetch from loopback, with an asset limit far below a photo."""
    root = tmp_path_factory.mktemp("limits-worker")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(HOSTS_ENV, "public,127.0.0.1")
        with running_stack(root, "embedded", workers=1, max_asset_bytes=5_000) as stack:
            yield stack


def no_video_left(job: dict) -> None:
    output = Path(job["output"])
    assert not output.exists()
    assert not [p.name for p in output.parent.iterdir() if ".mp4" in p.name or ".partial" in p.name]


@pytest.mark.render
def test_the_asset_size_limit_reaches_the_worker(worker, photo_server):
    job = worker.submit({**SHORT, "background": photo_server.url("/aurora.jpg")})
    done = worker.wait_state(job["id"], FINAL)
    assert done["state"] == "failed"
    assert "background" in done["error"] and "over the limit of 5,000" in done["error"]
    assert done["error_kind"] == "render"
    no_video_left(done)


@pytest.mark.render
def test_a_worker_refuses_local_files_even_when_a_job_skipped_the_api(worker, tmp_path):
    """A job written to the store directly (an older API, a script) still cannot read files."""
    photo = tmp_path / "photo.jpg"
    shutil.copy(assets.resolve("builtin:aurora"), photo)
    job_id = new_id()
    output = str(worker.settings.output_dir / f"{job_id}.mp4")
    worker.store.create(NewJob("explainer", {**SHORT, "background": str(photo)}, output, id=job_id))
    queue.enqueue(queue.make_celery(worker.settings), worker.settings, job_id)
    done = worker.wait_state(job_id, FINAL)
    assert done["state"] == "failed"
    assert "background" in done["error"] and "file scheme" in done["error"]
    no_video_left(done)


@pytest.mark.render
@pytest.mark.slow
def test_a_job_past_its_time_limit_fails_with_reason_timeout_and_no_video(tmp_path):
    with running_stack(tmp_path, "embedded", workers=1, soft_time_limit=2, time_limit=60) as stack:
        # At final quality: its encode alone outlasts the limit on any machine.
        job = stack.submit(LONG_PARAMETERS | {"quality": "final"})
        done = stack.wait_state(job["id"], FINAL)
    assert done["state"] == "failed" and done["error_kind"] == "timeout", done
    assert "time limit" in done["error"]
    no_video_left(done)
    if done["worker"]["kernel_pid"]:
        assert group_members(done["worker"]["kernel_pid"]) == []
