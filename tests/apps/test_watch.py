"""Folder mode: jobs dropped in a folder are rendered once and filed in done/ or failed/."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from neuroshorts.apps import watch
from support.media import probe

pytestmark = pytest.mark.render

NEUROSHORTS = str(Path(sys.executable).parent / "neuroshorts")


def run_cli(*args):
    return subprocess.run([NEUROSHORTS, *args], capture_output=True, text=True, timeout=600)


def write_job(folder, name, job):
    path = folder / name
    path.write_text(json.dumps(job) if isinstance(job, dict) else job, encoding="utf-8")
    return path


def process(folder, **options):
    return list(watch.watch(folder, once=True, **options))


def record(folder, name):
    return json.loads((folder / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def watched(tmp_path_factory):
    """One pass of `neuroshorts watch --once` over a good job, a bad one and files to skip."""
    folder = tmp_path_factory.mktemp("inbox")
    good = {
        "template": "explainer",
        "parameters": {"script": "Hello from the folder.", "quality": "draft"},
        "output": "nested/clip.mp4",
    }
    write_job(folder, "good.json", good)
    write_job(folder, "bad.json", {"template": "explainer", "parameters": {"quality": "4k"}})
    write_job(folder, "half.json", '{"template": "explainer", "param')
    write_job(folder, ".hidden.json", good)
    write_job(folder, "upload.json.tmp", good)
    # half.json is "still being written" until it has not changed for --settle seconds:
    # an hour, so that a slow start of the command cannot make it look abandoned.
    return folder, good, run_cli("watch", str(folder), "--once", "--settle", "3600")


def test_a_good_job_is_rendered_and_filed_in_done_with_its_manifest(watched):
    folder, good, result = watched
    assert record(folder, "done/good.json") == good  # the job itself, unchanged
    manifest = record(folder, "done/good.result.json")
    video = folder / "out" / "nested" / "clip.mp4"
    assert manifest["video"] == str(video)
    assert manifest["parameters"]["script"] == "Hello from the folder."
    info = probe(video)
    assert (info.video_codec, info.width, info.height, info.audio_codec) == (
        "h264",
        540,
        960,
        "aac",
    )
    assert f"good.json\t{video}" in result.stdout.splitlines()


def test_a_bad_job_is_filed_in_failed_with_an_error_naming_the_parameter(watched):
    folder, _, result = watched
    error = record(folder, "failed/bad.error.json")
    assert error["parameter"] == "quality" and error["kind"] == "invalid"
    assert error["error"] == "parameter 'quality': got '4k', expected one of draft, final"
    assert record(folder, "failed/bad.json")["parameters"] == {"quality": "4k"}
    assert result.returncode == 1  # --once reports that a job failed
    assert "Traceback" not in result.stderr


def test_unfinished_hidden_and_temporary_files_are_left_alone(watched):
    folder, _, _ = watched
    left = sorted(p.name for p in folder.iterdir() if p.is_file())
    assert left == [".hidden.json", ".watch.lock", "half.json", "upload.json.tmp"]
    assert list((folder / "processing").iterdir()) == []
    assert (folder / "half.json").read_text() == '{"template": "explainer", "param'


def test_a_half_written_job_is_taken_once_its_writer_completes_it(tmp_path):
    path = write_job(tmp_path, "job.json", '{"template": "nope", "parame')
    assert process(tmp_path) == []
    assert path.read_text() == '{"template": "nope", "parame'
    path.write_text('{"template": "nope", "parameters": {}}')
    [outcome] = process(tmp_path)
    assert not outcome.ok and outcome.record == tmp_path / "failed" / "job.error.json"
    assert record(tmp_path, "failed/job.error.json")["field"] == "template"
    assert "template 'nope' not found" in outcome.error
    assert not path.exists()


def test_a_broken_file_that_stopped_changing_fails_instead_of_waiting_forever(tmp_path):
    path = write_job(tmp_path, "broken.json", '{"template": ')
    long_ago = time.time() - 60
    os.utime(path, (long_ago, long_ago))
    [outcome] = process(tmp_path, settle=10)
    error = record(tmp_path, "failed/broken.error.json")
    assert error["field"] == "job" and "a JSON object" in error["error"]
    assert not outcome.ok and (tmp_path / "failed" / "broken.json").read_text() == '{"template": '


@pytest.mark.parametrize(
    ("job", "field", "message"),
    [
        ({"template": "explainer", "parameter": {}}, "parameter", "no such field"),
        ({"parameters": {}}, "template", "a template name"),
        ({"template": "explainer", "parameters": []}, "parameters", "an object"),
        ({"template": "explainer", "output": "../x.mp4"}, "output", "a relative path"),
        ({"template": "explainer", "output": "/tmp/x.mp4"}, "output", "a relative path"),
        ({"template": "explainer", "output": "x.mov"}, "output", "ending in .mp4"),
        (
            {"template": "explainer", "parameters": {"output": "x.mp4"}},
            "parameters.output",
            "at the job's top level",
        ),
        ('["explainer"]', "job", "a JSON object"),
    ],
)
def test_malformed_jobs_fail_naming_the_field(tmp_path, job, field, message):
    write_job(tmp_path, "job.json", job)
    [outcome] = process(tmp_path)
    error = record(tmp_path, "failed/job.error.json")
    assert error["field"] == field and message in error["error"]
    assert outcome.error == error["error"]


def test_a_job_left_in_processing_by_a_dead_watcher_is_processed_once_on_start(tmp_path):
    (tmp_path / "processing").mkdir()
    write_job(tmp_path / "processing", "orphan.json", {"template": "nope"})
    outcomes = process(tmp_path)
    assert [o.job for o in outcomes] == ["orphan.json"]
    assert list((tmp_path / "processing").iterdir()) == []
    assert (tmp_path / "failed" / "orphan.json").is_file()
    assert process(tmp_path) == []  # nothing left to do a second time


def test_a_job_name_used_again_is_filed_beside_the_first(tmp_path):
    for _ in range(2):
        write_job(tmp_path, "same.json", {"template": "nope"})
        process(tmp_path)
    assert sorted(p.name for p in (tmp_path / "failed").iterdir()) == [
        "same-2.error.json",
        "same-2.json",
        "same.error.json",
        "same.json",
    ]


def test_outputs_may_not_go_where_their_manifests_would_look_like_jobs(tmp_path):
    result = run_cli("watch", str(tmp_path), "--output-dir", str(tmp_path), "--once")
    assert result.returncode == 2 and "would look like jobs" in result.stderr
    missing = run_cli("watch", str(tmp_path / "nope"), "--once")
    assert missing.returncode == 2 and "no such directory" in missing.stderr


def test_a_running_watcher_takes_new_jobs_and_keeps_a_second_one_out(tmp_path):
    watcher = subprocess.Popen(
        [NEUROSHORTS, "watch", str(tmp_path), "--interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        write_job(tmp_path, "late.json", {"template": "nope"})
        deadline = time.monotonic() + 60
        while not (tmp_path / "failed" / "late.error.json").exists():
            assert watcher.poll() is None, watcher.stderr.read()
            assert time.monotonic() < deadline, "the watcher never took the job"
            time.sleep(0.1)
        second = run_cli("watch", str(tmp_path), "--once")
        assert second.returncode == 2 and "another watcher" in second.stderr
    finally:
        watcher.send_signal(signal.SIGTERM)
        out, err = watcher.communicate(timeout=60)
    assert watcher.returncode == 0, err
    assert out.startswith("late.json\tfailed: ")
