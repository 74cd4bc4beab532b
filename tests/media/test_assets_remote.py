"""Assets from URLs: allow-list, size and content checks, the shared cache, stock search.

Everything runs against real servers on loopback: an HTTP server that records each
request, moto's S3 server, and papermill renders for the errors a template run shows.
"""

import io
import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import fsspec
import numpy as np
import pytest
from PIL import Image

from neuroshorts import templates, visuals
from neuroshorts.errors import AssetError, AssetNotFoundError, Refused, TemplateRunError
from neuroshorts.media.assets import resolve
from neuroshorts.media.cache import Cache
from neuroshorts.media.policy import Policy
from neuroshorts.output.timing import Stages
from neuroshorts.scene import Canvas, Span
from support.loopback import LoopbackServer, Reply, use_s3
from support.media import write_circle_video, write_tone

RED = (200, 30, 30)


def image_bytes(fmt="JPEG", size=(90, 160), color=RED):
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


def entries(home: Path) -> list[Path]:
    return sorted((home / "cache" / "assets").glob("*/*"))


def partials(home: Path) -> list[Path]:
    return list((home / "cache" / ".partial").glob("*"))


@pytest.fixture(scope="module")
def server():
    with LoopbackServer() as running:
        yield running


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """A data directory (and so an empty asset cache) per test."""
    folder = tmp_path / "home"
    monkeypatch.setenv("NEUROSHORTS_DATA_DIR", str(folder))
    for name in ("NEUROSHORTS_ALLOWED_HOSTS", "NEUROSHORTS_ALLOWED_SCHEMES"):
        monkeypatch.delenv(name, raising=False)
    return folder


@pytest.fixture
def loopback_allowed(monkeypatch):
    monkeypatch.setenv("NEUROSHORTS_ALLOWED_HOSTS", "127.0.0.1")


def test_a_url_is_downloaded_once_and_then_served_from_the_cache(server, home, loopback_allowed):
    body = image_bytes()
    server.routes["/once/photo.jpg"] = Reply(body)
    url = server.url("/once/photo.jpg")

    stages = Stages()
    with stages("assets"):
        first = resolve(url, field="background")
    fetched = dict(stages.seconds)
    with stages("assets"):
        second = resolve(url, field="background")

    assert {"assets", "assets.fetch"} <= set(fetched), "the download is timed inside its stage"
    assert stages.seconds["assets.fetch"] == fetched["assets.fetch"], "not fetched again"
    assert first == second and first.name == "photo.jpg", "the name and suffix are kept"
    assert first.read_bytes() == body
    assert first.is_relative_to(home / "cache" / "assets")
    assert server.gets("/once/photo.jpg") == 1


@pytest.mark.parametrize(
    ("reference", "refusal"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://[fe80::1]/x.jpg", "fe80::1 is a link-local address"),
        ("http://127.0.0.1:{port}/pic.jpg", "127.0.0.1 is a loopback address"),
        ("http://localhost:{port}/pic.jpg", "localhost resolves to .*, a loopback address"),
        ("http://10.1.2.3/x.jpg", "10.1.2.3 is a private address"),
        ("http://0.0.0.0:{port}/x.jpg", "0.0.0.0 is an? unspecified address"),
    ],
)
def test_internal_addresses_are_refused_by_default(server, home, reference, refusal):
    server.routes["/pic.jpg"] = Reply(image_bytes())
    reference = reference.format(port=server.base.rsplit(":", 1)[1])
    pattern = f"^background: '{re.escape(reference)}' is refused: {refusal}"
    with pytest.raises(AssetError, match=pattern):
        resolve(reference, field="background")
    assert server.gets("/pic.jpg") == 0, "refused before any request"
    assert entries(home) == []


def test_a_redirect_to_a_refused_host_is_not_followed(server, home, loopback_allowed):
    metadata = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
    server.routes["/hop.jpg"] = Reply(status=302, headers={"Location": metadata})
    with pytest.raises(AssetError, match="music: .*/hop.jpg' is refused: 169.254.169.254 is a"):
        resolve(server.url("/hop.jpg"), field="music")


def test_a_redirect_between_allowed_hosts_is_followed(server, monkeypatch):
    monkeypatch.setenv("NEUROSHORTS_ALLOWED_HOSTS", "127.0.0.0/8")
    server.routes["/moved"] = Reply(image_bytes("PNG"))
    server.routes["/old"] = Reply(status=301, headers={"Location": "/moved"})
    path = resolve(server.url("/old"), field="logo")
    assert path.suffix == ".png", "a URL without a suffix gets one from the content"
    assert Image.open(path).size == (90, 160)


def test_host_allow_list_checks_every_resolved_address(monkeypatch):
    monkeypatch.setenv(
        "NEUROSHORTS_ALLOWED_HOSTS", "public, 10.20.0.0/16, media.internal, *.assets.example"
    )
    policy = Policy.from_env()
    policy.check_host("cdn.example.com", ["93.184.216.34", "2606:2800:220:1::1"])
    policy.check_host("minio", ["10.20.3.4"])
    policy.check_host("media.internal", ["192.168.7.7"])
    policy.check_host("eu.assets.example", ["127.0.0.1"])
    for host, addresses, refusal in [
        ("rebound.example.com", ["93.184.216.34", "127.0.0.1"], "127.0.0.1, a loopback"),
        ("other", ["10.21.0.1"], "10.21.0.1, a private address"),
        ("mapped", ["::ffff:169.254.169.254"], "a link-local address"),
        ("shared", ["100.64.0.1"], "a non-public address"),
    ]:
        with pytest.raises(Refused, match=refusal):
            policy.check_host(host, addresses)

    monkeypatch.setenv("NEUROSHORTS_ALLOWED_HOSTS", "cdn.example.com")
    strict = Policy.from_env()
    strict.check_host("cdn.example.com", ["93.184.216.34"])
    with pytest.raises(Refused, match="8.8.8.8 is not listed; expected a host listed"):
        strict.check_host("8.8.8.8", ["8.8.8.8"])

    monkeypatch.setenv("NEUROSHORTS_ALLOWED_HOSTS", "10.0.0.0/33")
    with pytest.raises(ValueError, match="NEUROSHORTS_ALLOWED_HOSTS: '10.0.0.0/33' is not"):
        Policy.from_env()


def test_scheme_allow_list(tmp_path, monkeypatch):
    photo = tmp_path / "photo.png"
    photo.write_bytes(image_bytes("PNG"))
    assert resolve(str(photo), field="logo") == photo
    assert resolve(photo.as_uri(), field="logo") == photo

    monkeypatch.setenv("NEUROSHORTS_ALLOWED_SCHEMES", "https,s3,builtin")
    with pytest.raises(AssetError, match="logo: .* uses the file scheme, which is not allowed"):
        resolve(str(photo), field="logo")
    assert resolve("builtin:aurora", field="background").suffix == ".jpg"
    with pytest.raises(AssetError, match="background: 'ftp://x/y.jpg' uses the ftp scheme.*not"):
        resolve("ftp://x/y.jpg", field="background")


@pytest.mark.parametrize(
    ("name", "body", "problem", "expected"),
    [
        ("empty.png", b"", r"is empty \(0 bytes\)", "an image Pillow can open"),
        ("words.mp3", b"not music at all\n" * 200, "is not a readable audio file", "an audio"),
        ("cut.jpg", image_bytes()[:200], "is not a readable image file", "an image"),
        ("clip.mp4", b"<html>Gateway timeout</html>", "is not a readable video", "a video"),
    ],
)
def test_a_broken_asset_names_the_field_and_leaves_nothing_in_the_cache(
    server, home, loopback_allowed, name, body, problem, expected
):
    server.routes[f"/bad/{name}"] = Reply(body)
    url = server.url(f"/bad/{name}")
    pattern = f"^music: '{re.escape(url)}' {problem}.*; expected {expected}"
    with pytest.raises(AssetError, match=pattern):
        resolve(url, field="music")
    assert entries(home) == [] and partials(home) == []


def test_size_limit_from_the_announced_length_and_while_streaming(
    server, home, loopback_allowed, monkeypatch
):
    monkeypatch.setenv("NEUROSHORTS_MAX_ASSET_BYTES", "10KB")
    big = b"\0" * 50_000
    server.routes["/big/announced.wav"] = Reply(big)
    server.routes["/big/streamed.wav"] = Reply(big, length=False)
    with pytest.raises(AssetError, match="announces 50,000 bytes, over the limit of 10,000"):
        resolve(server.url("/big/announced.wav"), field="music")
    with pytest.raises(AssetError, match="sent more than the limit of 10,000 bytes"):
        resolve(server.url("/big/streamed.wav"), field="music")
    assert entries(home) == [] and partials(home) == []


def test_a_missing_file_is_not_found(server, loopback_allowed):
    with pytest.raises(AssetNotFoundError, match="voice: '.*/nothing.wav' was not found") as info:
        resolve(server.url("/nothing.wav"), field="voice")
    assert isinstance(info.value, FileNotFoundError)


CHILD = """
import sys
from neuroshorts.media.assets import resolve
print("ready", flush=True)
sys.stdin.readline()
print(resolve(sys.argv[1], field="background"), flush=True)
"""


def test_two_processes_asking_at_once_make_one_download(server, home, loopback_allowed):
    """The server holds its answer for a second, so the second process asks while the
    first download is still in flight; it must wait for it, not download again."""
    body = image_bytes(size=(300, 500))
    server.routes["/shared/slow.jpg"] = Reply(body, delay=1.0)
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, server.url("/shared/slow.jpg")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for worker in workers:
        assert worker.stdout.readline().strip() == "ready"
    for worker in workers:
        worker.stdin.write("go\n")
        worker.stdin.flush()
    results = [worker.communicate(timeout=120) for worker in workers]

    assert [worker.returncode for worker in workers] == [0, 0]
    paths = {Path(out.strip()) for out, _ in results}
    assert len(paths) == 1 and paths.pop().read_bytes() == body
    assert server.gets("/shared/slow.jpg") == 1
    assert len(entries(home)) == 1 and partials(home) == []


def resolve_in_child(url: str) -> Path:
    """Resolve `url` in a process of its own, which holds the entry only while it lives."""
    code = "import sys; from neuroshorts.media.assets import resolve; print(resolve(sys.argv[1]))"
    done = subprocess.run(
        [sys.executable, "-c", code, url], capture_output=True, text=True, timeout=120, check=True
    )
    return Path(done.stdout.strip())


def test_least_recently_used_entries_are_evicted_over_the_budget(
    server, home, loopback_allowed, monkeypatch
):
    bodies = {name: bytes([index]) * 40_000 for index, name in enumerate("abcd")}
    for name, body in bodies.items():
        server.routes[f"/lru/{name}.bin"] = Reply(body)
    paths = {name: resolve_in_child(server.url(f"/lru/{name}.bin")) for name in "abc"}
    used = Cache.default().usage()
    entry = next(e.size for e in Cache.default().entries())
    monkeypatch.setenv("NEUROSHORTS_CACHE_MAX_BYTES", str(used - entry // 2))

    # Last used: b long ago, then c, then a (a was downloaded first but used since).
    now = time.time()
    for name, age in (("b", 3), ("c", 2), ("a", 1)):
        os.utime(paths[name].parent, (now - age * 100,) * 2)
    before = paths["a"].parent.stat().st_mtime
    assert resolve_in_child(server.url("/lru/a.bin")) == paths["a"]
    assert paths["a"].parent.stat().st_mtime > before, "a hit marks the entry as just used"
    os.utime(paths["a"].parent, (now - 100,) * 2)

    resolve_in_child(server.url("/lru/d.bin"))

    kept = {path.read_bytes()[:1] for path in entries(home)}
    assert kept == {bodies["a"][:1], bodies["d"][:1]}, "b, then c, went; a and d stay"
    assert Cache.default().usage() <= used - entry // 2


@pytest.fixture
def bucket(s3_endpoint, monkeypatch):
    """A fresh bucket on the moto server, with AWS_* variables pointing at it."""
    use_s3(monkeypatch, s3_endpoint)
    name = f"assets-{uuid.uuid4().hex[:12]}"
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    fs.mkdir(name)
    return fs, name


def test_s3_asset_is_fetched_and_cached(bucket, home):
    fs, name = bucket
    fs.pipe(f"{name}/beds/calm.wav", b"")
    with pytest.raises(AssetError, match=f"music: 's3://{name}/beds/calm.wav' is empty"):
        resolve(f"s3://{name}/beds/calm.wav", field="music")
    tone = write_tone(home.parent / "tone.wav", 0.5)
    fs.put_file(str(tone), f"{name}/beds/calm.wav")

    path = resolve(f"s3://{name}/beds/calm.wav", field="music")
    assert path.read_bytes() == tone.read_bytes() and path.name == "calm.wav"
    fs.rm(f"{name}/beds/calm.wav")
    assert resolve(f"s3://{name}/beds/calm.wav", field="music") == path, "served from cache"
    with pytest.raises(AssetNotFoundError, match="music: 's3://.*/gone.wav' was not found"):
        resolve(f"s3://{name}/beds/gone.wav", field="music")


# --- stock media: a local server speaking the providers' JSON ------------------------


def pexels_photo(photo_id, width, height, original):
    return {
        "id": photo_id,
        "width": width,
        "height": height,
        "url": f"https://www.pexels.com/photo/ocean-{photo_id}/",
        "photographer": "Someone",
        "photographer_url": "https://www.pexels.com/@someone",
        "photographer_id": 1,
        "avg_color": "#374824",
        "src": {
            "original": original,
            "large2x": original + "?auto=compress&cs=tinysrgb&dpr=2&h=650&w=940",
            "large": original + "?auto=compress&cs=tinysrgb&h=650&w=940",
            "medium": original + "?auto=compress&cs=tinysrgb&h=350",
            "small": original + "?auto=compress&cs=tinysrgb&h=130",
            "portrait": original + "?auto=compress&cs=tinysrgb&fit=crop&h=1200&w=800",
            "landscape": original + "?auto=compress&cs=tinysrgb&fit=crop&h=627&w=1200",
            "tiny": original + "?auto=compress&cs=tinysrgb&dpr=1&fit=crop&h=200&w=280",
        },
        "liked": False,
        "alt": "Waves",
    }


@pytest.fixture
def stock_server(server, monkeypatch, tmp_path):
    """Pexels and Pixabay search endpoints, and the media files their answers point at."""
    monkeypatch.setenv("NEUROSHORTS_ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("PEXELS_API_KEY", "pexels-key")
    monkeypatch.setenv("PIXABAY_API_KEY", "pixabay-key")
    monkeypatch.setenv("NEUROSHORTS_PEXELS_URL", server.url("/pexels"))
    monkeypatch.setenv("NEUROSHORTS_PIXABAY_URL", server.url("/pixabay/api"))
    clip = write_circle_video(tmp_path / "clip.mp4", 90, 160, 40, 3).read_bytes()
    media = {
        "/media/landscape.jpeg": image_bytes(size=(160, 90), color=(0, 0, 255)),
        "/media/portrait.jpeg": image_bytes(),
        "/media/pixabay_1280.jpg": image_bytes(color=(30, 200, 30)),
        "/media/tall.mp4": clip,
    }
    for path, body in media.items():
        server.routes[path] = Reply(body)

    def pexels(request):
        if request.headers.get("Authorization") != "pexels-key":
            return Reply(b'{"error": "Unauthorized"}', 401)
        if "orientation=portrait" not in request.query:
            return Reply(b'{"error": "expected a portrait search"}', 400)
        if request.path.endswith("/videos/search"):
            files = [
                {"id": 1, "quality": "hd", "file_type": "video/mp4", "width": 1920,
                 "height": 1080, "fps": 25, "link": server.url("/media/wide.mp4")},
                {"id": 2, "quality": "hd", "file_type": "video/mp4", "width": 1080,
                 "height": 1920, "fps": 25, "link": server.url("/media/tall.mp4")},
                {"id": 3, "quality": "sd", "file_type": "video/mp4", "width": 540,
                 "height": 960, "fps": 25, "link": server.url("/media/small.mp4")},
            ]  # fmt: skip
            answer = {"page": 1, "per_page": 15, "total_results": 1, "url": "x",
                      "videos": [{"id": 9, "width": 1080, "height": 1920, "duration": 8,
                                  "video_files": files, "video_pictures": []}]}  # fmt: skip
        else:
            photos = [
                pexels_photo(1, 6000, 4000, server.url("/media/landscape.jpeg")),
                pexels_photo(2, 3000, 4500, server.url("/media/portrait.jpeg")),
            ]
            answer = {"total_results": 2, "page": 1, "per_page": 15, "photos": photos}
        return Reply(json.dumps(answer).encode(), headers={"Content-Type": "application/json"})

    def pixabay(request):
        if "key=pixabay-key" not in request.query:
            return Reply(b"[ERROR 400] Invalid or missing API key", 400)
        hit = {"id": 195893, "pageURL": "https://pixabay.com/x", "type": "photo",
               "tags": "ocean", "previewURL": "x", "webformatURL": "x",
               "largeImageURL": server.url("/media/pixabay_1280.jpg"),
               "imageWidth": 2250, "imageHeight": 4000, "user": "someone"}  # fmt: skip
        if request.path.endswith("/videos/"):
            hit = {"id": 125, "type": "film", "tags": "ocean", "duration": 12, "videos": {
                "large": {"url": "", "width": 0, "height": 0, "size": 0},
                "medium": {"url": server.url("/media/tall.mp4"), "width": 1080,
                           "height": 1920, "size": len(clip)},
                "small": {"url": server.url("/media/wide.mp4"), "width": 960,
                          "height": 540, "size": 1},
            }}  # fmt: skip
        answer = {"total": 1, "totalHits": 1, "hits": [hit]}
        return Reply(json.dumps(answer).encode(), headers={"Content-Type": "application/json"})

    for path in ("/pexels/v1/search", "/pexels/videos/search"):
        server.routes[path] = pexels
    for path in ("/pixabay/api/", "/pixabay/api/videos/"):
        server.routes[path] = pixabay
    return server


def test_stock_photo_search_feeds_a_background_once(stock_server, home):
    reference = "stock:pexels/ocean waves"
    searches = stock_server.gets("/pexels/v1/search")
    layer = visuals.background(reference, Span(0, 1), zoom=1.0)
    centre = layer.patch(0, Canvas(90, 160)).pixels
    centre = centre if isinstance(centre, np.ndarray) else centre.to_rgb()
    assert np.abs(centre[80, 45].astype(int) - RED).max() < 12, "the portrait photo, not the wide"

    assert resolve(reference, field="background").name == "portrait.jpeg"
    assert stock_server.gets("/pexels/v1/search") == searches + 1, "cached by the reference"
    query = next(r.query for r in stock_server.requests if r.path == "/pexels/v1/search")
    assert "query=ocean+waves" in query


@pytest.mark.parametrize(
    ("reference", "name"),
    [
        ("stock:pexels-video/ocean", "tall.mp4"),
        ("stock:pixabay/ocean", "pixabay_1280.jpg"),
        ("stock:pixabay-video/ocean", "tall.mp4"),
    ],
)
def test_other_stock_providers(stock_server, reference, name):
    assert resolve(reference, field="background").name == name


def test_stock_errors_name_the_field(stock_server, monkeypatch):
    with pytest.raises(AssetError, match="background: 'stock:unsplash/x' is not a stock search"):
        resolve("stock:unsplash/x", field="background")
    monkeypatch.setenv("PEXELS_API_KEY", "wrong")
    with pytest.raises(AssetError, match="pexels refused the API key; expected a valid key"):
        resolve("stock:pexels/sea", field="background")
    monkeypatch.delenv("PEXELS_API_KEY")
    with pytest.raises(AssetError, match="needs an API key in PEXELS_API_KEY"):
        resolve("stock:pexels/sea", field="background")


# --- what a template run shows -------------------------------------------------------


@pytest.mark.render
@pytest.mark.parametrize("case", ["metadata service", "empty image", "text as mp3"])
def test_a_bad_asset_fails_the_render_naming_the_parameter(
    case, server, bucket, tmp_path, monkeypatch
):
    fs, name = bucket
    monkeypatch.setenv("NEUROSHORTS_ALLOWED_HOSTS", "127.0.0.1")
    server.routes["/render/empty.jpg"] = Reply(b"")
    fs.pipe(f"{name}/beds/notes.mp3", b"la la la, not an mp3\n" * 100)
    parameter, value, message = {
        "metadata service": (
            "background",
            "http://169.254.169.254/latest/meta-data/",
            "is refused: 169.254.169.254 is a link-local address",
        ),
        "empty image": ("background", server.url("/render/empty.jpg"), r"is empty \(0 bytes\)"),
        "text as mp3": ("music", f"s3://{name}/beds/notes.mp3", "is not a readable audio file"),
    }[case]
    output = tmp_path / "out" / "short.mp4"
    values = {"script": "Short test.", "quality": "draft", parameter: value}
    pattern = f"{parameter}: '{re.escape(value)}' {message}"
    with pytest.raises(TemplateRunError, match=pattern):
        templates.run("explainer", values, output, progress=False)
    assert not output.exists() and not output.with_suffix(".json").exists()
