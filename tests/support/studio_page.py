"""The studio player as a page shows it: its canvas's pixels, its soundtrack's clock.

Frames on the canvas are identified by their pixels: `Frames` composes the same short
in this process (same template cells, same narration cache) and finds which frame's
JPEG the canvas holds, never asking the widget what it drew. `play_and_measure` is the
playback figure of the acceptance test and of `bench/studio.py`.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import re
import statistics
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from neuroshorts import studio
from neuroshorts.studio.form import build_short
from neuroshorts.studio.player import preview_frame, preview_size
from support import REPO
from support.lab import CHROMIUM

TEMPLATE = REPO / "templates" / "explainer.ipynb"
FPS = 30
#: The marks of a test module in a real page: it needs Chromium, and it times the page.
IN_A_PAGE = [
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt install chromium)",
    ),
    pytest.mark.browser,
    pytest.mark.quiet,  # frames per second and latencies, measured in the page
]
#: A thousandth of a frame: how `frameAt` in neuroshorts/studio/web/clock.js reads a
#: media time that is a microsecond short of a frame's start.
FRAME_EPSILON = 1e-3

#: Every STRIDE-th pixel of the canvas is read back: enough to tell frames apart.
STRIDE = 3

#: Counts (and times) the player's canvas draws from outside the widget, before any page
#: code runs.
COUNT_DRAWS = """
const draw = CanvasRenderingContext2D.prototype.drawImage;
window.__frameDraws = 0;
window.__drawTimes = [];
CanvasRenderingContext2D.prototype.drawImage = function (...args) {
  if (this.canvas.classList.contains("ns-frame")) {
    window.__frameDraws += 1;
    window.__drawTimes.push(performance.now());
  }
  return draw.apply(this, args);
};
"""


class Frames:
    """The short's frames as the kernel sends them (JPEG at 540x960), decoded here."""

    def __init__(self, values: dict, template: Path = TEMPLATE):
        self.short, self.namespace = build_short(template, values)
        self.shape = preview_size(self.short, "540x960")
        self._cache: dict[int, np.ndarray] = {}

    def at(self, index: int) -> np.ndarray:
        if index not in self._cache:
            data = preview_frame(self.short, index, self.shape)
            pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
            self._cache[index] = pixels[::STRIDE, ::STRIDE].astype(np.int16)
        return self._cache[index]

    def identify(self, pixels: np.ndarray, near: int, reach: int = 8) -> tuple[int, float]:
        """The frame within `reach` of `near` the canvas shows, and how far it is from it."""
        last = self.short.frame_count - 1
        candidates = range(max(near - reach, 0), min(near + reach, last) + 1)
        errors = {i: float(np.abs(self.at(i) - pixels).mean()) for i in candidates}
        best = min(errors, key=lambda i: (errors[i], abs(i - near)))
        return best, errors[best]


#: A snapshot of the canvas with the soundtrack's time, taken in one JS task: the
#: bitmap is copied at once and read out only after playback, so sampling costs the
#: page's main thread a bitmap copy, not a readback that would hold up its drawing.
SNAP = """
() => {
  const player = document.querySelector(".ns-player");
  const audio = player.querySelector("audio");
  const canvas = player.querySelector("canvas.ns-frame");
  (window.__snaps ??= []).push({
    t: audio.currentTime, wall: performance.now() / 1000, draws: window.__frameDraws,
    bitmap: createImageBitmap(canvas),
  });
}
"""

#: The snapshots' pixels, every `stride`-th one, as base64 RGB.
READ_SNAPS = """
async stride => {
  const found = [];
  for (const snap of window.__snaps.splice(0)) {
    const bitmap = await snap.bitmap;
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext("2d");
    ctx.drawImage(bitmap, 0, 0);
    const { data } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
    const w = Math.ceil(bitmap.width / stride);
    const h = Math.ceil(bitmap.height / stride);
    const out = new Uint8Array(w * h * 3);
    let k = 0;
    for (let y = 0; y < bitmap.height; y += stride) {
      for (let x = 0; x < bitmap.width; x += stride) {
        const i = 4 * (y * bitmap.width + x);
        out[k++] = data[i]; out[k++] = data[i + 1]; out[k++] = data[i + 2];
      }
    }
    let text = "";
    for (let i = 0; i < out.length; i += 8192) {
      text += String.fromCharCode(...out.subarray(i, i + 8192));
    }
    found.push({ t: snap.t, wall: snap.wall, draws: snap.draws, w, h, pixels: btoa(text) });
  }
  return found;
}
"""


def decode_pixels(found: dict) -> dict:
    raw = np.frombuffer(base64.b64decode(found["pixels"]), dtype=np.uint8)
    found["pixels"] = raw.reshape(found["h"], found["w"], 3).astype(np.int16)
    return found


def sample(page) -> dict:
    """The canvas's pixels and the soundtrack's time, now."""
    page.evaluate(SNAP)
    return decode_pixels(page.evaluate(READ_SNAPS, STRIDE)[0])


def settle(page, frames: Frames, t: float) -> tuple[int, float]:
    """After a seek to `t` (paused): the frame the canvas shows once it has arrived."""
    index = round(t * FPS)
    deadline = time.monotonic() + 10
    while True:
        found, error = frames.identify(sample(page)["pixels"], index)
        if (found == index and error < 2.5) or time.monotonic() > deadline:
            return found, error
        time.sleep(0.05)  # the frame is on its way from the kernel


def audio_state(page) -> dict:
    return page.evaluate(
        "() => { const a = document.querySelector('.ns-player audio');"
        " return { t: a.currentTime, paused: a.paused }; }"
    )


def soundtrack_reaches(page, t: float, timeout_ms: float = 10_000) -> bool:
    """Whether the soundtrack's clock comes to rest at `t` once its data has loaded.

    A new player keeps its place on the wall clock until the browser has read the
    soundtrack's length, then puts the soundtrack there, so reading it at once races that.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            "([t, frame]) => { const a = document.querySelector('.ns-player audio');"
            " return a.readyState >= 1 && Math.abs(a.currentTime - t) <= frame; }",
            arg=[t, 1 / FPS],
            timeout=timeout_ms,
        )
    except PlaywrightTimeout:
        return False
    return True


def seek(page, t: float) -> None:
    """Go to `t` with the player's own go-to field, as a designer would."""
    page.locator(".ns-goto").fill(str(t))
    page.locator(".ns-goto").press("Enter")


def focus_player(page) -> None:
    page.locator(".ns-player .ns-stage").click()
    page.wait_for_function("() => document.activeElement?.classList.contains('ns-player')")


def play_and_measure(page, frames: Frames, start: float = 1.0, seconds: float = 3.0) -> dict:
    """Play from `start` for `seconds` (Space), sampling the canvas ten times.

    Returns the wall time, how far the soundtrack's clock moved, frames drawn per second
    and, per sample, |frame on the canvas - frame for the audio's time|.
    """
    focus_player(page)
    seek(page, start)
    settle(page, frames, start)
    page.keyboard.press("Space")
    page.wait_for_function(
        "start => { const a = document.querySelector('.ns-player audio');"
        " return !a.paused && a.currentTime > start + 0.05; }",
        arg=start,
    )
    page.evaluate(SNAP)
    for _ in range(10):
        time.sleep(seconds / 10)
        page.evaluate(SNAP)
    page.keyboard.press("Space")
    first, *samples = [decode_pixels(found) for found in page.evaluate(READ_SNAPS, STRIDE)]
    last = samples[-1]
    offsets, errors = [], []
    for found in samples:
        expected = int(found["t"] * FPS + FRAME_EPSILON)
        index, error = frames.identify(found["pixels"], expected)
        offsets.append(abs(index - expected))
        errors.append(error)
    wall = last["wall"] - first["wall"]
    return {
        "wall": wall,
        "heard": last["t"] - first["t"],
        "drawn_per_second": (last["draws"] - first["draws"]) / wall,
        "offsets": offsets,
        "median_offset": statistics.median(offsets),
        "worst_offset": max(offsets),
        "worst_match": max(errors),
    }


def time_to_new_frame(page, control, change, timeout_ms: float = 120_000) -> float:
    """Seconds from a form control's `change` event (made by `change()`) to the player's
    next canvas draw: paused, the canvas is drawn again only for a new short's frame."""
    control.evaluate(
        "c => c.addEventListener('change', () => { window.__changedAt = performance.now(); },"
        " { capture: true, once: true })"
    )
    page.evaluate("() => { window.__changedAt = null; }")
    change()
    page.wait_for_function(
        "() => window.__changedAt && window.__drawTimes.some(t => t > window.__changedAt)",
        timeout=timeout_ms,
    )
    return page.evaluate(
        "() => (window.__drawTimes.find(t => t > window.__changedAt) - window.__changedAt) / 1000"
    )


def field(page, name: str):
    """The widget row of the studio form's field `name` (labelled with the parameter's name)."""
    return page.locator(".widget-inline-hbox").filter(
        has=page.locator("label", has_text=re.compile(f"^{name}$"))
    )


def tab(page, title: str) -> None:
    page.locator(".lm-TabBar-tab", has_text=title).click()


@contextlib.contextmanager
def studio_lab(root: Path):
    """A JupyterLab whose kernels show widgets (the test run itself may be headless)."""
    from support.lab import jupyter_lab

    env = dict(os.environ)
    env.pop(studio.HEADLESS_ENV, None)
    with jupyter_lab(root, env) as server:
        yield server


@contextlib.contextmanager
def player_page(lab, notebook: str, shots: Path):
    """Chromium on `notebook`, run all, once its player shows; a screenshot if it fails."""
    # CI installs playwright with the test extra: missing, this fails rather than skips.
    from playwright.sync_api import sync_playwright

    from support.lab import chromium, open_notebook, run_all

    with sync_playwright() as playwright, chromium(playwright) as page:
        page.add_init_script(COUNT_DRAWS)
        try:
            open_notebook(page, lab, notebook)
            run_all(page)
            page.locator(".ns-player canvas.ns-frame").wait_for()
            yield page
        except Exception:
            with contextlib.suppress(Exception):  # what the page showed, for the CI log
                page.screenshot(path=str(shots / "failure.png"), full_page=True)
            print(f"screenshot: {shots / 'failure.png'}, server log: {lab.log}")
            raise
