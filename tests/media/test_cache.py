"""The shared cache (assets, narration, music beds): one budget, least recently used first,
measured as `du` measures it, and nothing in use lost when processes prune at once.

Every process here is a real one: renders through `neuroshorts batch` (papermill
kernels), assets from an HTTP server on loopback, pruners as the user runs them.
"""

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from neuroshorts.media.cache import Cache
from support.loopback import LoopbackServer, Reply

pytestmark = pytest.mark.render

NEUROSHORTS = str(Path(sys.executable).parent / "neuroshorts")


def jpeg(color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    noise = Image.effect_noise((270, 480), 60).convert("RGB")
    Image.blend(noise, Image.new("RGB", (270, 480), color), 0.5).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def server():
    with LoopbackServer() as running:
        for index in range(6):
            running.routes[f"/photos/{index}.jpg"] = Reply(jpeg((40 * index, 90, 160)))
        yield running


@pytest.fixture
def env(tmp_path):
    return {
        **os.environ,
        "NEUROSHORTS_DATA_DIR": str(tmp_path / "data"),
        "NEUROSHORTS_ALLOWED_HOSTS": "127.0.0.1",
    }


def du(folder: Path) -> int:
    return int(subprocess.run(["du", "-sB1", str(folder)], capture_output=True, text=True,
                              check=True).stdout.split()[0])  # fmt: skip


def cache_info(env) -> dict[str, tuple[int, int]]:
    """`neuroshorts cache info` as {kind: (entries, bytes)}, with `total`."""
    result = subprocess.run(
        [NEUROSHORTS, "cache", "info"], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    rows = re.findall(r"^(\w+)\s+(\d+) entries\s+(\d+) bytes", result.stdout, re.MULTILINE)
    return {kind: (int(count), int(size)) for kind, count, size in rows}


@pytest.mark.slow
def test_renders_keep_the_cache_under_budget_and_info_matches_du(server, env, tmp_path):
    budget = 420_000
    rows = tmp_path / "rows.csv"
    rows.write_text(
        "script,background\n"
        + "".join(
            f"Row {n} has words of its own to say.,{server.url(f'/photos/{n}.jpg')}\n"
            for n in range(4)
        )
    )
    result = subprocess.run(
        [NEUROSHORTS, "batch", "explainer", str(rows), "-o", str(tmp_path / "out/{row}.mp4"),
         "-p", "quality", "draft", "-p", "music", "none", "-j", "2"],
        capture_output=True, text=True, timeout=600,
        env={**env, "NEUROSHORTS_CACHE_MAX_BYTES": str(budget)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    cache = Path(env["NEUROSHORTS_DATA_DIR"]) / "cache"
    assert du(cache) <= budget
    assert len(list((cache / "narration").iterdir())) < 4, "four narrations did not all fit"
    assert server.gets("/photos/3.jpg") == 1
    photos = {path.name for path in (cache / "assets").glob("*/*.jpg")}
    # `-j 2` renders rows 0 and 1 together, so either one's photo may be the least recently
    # used.
    assert "3.jpg" in photos and not {"0.jpg", "1.jpg"} <= photos, "the least recent went first"

    info = cache_info(env)
    assert info["total"][1] == du(cache)
    for kind in ("assets", "narration", "music"):
        assert info[kind][1] == du(cache / kind)
    assert info["narration"][0] == len(list((cache / "narration").iterdir())) >= 1


HOLDER = """
import sys
from neuroshorts.media.assets import resolve
for url in sys.argv[1:]:
    print(resolve(url), flush=True)
sys.stdin.readline()
"""


def test_two_processes_pruning_at_once_lose_nothing_in_use(server, env):
    urls = [server.url(f"/photos/{n}.jpg") for n in range(5)]
    fetch = "import sys; from neuroshorts.media.assets import resolve\n"
    fetch += "[resolve(u) for u in sys.argv[1:]]"
    subprocess.run([sys.executable, "-c", fetch, *urls[2:]], env=env, check=True, timeout=120)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, *urls[:2]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    held = [Path(holder.stdout.readline().strip()) for _ in urls[:2]]
    contents = [path.read_bytes() for path in held]
    assets = Path(env["NEUROSHORTS_DATA_DIR"]) / "cache" / "assets"
    assert len(list(assets.iterdir())) == 5

    pruners = [
        subprocess.Popen([NEUROSHORTS, "cache", *action], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for action in (("prune", "--max-bytes", "1"), ("prune", "--max-bytes", "1"), ("clear",))
    ]  # fmt: skip
    outcomes = [pruner.communicate(timeout=120) for pruner in pruners]
    assert [pruner.returncode for pruner in pruners] == [0, 0, 0], outcomes

    assert [path.read_bytes() for path in held] == contents, "what the holder uses stays whole"
    assert sorted(assets.iterdir()) == sorted(path.parent for path in held), (
        "everything not in use went"
    )
    assert "kept 2 entries in use" in outcomes[2][0]
    holder.communicate("done\n", timeout=60)

    subprocess.run([NEUROSHORTS, "cache", "clear"], env=env, check=True, capture_output=True)
    assert list(assets.iterdir()) == [], "once its process has ended, an entry can go"


def test_a_dead_processes_leftovers_are_swept_and_a_second_copy_of_an_entry_yields(tmp_path):
    cache = Cache(tmp_path, max_bytes=10**9)
    dead = tmp_path / ".partial" / "left-by-a-dead-process"
    dead.mkdir()
    (dead / "half.jpg").write_bytes(b"half")
    os.utime(dead, (0, 0))  # untouched since 1970: its process is long gone
    live = tmp_path / ".partial" / "being-built-now"
    live.mkdir()
    with cache.building() as first:
        (first / "photo.jpg").write_bytes(b"first")
        kept = cache.commit("assets", "ab12", first)
    with cache.building() as second:  # another process fetched the same asset meanwhile
        (second / "photo.jpg").write_bytes(b"second")
        assert cache.commit("assets", "ab12", second) == kept
    assert (kept / "photo.jpg").read_bytes() == b"first", "the copy in place stays"
    cache.evict()
    assert not dead.exists() and live.exists()
