"""gs:// assets and outputs against a real GCS server: gcp-storage-emulator on loopback.

gcsfs runs as users run it, configured by Google's standard variables only:
`STORAGE_EMULATOR_HOST` names the server and `GOOGLE_APPLICATION_CREDENTIALS` a
service-account key (a new RSA key; a loopback server stands in for Google's OAuth token
endpoint, which the emulator does not have). The acceptance is the one S3 has: media
fetched once, everything published with the manifest last, and a signed link that
downloads the video.
"""

import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import fsspec
import httpx
import pytest
from loopback import LoopbackServer, Reply, gcs_emulator, service_account, use_gcs
from media import probe, write_tone
from PIL import Image

from neuroshorts import storage, templates
from neuroshorts.assets import AssetError, resolve

SIDECARS = (".srt", ".vtt", ".ass", ".jpg", ".ipynb")
TOKEN = {"access_token": "emulator-token", "expires_in": 3600, "token_type": "Bearer"}


@pytest.fixture(scope="module")
def emulator():
    with gcs_emulator() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def token_server():
    with LoopbackServer() as server:
        server.routes["/token"] = Reply(json.dumps(TOKEN).encode())
        yield server


@pytest.fixture
def gcs(emulator, token_server, tmp_path, monkeypatch):
    """A gcsfs filesystem on the emulator, with Google's variables pointing every client at it."""
    use_gcs(monkeypatch, emulator, service_account(tmp_path, token_server.url("/token")))
    monkeypatch.setenv("NEUROSHORTS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NEUROSHORTS_SHARE_EXPIRY", raising=False)
    return fsspec.filesystem("gs", skip_instance_cache=True)


def new_bucket(fs) -> str:
    name = f"shorts-{uuid.uuid4().hex[:12]}"
    fs.mkdir(name)
    return name


def test_a_template_with_gcs_media_renders_to_gcs_and_shares_a_link(gcs, tmp_path):
    media, out = new_bucket(gcs), new_bucket(gcs)
    Image.new("RGB", (540, 960), (200, 120, 20)).save(tmp_path / "dune.jpg")
    write_tone(tmp_path / "bed.wav", 3.0)
    gcs.put_file(str(tmp_path / "dune.jpg"), f"{media}/images/dune.jpg")
    gcs.put_file(str(tmp_path / "bed.wav"), f"{media}/music/bed.wav")
    values = {
        "script": "Dunes at noon.",
        "quality": "draft",
        "background": f"gs://{media}/images/dune.jpg",
        "music": f"gs://{media}/music/bed.wav",
    }
    url = f"gs://{out}/shorts/noon.mp4"
    before = datetime.now(UTC).replace(microsecond=0)

    manifest = templates.run("explainer", values, url)

    assert manifest.video == manifest.video_url == url
    assert "assets.fetch" in manifest.stages, "the first render downloads its media"
    week = timedelta(seconds=storage.MAX_EXPIRY)
    assert before + week <= manifest.expires_at <= datetime.now(UTC) + week
    gcs.invalidate_cache()
    objects = {Path(key).name: gcs.info(key) for key in gcs.find(f"{out}/shorts")}
    assert sorted(objects) == sorted(f"noon{s}" for s in (".mp4", ".json", *SIDECARS))
    created = {name: int(info["generation"]) for name, info in objects.items()}
    assert max(created, key=created.get) == "noon.json", "the manifest is published last"
    assert all(created["noon.mp4"] > created[f"noon{s}"] for s in SIDECARS), "then the video"
    published = json.loads(gcs.cat(f"{out}/shorts/noon.json"))
    assert published["share_url"] == manifest.share_url
    assert published["srt"] == manifest.srt == f"gs://{out}/shorts/noon.srt"
    assert published["parameters"]["output"] == url

    link = urlsplit(manifest.share_url)
    query = parse_qs(link.query)
    assert query["X-Goog-Algorithm"] == ["GOOG4-RSA-SHA256"]
    assert query["X-Goog-Expires"] == [str(storage.MAX_EXPIRY)]
    assert query["X-Goog-Credential"][0].startswith("renders@neuroshorts-test")
    response = httpx.get(manifest.share_url)
    assert response.status_code == 200 and response.headers["content-type"] == "video/mp4"
    (tmp_path / "shared.mp4").write_bytes(response.content)
    shared = probe(tmp_path / "shared.mp4")
    assert (shared.video_codec, shared.audio_codec) == ("h264", "aac")
    assert (shared.width, shared.height) == (540, 960)

    gcs.rm(media, recursive=True)
    again = templates.run("explainer", values, f"gs://{out}/shorts/again.mp4")
    assert "assets.fetch" not in again.stages and "assets.cache" in again.stages
    gcs.invalidate_cache()
    assert gcs.exists(f"{out}/shorts/again.mp4")


def test_missing_gcs_objects_and_buckets_are_named(gcs, tmp_path):
    bucket = new_bucket(gcs)
    with pytest.raises(AssetError, match=f"music: 'gs://{bucket}/gone.wav' was not found"):
        resolve(f"gs://{bucket}/gone.wav", field="music")
    video = tmp_path / "work" / "clip.mp4"
    video.parent.mkdir()
    video.write_bytes(b"\0\0\0\x18ftypmp42" + bytes(range(256)) * 40)
    video.with_suffix(".srt").write_text("1\n")
    with pytest.raises(storage.PublishError, match="could not upload clip.srt to gs://no-such-"):
        storage.publish(video, f"gs://no-such-{bucket}/x/clip.mp4")


WITHOUT_GCSFS = """
import sys
sys.modules["gcsfs"] = None  # as if the [gcs] extra were not installed
from pathlib import Path
from neuroshorts import storage
from neuroshorts.assets import AssetError, resolve
try:
    resolve("gs://bucket/photo.jpg", field="background")
except AssetError as error:
    print(error)
try:
    storage.publish(Path(sys.argv[1]), "gs://bucket/clip.mp4")
except storage.PublishError as error:
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
