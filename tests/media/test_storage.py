"""Publishing: renders to local paths, to S3 (moto's real HTTP server) and to GCS
(gcp-storage-emulator, through gcsfs as users run it), with share links.

The end-to-end test is the acceptance for both stores: a template whose background and
music come from a bucket renders to a bucket, the share link downloads an H.264/AAC MP4
with a plain HTTP GET, and a second render fetches nothing (the media are deleted from
the bucket before it, so any download would fail it). gcsfs is configured by Google's
standard variables only (the `gs` fixture in conftest.py): `STORAGE_EMULATOR_HOST` and
`GOOGLE_APPLICATION_CREDENTIALS`, a service-account key.
"""

import json
import logging
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import fsspec
import httpx
import pytest
from PIL import Image

from neuroshorts import templates
from neuroshorts.errors import AssetError, PublishError
from neuroshorts.media import storage
from neuroshorts.media.assets import resolve
from neuroshorts.settings import data_dir
from support.loopback import use_s3
from support.media import probe, write_tone

NEUROSHORTS = str(Path(sys.executable).parent / "neuroshorts")
SIDECARS = (".srt", ".vtt", ".ass", ".jpg", ".ipynb")


@pytest.fixture
def s3(s3_endpoint, monkeypatch):
    """An S3 filesystem on the moto server, with AWS_* pointing every client at it."""
    use_s3(monkeypatch, s3_endpoint)
    monkeypatch.delenv("NEUROSHORTS_SHARE_EXPIRY", raising=False)
    return fsspec.filesystem("s3", skip_instance_cache=True)


def new_bucket(fs) -> str:
    name = f"shorts-{uuid.uuid4().hex[:12]}"
    fs.mkdir(name)
    return name


def fake_render(folder: Path, stem: str = "clip") -> Path:
    """A video with every sidecar and a manifest naming them, as `render` leaves them."""
    folder.mkdir(parents=True, exist_ok=True)
    video = folder / f"{stem}.mp4"
    video.write_bytes(b"\0\0\0\x18ftypmp42" + bytes(range(256)) * 40)
    for suffix in SIDECARS:
        video.with_suffix(suffix).write_text(f"the {suffix} sidecar\n")
    manifest = {
        "video": str(video),
        "srt": str(video.with_suffix(".srt")),
        "thumbnail": str(video.with_suffix(".jpg")),
        "notebook": str(video.with_suffix(".ipynb")),
        "duration": 1.0,
    }
    video.with_suffix(".json").write_text(json.dumps(manifest))
    return video


@pytest.fixture
def run_log(caplog):
    """Records of templates.run, whatever handlers an earlier test left on `neuroshorts`."""
    logger = logging.getLogger("neuroshorts.templates")
    logger.addHandler(caplog.handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield caplog
    logger.setLevel(previous)
    logger.removeHandler(caplog.handler)


@pytest.mark.render
@pytest.mark.parametrize("scheme", ["s3", "gs"])
def test_a_template_with_bucket_media_renders_to_a_bucket_and_shares_a_link(
    scheme, request, tmp_path, run_log
):
    store = request.getfixturevalue(scheme)
    media, out = new_bucket(store), new_bucket(store)
    Image.new("RGB", (540, 960), (20, 120, 200)).save(tmp_path / "sky.jpg")
    write_tone(tmp_path / "bed.wav", 3.0)
    store.put_file(str(tmp_path / "sky.jpg"), f"{media}/images/sky.jpg")
    store.put_file(str(tmp_path / "bed.wav"), f"{media}/music/bed.wav")
    values = {
        "script": "Waves at dawn.",
        "quality": "draft",
        "background": f"{scheme}://{media}/images/sky.jpg",
        "music": f"{scheme}://{media}/music/bed.wav",
    }
    url = f"{scheme}://{out}/shorts/dawn.mp4"
    before = datetime.now(UTC).replace(microsecond=0)

    manifest = templates.run("explainer", values, url)

    assert manifest.video == manifest.video_url == url
    assert "assets.fetch" in manifest.stages, "the first render downloads its media"
    assert "remote assets: fetched in" in run_log.text
    week = timedelta(seconds=storage.MAX_EXPIRY)
    assert before + week <= manifest.expires_at <= datetime.now(UTC) + week
    stems = sorted(Path(key).name for key in store.find(f"{out}/shorts"))
    assert stems == sorted(f"dawn{s}" for s in (".mp4", ".json", *SIDECARS))
    published = json.loads(store.cat(f"{out}/shorts/dawn.json"))
    assert published["share_url"] == manifest.share_url
    assert published["srt"] == manifest.srt == f"{scheme}://{out}/shorts/dawn.srt"
    assert published["notebook"] == f"{scheme}://{out}/shorts/dawn.ipynb"
    assert published["parameters"]["output"] == url

    response = httpx.get(manifest.share_url)
    assert response.status_code == 200 and response.headers["content-type"] == "video/mp4"
    (tmp_path / "shared.mp4").write_bytes(response.content)
    shared = probe(tmp_path / "shared.mp4")
    assert (shared.video_codec, shared.audio_codec) == ("h264", "aac")
    assert (shared.width, shared.height) == (540, 960)
    assert not any((data_dir() / "work").iterdir()), "the work directory is cleaned"

    store.rm(media, recursive=True)
    run_log.clear()
    again = templates.run("explainer", values, f"{scheme}://{out}/shorts/again.mp4")
    assert "assets.fetch" not in again.stages and "assets.cache" in again.stages
    assert "remote assets: all cached" in run_log.text
    store.invalidate_cache()
    assert store.exists(f"{out}/shorts/again.mp4")


def test_a_local_render_records_its_file_url(tmp_path):
    video = fake_render(tmp_path / "out")
    published = storage.publish(video, str(video))
    assert published == storage.Published(video.as_uri(), None, None)
    manifest = json.loads(video.with_suffix(".json").read_text())
    assert manifest["video_url"] == video.as_uri() and manifest["share_url"] is None
    assert manifest["video"] == str(video), "in place, paths stay as they were"


def test_publishing_to_another_local_path_copies_everything(tmp_path):
    video = fake_render(tmp_path / "work")
    target = tmp_path / "videos" / "final.mp4"
    published = storage.publish(video, target.as_uri())
    assert published.video_url == target.as_uri()
    assert target.read_bytes() == video.read_bytes()
    for suffix in SIDECARS:
        assert target.with_suffix(suffix).read_text() == f"the {suffix} sidecar\n"
    manifest = json.loads(target.with_suffix(".json").read_text())
    assert manifest["video"] == str(target) and manifest["srt"] == str(target.with_suffix(".srt"))


def test_publishing_to_s3_uploads_the_set_with_a_working_link(s3, tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROSHORTS_SHARE_EXPIRY", "3600")
    bucket = new_bucket(s3)
    video = fake_render(tmp_path / "work")
    published = storage.publish(video, f"s3://{bucket}/a/b/final.mp4")

    assert published.video_url == f"s3://{bucket}/a/b/final.mp4"
    assert "X-Amz-Expires=3600" in published.share_url
    assert httpx.get(published.share_url).content == video.read_bytes()
    manifest = json.loads(s3.cat(f"{bucket}/a/b/final.json"))
    assert manifest["thumbnail"] == f"s3://{bucket}/a/b/final.jpg"
    assert manifest["expires_at"] == published.expires_at.isoformat()
    assert s3.cat(f"{bucket}/a/b/final.vtt") == b"the .vtt sidecar\n"


def test_a_failed_upload_leaves_nothing_at_the_destination(s3, tmp_path):
    """The notebook sidecar is unreadable (reading /proc/self/mem at 0 is an I/O error),
    so it fails after the captions are already uploaded: those must be removed."""
    bucket = new_bucket(s3)
    video = fake_render(tmp_path / "work")
    notebook = video.with_suffix(".ipynb")
    notebook.unlink()
    notebook.symlink_to("/proc/self/mem")
    with pytest.raises(PublishError, match=r"output: could not upload clip.ipynb to s3"):
        storage.publish(video, f"s3://{bucket}/x/clip.mp4")
    s3.invalidate_cache()
    assert s3.find(bucket) == []

    with pytest.raises(PublishError, match="could not upload .*bucket does not exist"):
        storage.publish(video, f"s3://no-such-{bucket}/x/clip.mp4")


def test_share_link_lifetime_is_configurable(s3, tmp_path, monkeypatch):
    bucket = new_bucket(s3)
    video = fake_render(tmp_path / "work")
    monkeypatch.setenv("NEUROSHORTS_SHARE_EXPIRY", "0")
    published = storage.publish(video, f"s3://{bucket}/quiet.mp4")
    assert (published.share_url, published.expires_at) == (None, None)
    assert s3.exists(f"{bucket}/quiet.mp4")
    for bad in ("ten", "604801"):
        monkeypatch.setenv("NEUROSHORTS_SHARE_EXPIRY", bad)
        with pytest.raises(PublishError, match=f"NEUROSHORTS_SHARE_EXPIRY: '{bad}' is"):
            storage.publish(video, f"s3://{bucket}/other.mp4")
    s3.invalidate_cache()
    assert not s3.exists(f"{bucket}/other.mp4")


def test_the_cli_passes_an_output_url_through_intact():
    """argparse's Path would turn s3://b/x into s3:/b/x; the error shows the URL as typed."""
    result = subprocess.run(
        [NEUROSHORTS, "render", "explainer", "-o", "s3://bucket/clip.mov"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "output" in result.stderr and "'s3://bucket/clip.mov'" in result.stderr


def test_publishing_to_gcs_puts_the_manifest_last_with_a_v4_link(gs, tmp_path):
    bucket = new_bucket(gs)
    video = fake_render(tmp_path / "work")
    published = storage.publish(video, f"gs://{bucket}/a/clip.mp4")

    gs.invalidate_cache()
    objects = {Path(key).name: gs.info(key) for key in gs.find(f"{bucket}/a")}
    assert sorted(objects) == sorted(f"clip{s}" for s in (".mp4", ".json", *SIDECARS))
    created = {name: int(info["generation"]) for name, info in objects.items()}  # time_ns
    assert max(created, key=created.get) == "clip.json", "the manifest is published last"
    assert all(created["clip.mp4"] > created[f"clip{s}"] for s in SIDECARS), "then the video"
    assert objects["clip.mp4"]["contentType"] == "video/mp4"

    query = parse_qs(urlsplit(published.share_url).query)
    assert query["X-Goog-Algorithm"] == ["GOOG4-RSA-SHA256"]
    assert query["X-Goog-Expires"] == [str(storage.MAX_EXPIRY)]
    assert query["X-Goog-Credential"][0].startswith("renders@neuroshorts-test")
    assert httpx.get(published.share_url).content == video.read_bytes()
    manifest = json.loads(gs.cat(f"{bucket}/a/clip.json"))
    assert manifest["share_url"] == published.share_url


def test_missing_gcs_objects_and_buckets_are_named(gs, tmp_path):
    bucket = new_bucket(gs)
    with pytest.raises(AssetError, match=f"music: 'gs://{bucket}/gone.wav' was not found"):
        resolve(f"gs://{bucket}/gone.wav", field="music")
    video = fake_render(tmp_path / "work")
    with pytest.raises(PublishError, match="could not upload clip.srt to gs://no-such-"):
        storage.publish(video, f"gs://no-such-{bucket}/x/clip.mp4")


WITHOUT_GCSFS = """
import sys
sys.modules["gcsfs"] = None  # as if the [gcs] extra were not installed
from pathlib import Path
from neuroshorts.errors import AssetError, PublishError
from neuroshorts.media import storage
from neuroshorts.media.assets import resolve
try:
    resolve("gs://bucket/photo.jpg", field="background")
except AssetError as error:
    print(error)
try:
    storage.publish(Path(sys.argv[1]), "gs://bucket/clip.mp4")
except PublishError as error:
    print(error)
"""


def test_gs_needs_the_optional_extra(tmp_path):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\0" * 64)
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_GCSFS, str(video)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = result.stdout.splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("background: 'gs://bucket/photo.jpg' cannot be fetched")
    assert all("pip install 'neuroshorts[gcs]'" in line for line in lines)
