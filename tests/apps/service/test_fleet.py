"""A fleet with no shared disk: API and workers meet only through Redis, PostgreSQL, a bucket.

The API and two workers are `neuroshorts api` / `neuroshorts worker` processes, each with a
data directory of its own (standing for three machines); the only things they share are
Redis, a fresh PostgreSQL database and a bucket on moto's S3 server (loopback). The output
directory is `s3://<bucket>/renders/` and the template search path `s3://<bucket>/templates/`,
where the drill publishes a custom template (`chime`, a tone over a colour) and later
changes it. Afterwards no video exists outside the bucket: not on any process's disk.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import fsspec
import httpx
import nbformat
import pytest
from pydantic import ValidationError

from neuroshorts import templates
from neuroshorts.apps.service import outputs
from neuroshorts.errors import ApiError
from neuroshorts.settings import Settings
from support.loopback import use_s3
from support.media import probe
from support.service_stack import (
    START_DEADLINE,
    free_port,
    make_broker,
    postgres_database,
    wait_for,
)

DEADLINE = 240.0
#: Files of a render; none of them may be on any process's disk outside its cache.
RENDER_SUFFIXES = {".mp4", ".jpg", ".srt", ".vtt", ".ass", ".json", ".ipynb", ".log"}

pytestmark = pytest.mark.services


def chime(color: str) -> str:
    """A template: a 440 Hz tone over one colour, `duration` seconds, draft by default."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    }
    notebook.cells = [
        nbformat.v4.new_markdown_cell(f"# Chime\n\nA tone over {color}: the fleet drill's own."),
        nbformat.v4.new_code_cell(
            "import numpy as np\n"
            "from IPython.display import display\n"
            "from neuroshorts import Canvas, Short, Span, render, visuals\n"
            "from neuroshorts.audio.decode import write_wav\n"
            "from neuroshorts.scene import AudioTrack"
        ),
        nbformat.v4.new_code_cell(
            'script: str = ""  # not spoken\n'
            f'color: str = "{color}"  # the colour of the frame\n'
            "duration: float = 1.0  # seconds\n"
            'output: str = ""  # MP4 path to render\n'
            'quality: str = "draft"  # [draft|final]',
            metadata={"tags": ["parameters"]},
        ),
        nbformat.v4.new_code_cell(
            "rate = 48000\n"
            "tone = 0.2 * np.sin(2 * np.pi * 440 * np.arange(int(rate * duration)) / rate)\n"
            'wav = write_wav(output + ".tone.wav", tone, rate)\n'
            "audio = AudioTrack(str(wav), duration)\n"
            'layers = [visuals.background(f"solid:{color}", Span(0, duration))]\n'
            "short = Short(Canvas.for_aspect('9:16'), audio, layers, duration=duration)\n"
            "display(render(short, output, quality=quality, thumbnail_at=0.0))"
        ),
    ]
    return nbformat.writes(notebook)


class Fleet:
    """Processes that share nothing but the broker, the database and the bucket."""

    def __init__(self, root: Path, env: dict[str, str], bucket: str, fs: Any) -> None:
        self.root, self.bucket, self.fs, self.port = root, bucket, fs, free_port()
        self.env = env | {"NEUROSHORTS_PORT": str(self.port)}
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.starts: dict[str, int] = {}

    def home(self, name: str) -> Path:
        """The process's data directory: its machine's disk."""
        return self.root / name

    def log(self, name: str) -> Path:
        return self.home(name) / "logs" / "neuroshorts.log"

    def start(self, name: str) -> None:
        role = "api" if name == "api" else "worker"
        env = self.env | {
            "NEUROSHORTS_DATA_DIR": str(self.home(name)),
            "NEUROSHORTS_WORKER_NAME": f"{name}@fleet-{uuid.uuid4().hex[:6]}",
        }
        env.pop("NEUROSHORTS_LOG_FILE", None)
        self.home(name).mkdir(parents=True, exist_ok=True)
        self.starts[name] = self._readies(name)
        with open(self.root / f"{name}.out", "ab") as out:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "neuroshorts", role],
                env=env,
                cwd=self.home(name),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_for(lambda: self._ready(name), START_DEADLINE, f"{name} to start", every=0.2)

    def _ready(self, name: str) -> bool:
        process = self.processes[name]
        if process.poll() is not None:
            output = (self.root / f"{name}.out").read_text(errors="replace")[-3000:]
            raise AssertionError(f"{name} exited with {process.returncode}:\n{output}")
        if name == "api":
            try:
                return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False
        return self._readies(name) > self.starts[name]

    def _readies(self, name: str) -> int:
        log = self.log(name)
        return log.read_text(errors="replace").count(" ready.") if log.is_file() else 0

    def kill(self, name: str) -> None:
        process = self.processes[name]
        process.send_signal(signal.SIGKILL)
        process.wait()

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def submit(self, parameters: dict[str, object]) -> str:
        response = httpx.post(
            f"{self.url}/v1/renders",
            json={"template": "chime", "parameters": parameters},
            timeout=60,
        )
        assert response.status_code == 202, response.text
        return response.json()["id"]

    def job(self, job_id: str) -> dict:
        response = httpx.get(f"{self.url}/v1/renders/{job_id}", timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def wait(self, job_id: str, states: set[str]) -> dict:
        def reached() -> dict | None:
            job = self.job(job_id)
            return job if job["state"] in states else None

        return wait_for(reached, DEADLINE, f"job {job_id} to be {states}", every=0.25)

    def holder(self, job: dict) -> str | None:
        """The worker whose Celery pool child renders `job`."""
        pid = (job.get("worker") or {}).get("pid")
        if pid is None:
            return None
        try:
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            return None
        return next((n for n, p in self.processes.items() if p.pid in (pid, parent)), None)

    def link(self, job_id: str, name: str) -> str:
        """Where the API redirects `/v1/renders/{id}/<name>` to: a signed bucket link."""
        response = httpx.get(f"{self.url}/v1/renders/{job_id}/{name}", timeout=30)
        assert response.status_code == 307, response.text
        return response.headers["location"]

    def fetches(self, url: str) -> dict[str, int]:
        """How often each process downloaded `url` into its cache (its log says)."""
        line = f"asset cache miss: fetched {url} "
        return {
            name: self.log(name).read_text(errors="replace").count(line)
            for name in self.processes
            if self.log(name).is_file()
        }


@pytest.fixture(scope="module")
def fleet(s3_endpoint, tmp_path_factory):
    """The bucket with the `chime` template, the API and two workers; torn down after."""
    tag = uuid.uuid4().hex[:10]
    aws = {
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    previous = {name: os.environ.get(name) for name in aws}
    os.environ.update(aws)  # this process's s3fs, for publishing and reading the bucket
    bucket = f"fleet-{tag}"
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    fs.mkdir(bucket)
    fs.pipe(f"{bucket}/templates/chime.ipynb", chime("#1b1464").encode())
    broker = make_broker("redis", tag)
    with postgres_database(tag) as database:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NEUROSHORTS_", "AWS_"))}
        env |= aws | broker.env
        env |= {
            "NEUROSHORTS_DATABASE_URL": database,
            "NEUROSHORTS_OUTPUT_DIR": f"s3://{bucket}/renders/",
            "NEUROSHORTS_TEMPLATES": f"s3://{bucket}/templates/",
            "NEUROSHORTS_SWEEP_INTERVAL": "1",
            "NEUROSHORTS_LEASE": "15",
            "NEUROSHORTS_RESEND_AFTER": "5",
            "NEUROSHORTS_SOFT_TIME_LIMIT": "150",
            "NEUROSHORTS_TIME_LIMIT": "180",
            "NEUROSHORTS_RENDER_PRIORITY": "normal",
        }
        fleet = Fleet(tmp_path_factory.mktemp("fleet"), env, bucket, fs)
        try:
            fleet.start("api")
            fleet.start("worker-a")
            fleet.start("worker-b")
            yield fleet
        finally:
            fleet.stop()
            broker.cleanup()
            for name, value in previous.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def keys(fleet: Fleet, job_id: str) -> set[str]:
    return {Path(key).name for key in fleet.fs.ls(f"{fleet.bucket}/renders/{job_id}/")}


def test_a_fleet_without_shared_disk_renders_into_the_bucket(fleet):
    """Jobs render from a bucket template into the bucket; the template's version is kept
    per machine (one download each) until it changes; a worker SIGKILLed mid-render is
    replaced by the other; and no process's disk holds a video afterwards."""
    template_url = f"s3://{fleet.bucket}/templates/chime.ipynb"
    first = fleet.fs.cat(template_url).decode()

    # Four jobs on the published template: both workers render, each fetches it once.
    jobs = [fleet.submit({"duration": 0.5}) for _ in range(4)]
    done = [fleet.wait(job_id, {"succeeded", "failed"}) for job_id in jobs]
    assert [job["state"] for job in done] == ["succeeded"] * 4, done
    for job in done:
        assert job["output"] == f"s3://{fleet.bucket}/renders/{job['id']}/{job['id']}.mp4"
        assert job["manifest"]["template_sha256"] == sha256(first)
        assert job["manifest"]["video"] == job["output"]
        stem = job["id"]
        assert keys(fleet, stem) >= {f"{stem}{s}" for s in (".mp4", ".json", ".jpg", ".ipynb")}
        assert f"{stem}.log" in keys(fleet, stem)
    fetched = fleet.fetches(template_url)
    assert fetched["api"] == 1, "the API validated the requests against the template"
    assert sum(fetched.values()) >= 2 and max(fetched.values()) == 1, fetched

    # The video of a job, served by the API (which has no copy) as a redirect.
    response = httpx.get(f"{fleet.url}/v1/renders/{jobs[0]}/video", timeout=30)
    assert response.status_code == 307
    video = httpx.get(response.headers["location"], timeout=30)
    assert video.status_code == 200
    mp4 = fleet.root / "downloaded.mp4"
    mp4.write_bytes(video.content)
    media = probe(mp4)
    assert (media.video_codec, media.audio_codec) == ("h264", "aac")
    mp4.unlink()
    assert "succeeded" in httpx.get(fleet.link(jobs[0], "log"), timeout=30).text

    # A failed job's record is in the bucket too: its executed notebook and its log.
    failed = fleet.wait(fleet.submit({"duration": -1.0}), {"succeeded", "failed"})
    assert failed["state"] == "failed" and "ValueError" in failed["error"], failed
    link = fleet.link(failed["id"], "notebook")
    notebook = nbformat.reads(httpx.get(link, timeout=30).text, as_version=4)
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors and errors[0].ename == "ValueError" and errors[0].evalue in failed["error"]
    assert "failed" in httpx.get(fleet.link(failed["id"], "log"), timeout=30).text

    # The template changes in the bucket: the next job runs the new version.
    second = chime("#e4572e")
    fleet.fs.pipe(f"{fleet.bucket}/templates/chime.ipynb", second.encode())
    changed = fleet.wait(fleet.submit({"duration": 0.5}), {"succeeded", "failed"})
    assert changed["state"] == "succeeded", changed
    assert changed["manifest"]["template_sha256"] == sha256(second)
    assert changed["manifest"]["parameters"]["color"] == "#e4572e"
    renderer = fleet.holder(changed)
    assert fleet.fetches(template_url)[renderer] == fetched.get(renderer, 0) + 1

    # A worker SIGKILLed mid-render: the other one renders the job, nothing is lost.
    long_job = fleet.submit({"duration": 30.0})
    running = wait_for(
        lambda: (j := fleet.job(long_job))["stage"] == "encode" and fleet.holder(j) and j,
        DEADLINE,
        "the long job to be encoding",
        every=0.1,
    )
    victim = fleet.holder(running)
    other = {"worker-a", "worker-b"} - {victim}
    fleet.kill(victim)
    saved = fleet.wait(long_job, {"succeeded", "failed"})
    assert saved["state"] == "succeeded", saved
    assert saved["attempt"] >= 2
    assert {fleet.holder(saved)} == other
    assert probe_duration(fleet, long_job) == pytest.approx(30.0, abs=0.2)

    # A supervisor replaces the killed worker; it clears what the dead one left half-done.
    fleet.start(victim)
    leftovers = [
        path
        for path in fleet.root.rglob("*")
        if path.is_file()
        and (path.suffix in RENDER_SUFFIXES or ".partial" in path.name or ".tone" in path.name)
        and "cache" not in path.relative_to(fleet.root).parts
        and path.name != "neuroshorts.log"
    ]
    assert leftovers == []
    videos = [p for p in fleet.root.rglob("*") if p.is_file() and ".mp4" in p.name]
    assert videos == [], "no video outside the bucket"


def probe_duration(fleet: Fleet, job_id: str) -> float:
    with fleet.fs.open(f"{fleet.bucket}/renders/{job_id}/{job_id}.mp4", "rb") as remote:
        local = fleet.root / f"{job_id}.mp4"
        local.write_bytes(remote.read())
    try:
        return probe(local).duration
    finally:
        local.unlink()


# -- the pieces, without processes --------------------------------------------------------


def test_a_bucket_output_dir_is_a_bucket_and_each_job_gets_a_folder(tmp_path):
    settings = Settings(data_dir=tmp_path, output_dir="s3://shorts/renders")
    assert settings.output_url == "s3://shorts/renders/"
    assert not (tmp_path / "s3:").exists()
    root, prefixes = settings.output_root, settings.output_prefixes
    assert outputs.resolve(root, "j1", None) == "s3://shorts/renders/j1/j1.mp4"
    assert outputs.resolve(root, "j1", "clips/a.mp4", prefixes=prefixes) == (
        "s3://shorts/renders/clips/a.mp4"
    )
    with pytest.raises(ApiError, match="empty, `.` or `..` part"):
        outputs.resolve(root, "j1", "../a.mp4", prefixes=prefixes)
    with pytest.raises(ApiError, match="allowed prefix: s3://shorts/renders/"):
        outputs.resolve(root, "j1", "s3://elsewhere/a.mp4", prefixes=prefixes)


@pytest.mark.parametrize("url", ["http://host/renders/", "ftp://x/y", "s3:///renders"])
def test_an_output_dir_url_that_is_no_bucket_is_refused_by_name(tmp_path, url):
    with pytest.raises(ValidationError, match=f"NEUROSHORTS_OUTPUT_DIR: '{url}'"):
        Settings(data_dir=tmp_path, output_dir=url)


def test_the_template_path_may_hold_bucket_prefixes(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROSHORTS_TEMPLATES", f"{tmp_path}:s3://b/templates:gs://c/t/")
    assert templates.search_path()[:3] == [tmp_path.resolve(), "s3://b/templates/", "gs://c/t/"]
    assert tmp_path.resolve() in templates.template_dirs()


def test_a_bucket_template_is_fetched_again_only_once_it_changed(
    s3_endpoint, monkeypatch, tmp_path, caplog
):
    use_s3(monkeypatch, s3_endpoint)
    monkeypatch.setenv("NEUROSHORTS_DATA_DIR", str(tmp_path))
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    bucket = f"templates-{uuid.uuid4().hex[:12]}"
    fs.mkdir(bucket)
    monkeypatch.setenv("NEUROSHORTS_TEMPLATES", f"s3://{bucket}/t/")
    first, second = chime("#000000"), chime("#ffffff")
    fs.pipe(f"{bucket}/t/chime.ipynb", first.encode())
    caplog.set_level(logging.INFO, "neuroshorts.media.assets")

    found = templates.find_by_name("chime")
    assert found.read_text() == first
    assert templates.find_by_name("chime") == found
    assert templates.parameters("chime")["color"].default == "#000000"
    fs.pipe(f"{bucket}/t/chime.ipynb", second.encode())
    assert templates.find_by_name("chime").read_text() == second
    fetched = [r for r in caplog.records if r.getMessage().startswith("asset cache miss")]
    assert len(fetched) == 2
    assert "chime" in [t.name for t in templates.list_templates()]

    fs.pipe(f"{bucket}/t/broken.ipynb", b"{not json")
    with pytest.raises(templates.TemplateError, match="template: 's3://.*/broken.ipynb' is not"):
        templates.find_by_name("broken")
    with pytest.raises(templates.TemplateError, match="template 'absent' not found"):
        templates.find_by_name("absent")
