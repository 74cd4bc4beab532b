"""The player widget: a short playing in the notebook with its sound, on a timeline.

The page owns the clock: the short's own soundtrack (the mastered mix) plays in an
`<audio>` element and every animation frame shows the frame for the audio's time, so
sound and picture cannot drift apart. The kernel's part is to have that frame there in
time: `FrameFeed` composes `Short.frame(t)` (the encoder's very pixels) just ahead of the
playhead and sends JPEGs as binary messages (a JPEG at preview size costs a few ms where
PNG costs hundreds, FIELD-NOTES "Preview latency").

The designer's place (playhead, loop marks, rate, mute, guides) lives in synced traits,
so a re-run cell or a reloaded page shows the new short where they were; the page also
keeps it in localStorage under `place_key` for a new kernel.

It is an anywidget: the browser side is the plain ES modules in `web/`, no build step.
"""

from __future__ import annotations

import base64
import io
import logging
import os
import re
import threading
import time
from functools import cache
from pathlib import Path
from typing import Any

import anywidget
import traitlets
from PIL import Image

from neuroshorts.captions import SAFE_AREAS
from neuroshorts.errors import ClockError
from neuroshorts.output.encode import opencv_on_one_thread
from neuroshorts.scene import Short
from neuroshorts.studio.feed import Clock, FrameFeed
from neuroshorts.studio.timeline import timeline

log = logging.getLogger(__name__)

WEB = Path(__file__).with_name("web")
#: Preview sizes by name: the short side of the frame, then the long side.
SIZES = {"540x960": 540, "360x640": 360}
JPEG_QUALITY = 85
#: JPEGs kept per player: scrubbing back over the last ten seconds resends, composes nothing.
FRAME_CACHE = 300
_AUDIO_TYPES = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".ogg": "audio/ogg"}
_RELATIVE_IMPORT = re.compile(r"""(from\s+["'])\./([\w-]+\.js)(["'])""")


@cache
def esm(name: str) -> str:
    """The ES module `web/<name>` with its imports of sibling modules inlined as data: URLs.

    anywidget imports `_esm` from a blob: URL, where `./clock.js` resolves to nothing.
    The modules import only each other, so inlining them keeps them plain files that
    node's test runner imports as they are, with no bundler and no build step.
    """
    source = (WEB / name).read_text(encoding="utf-8")

    def inline(match: re.Match[str]) -> str:
        encoded = base64.b64encode(esm(match.group(2)).encode()).decode()
        return f"{match.group(1)}data:text/javascript;base64,{encoded}{match.group(3)}"

    return _RELATIVE_IMPORT.sub(inline, source)


def jpeg(image: Image.Image, quality: int = JPEG_QUALITY) -> bytes:
    """JPEG bytes of a PIL image: fast enough to send one per frame while playing."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def preview_size(short: Short, size: str) -> tuple[int, int]:
    """The (width, height) `short` is shown at for a preview size (`540x960` names the
    short and the long side; a square or landscape short keeps its shape).

    The preview is the final frame scaled down (`Short.frame(t, size)`), not the short
    laid out again at the smaller size: text and photo crops then round exactly as they
    will in the video (a half-size layout differed from the final by 27-30 dB PSNR), and
    composing at the final size costs ~2 ms a frame more (bench/README.md).
    """
    if size not in SIZES:
        raise ValueError(f"size: {size!r} is not one of {', '.join(SIZES)}")
    canvas = short.canvas.scaled(SIZES[size] / min(short.canvas.width, short.canvas.height))
    return canvas.width, canvas.height


def preview_frame(short: Short, index: int, shape: tuple[int, int]) -> bytes:
    """The JPEG of frame `index` of `short` at `shape`: what the player is sent.

    Composed with OpenCV on one thread, as the encoder composes: while the short plays,
    the page (its JPEG decodes, drawing and JupyterLab) needs the other core. Its second
    thread took a frame of the explainer's first seconds from 14.3 to 17.5 ms of CPU for
    13.4 to 11.6 ms of wall time (2 cores), and the page missed more frames.
    """
    with opencv_on_one_thread():
        rgb = short.frame(index / short.canvas.fps, shape)
    return jpeg(Image.fromarray(rgb))


def place_key(cell: str) -> str:
    """Where the page keeps a player's place across kernels: the notebook and its cell.

    Jupyter Server tells a kernel its notebook's path in `JPY_SESSION_NAME`.
    """
    # Not a setting: what Jupyter Server tells this kernel about its notebook.
    return f"neuroshorts:{os.environ.get('JPY_SESSION_NAME', '')}:{cell}"


class Player(anywidget.AnyWidget):
    """A short with its soundtrack, transport, timeline and guides, in the notebook."""

    _esm = esm("player.js")
    _css = WEB / "player.css"

    # What the kernel shows.
    version = traitlets.Int(0).tag(sync=True)
    fps = traitlets.Int(30).tag(sync=True)
    frame_count = traitlets.Int(1).tag(sync=True)
    duration = traitlets.Float(1.0).tag(sync=True)
    frame_width = traitlets.Int(540).tag(sync=True)
    frame_height = traitlets.Int(960).tag(sync=True)
    audio = traitlets.Bytes(b"").tag(sync=True)
    audio_type = traitlets.Unicode("audio/wav").tag(sync=True)
    timeline = traitlets.Dict().tag(sync=True)
    guides = traitlets.Dict().tag(sync=True)
    place_key = traitlets.Unicode("").tag(sync=True)
    #: The page may restore the place it kept under `place_key` (a new player only).
    restore = traitlets.Bool(False).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    # The designer's place, set from the page.
    size = traitlets.Unicode("540x960").tag(sync=True)
    position = traitlets.Float(0.0).tag(sync=True)
    loop_in = traitlets.Float(None, allow_none=True).tag(sync=True)
    loop_out = traitlets.Float(None, allow_none=True).tag(sync=True)
    looping = traitlets.Bool(False).tag(sync=True)
    rate = traitlets.Float(1.0).tag(sync=True)
    muted = traitlets.Bool(False).tag(sync=True)
    guide = traitlets.Unicode("").tag(sync=True)
    grid = traitlets.Bool(False).tag(sync=True)

    def __init__(
        self, short: Short, *, t: float | None = None, size: str = "540x960", key: str = ""
    ) -> None:
        super().__init__(
            size=size,
            position=t or 0.0,
            place_key=key,
            restore=bool(key) and t is None,
            guides={name: [a.top, a.bottom, a.left, a.right] for name, a in SAFE_AREAS.items()},
        )
        self._frames: dict[tuple[int, int], bytes] = {}
        # One frame at a time: the feed's thread and a draft render share the layers' caches.
        self.compose_lock = threading.RLock()
        self.feed = FrameFeed(self._compose, lambda message, buffers: self.send(message, buffers))
        self.on_msg(self._on_message)
        self.observe(self._on_size, names="size")
        self.observe(self._on_loop, names=["loop_in", "loop_out", "looping"])
        self.set_short(short)

    def set_short(self, short: Short) -> None:
        """Show another short (a template run again) at the same place: playhead, loop."""
        shape = preview_size(short, self.size)
        with self.compose_lock:
            self.short, self._shape = short, shape
            self._frames.clear()
        path = Path(short.audio.path) if short.audio is not None else None
        audio = path.read_bytes() if path is not None and path.is_file() else b""
        fps = short.canvas.fps
        end = (short.frame_count - 1) / fps
        with self.hold_sync():
            self.version += 1
            self.fps = fps
            self.frame_count = short.frame_count
            self.duration = short.frame_count / fps
            self.frame_width, self.frame_height = shape
            self.audio = audio  # sent again only when the bytes differ
            self.audio_type = _AUDIO_TYPES.get(path.suffix.lower(), "audio/wav") if path else ""
            self.timeline = timeline(short)
            self.error = ""
            self.position = min(max(self.position, 0.0), end)
            if self.loop_out is not None and self.loop_out > self.duration:
                self.loop_out = self.duration
        self.feed.show(self.version, self.fps, self.frame_count)
        self._on_loop()

    def frame_jpeg(self, index: int) -> bytes:
        """The JPEG of frame `index` at the preview size (kept for later requests)."""
        with self.compose_lock:
            key = (self.version, index)
            data = self._frames.get(key)
            if data is None:
                data = preview_frame(self.short, index, self._shape)
                if len(self._frames) >= FRAME_CACHE:
                    self._frames.pop(next(iter(self._frames)))
                self._frames[key] = data
            return data

    def _compose(self, version: int, index: int) -> bytes | None:
        if version != self.version:
            return None
        try:
            return self.frame_jpeg(index)
        except Exception as error:
            # Raised in the feed's thread it would reach only the kernel's log.
            log.exception("studio: frame %d failed", index)
            self.error = f"frame {index} ({index / self.fps:.2f} s) failed: {error}"
            return None

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "clock":
            log.warning("studio: unknown message from the page: %r", content)
            return
        try:
            self.feed.report(Clock.from_message(content, time.monotonic()))
        except ClockError as error:
            log.warning("studio: %s", error)

    def _on_size(self, _change: Any) -> None:
        self.set_short(self.short)

    def _on_loop(self, _change: Any = None) -> None:
        if not self.looping:
            self.feed.set_loop(None)
            return
        start = self.loop_in or 0.0
        end = self.duration if self.loop_out is None else self.loop_out
        self.feed.set_loop((round(start * self.fps), round(end * self.fps)))

    def close(self) -> None:
        self.feed.close()
        super().close()
