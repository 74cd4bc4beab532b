"""The studio driven in plain pytest: the widgets' values are what a browser would show."""

import io
import time
import types

import numpy as np
import pytest
from media import probe, tone_short
from PIL import Image

from neuroshorts import studio, templates
from neuroshorts.scene import Canvas, Layer, Short, Span

PREVIEW = Canvas(360, 640)


@pytest.fixture
def short(tmp_path):
    """Two seconds of tone, a gradient, a title for the first second, one word per page."""
    return tone_short(tmp_path, "gradient:#0f2027,#2c5364")


def decoded(jpeg: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB")).astype(int)


def expected(short: Short, t: float) -> np.ndarray:
    """`Short.frame(t)` laid out at the preview's size: what the viewer must show."""
    return short.resized(PREVIEW).frame(t).astype(int)


def test_moving_the_slider_shows_the_frame_at_that_t(short):
    ui = studio.preview(short, interactive=True)
    shown = {}
    for t in (0.2, 0.7, 1.7):
        ui.slider.value = t
        shown[t] = ui.image.value
        pixels = decoded(ui.image.value)
        assert pixels.shape == (640, 360, 3)
        assert np.abs(pixels - expected(short, t)).mean() < 2.0, f"t={t}"
    assert len(set(shown.values())) == 3
    # the frame at 1.7 differs from the one at 0.2 by far more than JPEG loss
    assert np.abs(decoded(shown[1.7]) - expected(short, 0.2)).mean() > 2.0


def test_slider_steps_by_frames_and_play_moves_it(short):
    ui = studio.preview(short, interactive=True)
    assert ui.slider.step == pytest.approx(1 / 30)
    assert ui.slider.max == pytest.approx((short.frame_count - 1) / 30)
    assert ui.play.max == short.frame_count - 1
    ui.play.value = 45
    assert ui.slider.value == pytest.approx(1.5)
    assert np.abs(decoded(ui.image.value) - expected(short, 1.5)).mean() < 2.0
    ui.slider.value = 0.5
    assert ui.play.value == 15


def test_caption_label_follows_t(short):
    ui = studio.preview(short, interactive=True)
    for t, text in [(0.1, "uno"), (0.6, "dos"), (1.2, "tres"), (1.55, "cuatro"), (2.3, "")]:
        ui.slider.value = t
        assert ui.caption.value == text, t


def test_audio_player_holds_the_soundtrack(short):
    ui = studio.preview(short, interactive=True)
    assert ui.audio.format == "wav"
    assert ui.audio.value[:4] == b"RIFF"


def test_frames_are_cached_by_t(short, monkeypatch):
    ui = studio.preview(short, interactive=True)
    calls = []
    real = studio.preview_image
    monkeypatch.setattr(studio, "preview_image", lambda *a: calls.append(a) or real(*a))
    ui.slider.value = 1.0
    ui.slider.value = 0.0
    ui.slider.value = 1.0
    assert len(calls) == 1  # t=0 was drawn when the preview opened


def test_render_button_produces_a_draft_mp4(short, tmp_path):
    ui = studio.preview(short, interactive=True)
    assert ui.video.layout.display == "none"
    ui.button.click()
    assert ui.video.layout.display is None and ui.video.format == "mp4"
    (tmp_path / "draft.mp4").write_bytes(ui.video.value)
    info = probe(tmp_path / "draft.mp4")
    assert (info.video_codec, info.width, info.height) == ("h264", 540, 960)
    assert info.audio_codec == "aac"
    assert info.duration == pytest.approx(2.5, abs=1 / 30)
    assert "540x960" in ui.status.value


def fail(*_args, **_kwargs):
    raise AssertionError("headless mode must not draw, render or read templates")


def test_headless_returns_none_without_rendering(short, monkeypatch):
    monkeypatch.setattr(studio, "preview_image", fail)
    monkeypatch.setattr(studio, "render", fail)
    monkeypatch.setattr(studio.templates, "find", fail)
    assert studio.preview(short) is None  # no kernel here: plain pytest
    assert studio.studio("explainer") is None
    assert studio.preview(short, interactive=False) is None


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


def test_form_widgets_follow_parameter_types():
    schema = templates.parameters("explainer")
    kinds = {name: type(studio._widget_for(p)).__name__ for name, p in schema.items()}
    assert kinds["script"] == "Textarea"
    assert kinds["title"] == "Text"
    assert kinds["caption_style"] == "Dropdown" and kinds["quality"] == "Dropdown"
    assert kinds["caption_uppercase"] == "Checkbox"
    assert kinds["caption_words"] == "IntText" and kinds["zoom"] == "FloatText"
    assert kinds["caption_active_color"] == "ColorPicker"
    assert kinds["caption_shadow"] == "FloatSlider"  # "from 0 to 1"


def test_changing_a_parameter_changes_the_frame():
    """The explainer, built with a two-word script: the form's background turns red."""
    ui = studio.studio(
        "explainer",
        {"script": "Red sky.", "music": "none", "title": "Hi"},
        interactive=True,
        debounce=60,
        t=0.1,
    )
    assert "output" not in ui.controls
    before = decoded(ui.preview.image.value)
    assert not (before[..., 0] > 200).mean() > 0.5  # the aurora photo is not red
    ui.controls["background"].value = "solid:#ff0000"
    assert np.array_equal(decoded(ui.preview.image.value), before)  # debounced: not yet
    ui.flush()
    after = decoded(ui.preview.image.value)
    red = (after[..., 0] > 230) & (after[..., 1] < 30) & (after[..., 2] < 30)
    assert red.mean() > 0.7
    corner = after[5:40, 5:40].reshape(-1, 3).mean(axis=0)
    assert corner == pytest.approx([255, 0, 0], abs=12)

    ui.controls["background"].value = "solid:nocolour"
    ui.flush()
    assert "background" in ui.message.value  # the error shows; the red frame stays
    assert np.array_equal(decoded(ui.preview.image.value), after)


def test_a_frame_that_fails_is_reported_and_the_last_frame_stays(short):
    class Broken(Layer):
        span = Span(1.0, 2.0)

        def patch(self, t, canvas):
            raise ValueError("bad artwork")

    short.layers.append(Broken())
    ui = studio.preview(short, interactive=True)
    before = ui.image.value
    ui.slider.value = 1.5
    assert ui.image.value == before
    assert "ValueError: bad artwork" in ui.status.value


def test_form_changes_apply_after_the_debounce_delay():
    ui = studio.studio(
        "explainer",
        {"script": "Red sky.", "music": "none", "title": "Hi"},
        interactive=True,
        debounce=0.05,
        t=0.1,
    )
    before = ui.preview.image.value
    ui.controls["background"].value = "solid:#00ff00"
    deadline = time.monotonic() + 20
    while ui.preview.image.value == before and time.monotonic() < deadline:
        time.sleep(0.02)
    green = decoded(ui.preview.image.value)[5:40, 5:40].reshape(-1, 3).mean(axis=0)
    assert green == pytest.approx([0, 255, 0], abs=12)
