"""The studio driven in plain pytest: the player's traits and messages are what a page gets.

The page's part (reporting its playhead) is played by calling the widget's message
handler, exactly as the comm would; the frames come back through `send`, captured here.
"""

import base64
import re
import subprocess
import sys
import threading
import time
import types

import numpy as np
import pytest
from PIL import Image

from neuroshorts import studio, templates
from neuroshorts.scene import Canvas, Layer, Short, Span
from neuroshorts.studio.player import esm
from support.media import decoded_jpeg, tone_short

pytestmark = pytest.mark.usefixtures("no_players_left")

SMALL = Canvas(360, 640)


@pytest.fixture
def short(tmp_path):
    """Two seconds of tone, a gradient, a title for the first second, one word per page."""
    return tone_short(tmp_path, "gradient:#0f2027,#2c5364")


def expected(short: Short, t: float, canvas: Canvas = SMALL) -> np.ndarray:
    """`Short.frame(t)` scaled to the preview's size: what the player must show."""
    return short.frame(t, (canvas.width, canvas.height)).astype(int)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    error = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return float("inf") if error == 0 else 10 * np.log10(255**2 / error)


class Page:
    """Plays the browser: reports a playhead, collects the frames the kernel sends."""

    def __init__(self, player):
        self.player = player
        self.frames: dict[int, bytes] = {}
        self.seq = 0
        self.arrived = threading.Condition()
        player.send = self.receive

    def receive(self, message, buffers=None):
        with self.arrived:
            assert message["version"] == self.player.version
            self.frames[message["index"]] = buffers[0]
            self.seq = max(self.seq, message["seq"])
            self.arrived.notify_all()

    def report(self, index, playing=False):
        self.player._on_message(
            self.player,
            {
                "type": "clock",
                "client": "test",
                "version": self.player.version,
                "index": index,
                "playing": playing,
                "rate": 1.0,
                "seq": self.seq,
                "have": list(self.frames),
            },
            [],
        )

    def frame(self, index, timeout=20):
        self.report(index)
        with self.arrived:
            assert self.arrived.wait_for(lambda: index in self.frames, timeout), self.frames
            return self.frames[index]


def test_a_reported_playhead_gets_the_shorts_own_frames(short):
    player = studio.preview(short, size="360x640", interactive=True, key="a")
    page = Page(player)
    for t in (0.2, 0.7, 1.7):
        pixels = decoded_jpeg(page.frame(round(t * 30)))
        assert pixels.shape == (640, 360, 3)
        assert np.abs(pixels - expected(short, t)).mean() < 2.0, f"t={t}"
    # the frame at 1.7 s differs from the one at 0.2 s by far more than JPEG loss
    assert np.abs(decoded_jpeg(page.frames[51]) - expected(short, 0.2)).mean() > 2.0
    assert len(page.frames) > 3, "the neighbours of a paused playhead come too"


def test_the_preview_is_the_final_frame_scaled_down_not_laid_out_again(short):
    """What the designer sees is what the video will show: text edges and crops round as
    in the final frame (a half-size layout of this short differs by far more)."""
    player = studio.preview(short, interactive=True, key="a")
    page = Page(player)
    for t in (0.5, 1.5):
        final = Image.fromarray(short.frame(t)).resize((540, 960), Image.Resampling.BOX)
        shown = decoded_jpeg(page.frame(round(t * 30)))
        assert psnr(shown, np.asarray(final)) >= 38, t
        laid_out = short.resized(Canvas(540, 960)).frame(t)
        assert psnr(laid_out, np.asarray(final)) < psnr(shown, np.asarray(final)) - 3, t


def test_the_player_describes_its_short_to_the_page(short):
    player = studio.preview(short, interactive=True, key="a")
    assert (player.frame_width, player.frame_height) == (540, 960)
    assert (player.fps, player.frame_count) == (30, 75)
    assert player.duration == pytest.approx(2.5)
    assert player.audio[:4] == b"RIFF" and player.audio_type == "audio/wav"
    kinds = [layer["kind"] for layer in player.timeline["layers"]]
    assert kinds == ["GradientBackground", "TitleCard", "CaptionLayer"]
    pages = [page["text"] for page in player.timeline["captions"]]
    assert pages == ["uno", "dos", "tres", "cuatro"]
    assert set(player.guides) >= {"tiktok", "shorts", "reels", "9:16", "1:1", "16:9"}
    assert player.guides["tiktok"] == [0.08, 0.24, 0.06, 0.14]


def test_running_the_cell_again_updates_the_same_player_and_keeps_the_place(short, tmp_path):
    player = studio.preview(short, interactive=True, key="cell-1")
    player.position, player.loop_in, player.loop_out, player.looping = 1.5, 0.5, 2.0, True
    version = player.version
    longer = Short(short.canvas, short.audio, short.layers, duration=4.0)
    again = studio.preview(longer, interactive=True, key="cell-1")
    assert again is player
    assert player.version == version + 1
    assert player.frame_count == 120
    assert (player.position, player.loop_in, player.loop_out, player.looping) == (
        1.5,
        0.5,
        2.0,
        True,
    )
    assert studio.preview(short, interactive=True, key="cell-2") is not player
    studio.preview(short, t=0.5, interactive=True, key="cell-1")
    assert player.position == 0.5 and player.duration == pytest.approx(2.5)


def test_a_shorter_short_pulls_the_playhead_and_loop_inside_it(short):
    longer = Short(short.canvas, short.audio, short.layers, duration=6.0)
    player = studio.preview(longer, t=5.0, interactive=True, key="a")
    player.loop_out = 5.5
    player.set_short(short)
    assert player.position == pytest.approx(74 / 30)
    assert player.loop_out == pytest.approx(2.5)


def test_the_cell_id_from_jupyterlab_keys_the_player(short, monkeypatch):
    kernel = types.SimpleNamespace(
        _allow_stdin=True, get_parent=lambda channel: {"metadata": {"cellId": "abc-123"}}
    )
    monkeypatch.setattr("IPython.get_ipython", lambda: types.SimpleNamespace(kernel=kernel))
    monkeypatch.setenv("JPY_SESSION_NAME", "/lab/explainer.ipynb")
    monkeypatch.delenv(studio.HEADLESS_ENV, raising=False)
    first = studio.preview(short)
    assert studio.preview(short) is first
    assert first.place_key == "neuroshorts:/lab/explainer.ipynb:abc-123"
    assert first.restore, "a new player may take the place its page kept"


def test_loop_marks_reach_the_frame_feed(short):
    player = studio.preview(short, interactive=True, key="a")
    player.loop_in, player.loop_out = 0.5, 1.0
    assert player.feed._loop is None, "marks alone do not loop"
    player.looping = True
    assert player.feed._loop == (15, 30)
    player.loop_in = None
    assert player.feed._loop == (0, 30)


def test_the_size_can_change_from_the_page(short):
    player = studio.preview(short, interactive=True, key="a")
    version = player.version
    player.size = "360x640"
    assert (player.frame_width, player.frame_height, player.version) == (360, 640, version + 1)
    with pytest.raises(ValueError, match=r"size: '1080x1920' is not one of 540x960, 360x640"):
        studio.preview(short, size="1080x1920", interactive=True, key="b")


def test_square_and_landscape_shorts_keep_their_shape(short):
    square = Short(Canvas(1080, 1080), short.audio, short.layers, duration=2.0)
    player = studio.preview(square, interactive=True, key="a")
    assert (player.frame_width, player.frame_height) == (540, 540)
    landscape = Short(Canvas(1920, 1080), short.audio, short.layers, duration=2.0)
    player.set_short(landscape)
    assert (player.frame_width, player.frame_height) == (960, 540)


def test_a_frame_that_fails_is_reported_and_not_asked_for_again(short):
    class Broken(Layer):
        span = Span(1.0, 2.0)

        def patch(self, t, canvas):
            raise ValueError("bad artwork")

    short.layers.append(Broken())
    player = studio.preview(short, interactive=True, key="a")
    page = Page(player)
    page.frame(10)
    page.report(45)
    deadline = time.monotonic() + 10
    while "bad artwork" not in player.error and time.monotonic() < deadline:
        time.sleep(0.02)
    assert re.search(r"frame \d+ \(1\.\d\d s\) failed: bad artwork", player.error)
    assert 45 in player.feed._failed and 45 not in page.frames


def test_malformed_messages_from_the_page_are_logged_not_raised(short, caplog):
    player = studio.preview(short, interactive=True, key="a")
    player._on_message(player, {"type": "clock", "version": 1, "index": "x"}, [])
    player._on_message(player, {"type": "nonsense"}, [])
    assert "'index' is 'x', expected a number" in caplog.text
    assert "unknown message" in caplog.text


def test_the_widget_module_inlines_its_sibling_modules():
    source = esm("player.js")
    assert not re.search(r"""from\s+["']\./""", source)
    inlined = re.findall(r"data:text/javascript;base64,([A-Za-z0-9+/=]+)", source)
    modules = [base64.b64decode(m).decode() for m in inlined]
    assert any("export class Clock" in m for m in modules)
    assert any("export class Timeline" in m for m in modules)
    assert "export default { render }" in source


def fail(*_args, **_kwargs):
    raise AssertionError("headless mode must not draw, render or read templates")


def test_headless_returns_none_without_rendering(short, monkeypatch):
    monkeypatch.setattr(Short, "frame", fail)
    monkeypatch.setattr(templates, "find", fail)
    assert studio.preview(short) is None  # no kernel here: plain pytest
    assert studio.studio("explainer") is None
    assert studio.preview(short, interactive=False) is None


def test_headless_imports_no_widget_library():
    code = (
        "import sys\n"
        "from neuroshorts import studio\n"
        "from neuroshorts.scene import Canvas, Short\n"
        "assert studio.preview(Short(Canvas(), duration=1.0)) is None\n"
        "assert studio.studio('explainer') is None\n"
        "loaded = {'anywidget', 'ipywidgets', 'comm'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize(("allow_stdin", "env", "interactive"), [
    (True, "", True),  # JupyterLab, Notebook, VS Code
    (False, "", False),  # papermill, nbclient, nbval
    (True, "1", False),  # forced headless
])  # fmt: skip
def test_a_frontend_is_told_from_a_headless_run(monkeypatch, allow_stdin, env, interactive):
    shell = types.SimpleNamespace(kernel=types.SimpleNamespace(_allow_stdin=allow_stdin))
    monkeypatch.setattr("IPython.get_ipython", lambda: shell)
    monkeypatch.setenv(studio.HEADLESS_ENV, env)
    assert studio.is_interactive() is interactive
