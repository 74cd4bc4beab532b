"""The scene model: what a short *is*, independent of how it is drawn or encoded.

A `Short` is a canvas, an audio track and an ordered stack of timed layers. Everything
here is plain data plus the alpha blend that turns the layers' patches into one frame.
There is no file or process I/O, so the model is tested with tiny synthetic layers, and
the preview (studio) and the encoder (render) share exactly one frame function: what a
designer scrubs to is the pixels the encoder receives.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

#: Layers are designed in pixels of a 1080-wide canvas and scaled from there, so one
#: template renders at draft (540x960) and final (1080x1920) size alike.
DESIGN_WIDTH = 1080


@dataclass(frozen=True)
class Span:
    """A half-open time interval [start, end) in seconds on the short's timeline."""

    start: float = 0.0
    end: float = math.inf

    def __post_init__(self) -> None:
        if self.start < 0 or not self.end > self.start:
            raise ValueError(f"span needs 0 <= start < end, got [{self.start}, {self.end})")

    def contains(self, t: float) -> bool:
        return self.start <= t < self.end

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Canvas:
    """Output raster size and frame rate."""

    width: int = 1080
    height: int = 1920
    fps: int = 30

    def __post_init__(self) -> None:
        # yuv420p needs even dimensions; catching it here beats an ffmpeg error later.
        if self.width <= 0 or self.height <= 0 or self.width % 2 or self.height % 2:
            raise ValueError(f"canvas needs positive even sizes, got {self.width}x{self.height}")
        if self.fps <= 0:
            raise ValueError(f"canvas fps must be positive, got {self.fps}")

    @property
    def scale(self) -> float:
        """Factor from design pixels (1080-wide) to this canvas's pixels."""
        return self.width / DESIGN_WIDTH

    def px(self, design_pixels: float) -> int:
        return round(design_pixels * self.scale)

    def scaled(self, factor: float) -> Canvas:
        """The same aspect at another size, rounded to even pixels."""
        return replace(
            self,
            width=2 * round(self.width * factor / 2),
            height=2 * round(self.height * factor / 2),
        )


@dataclass(frozen=True)
class Word:
    """One word of the script as spoken: its text as written and when it is heard."""

    text: str
    start: float
    end: float


@dataclass(frozen=True)
class AudioTrack:
    """The short's sound: a file the encoder muxes in, its length and its spoken words."""

    path: str
    duration: float
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Patch:
    """The pixels one layer contributes to one frame.

    `pixels` is HxWx3 (opaque) or HxWx4 (straight alpha) uint8, placed with its top-left
    corner at (x, y) on the canvas; it may lie partly outside the canvas.
    """

    pixels: np.ndarray
    x: int = 0
    y: int = 0
    opacity: float = 1.0


class Layer(ABC):
    """Something drawn on the short during its `span`.

    Layers keep their own caches (a caption page rasterised once, a background drawn
    once), keyed by canvas, so `patch` is cheap on every frame after the first.
    """

    span: Span = Span()

    @abstractmethod
    def patch(self, t: float, canvas: Canvas) -> Patch | None:
        """The layer's pixels at time `t` (seconds on the short's timeline), or None."""


class Short:
    """A vertical short: canvas, audio and layers drawn bottom to top."""

    def __init__(
        self,
        canvas: Canvas,
        audio: AudioTrack | None = None,
        layers: Sequence[Layer] = (),
        *,
        tail: float = 0.5,
        duration: float | None = None,
    ) -> None:
        """`duration` defaults to the narration's end plus `tail` seconds of breathing room."""
        if duration is None:
            if audio is None:
                raise ValueError("a short without audio needs an explicit duration")
            duration = audio.duration + tail
        if duration <= 0:
            raise ValueError(f"duration must be positive, got {duration}")
        self.canvas = canvas
        self.audio = audio
        self.layers = list(layers)
        self.duration = duration

    def resized(self, canvas: Canvas) -> Short:
        """The same short laid out on another canvas (e.g. the draft size)."""
        return Short(canvas, self.audio, self.layers, duration=self.duration)

    @property
    def frame_count(self) -> int:
        return max(1, round(self.duration * self.canvas.fps))

    def times(self) -> Iterator[float]:
        """The timestamp of every frame, in order."""
        fps = self.canvas.fps
        return (i / fps for i in range(self.frame_count))

    def layers_at(self, t: float) -> list[Layer]:
        return [layer for layer in self.layers if layer.span.contains(t)]

    def frame(self, t: float) -> np.ndarray:
        """The HxWx3 uint8 RGB frame at `t`: the exact pixels the encoder is given."""
        canvas = self.canvas
        frame = np.zeros((canvas.height, canvas.width, 3), dtype=np.uint8)
        for layer in self.layers_at(t):
            patch = layer.patch(t, canvas)
            if patch is not None:
                blend(frame, patch)
        return frame


def blend(frame: np.ndarray, patch: Patch) -> None:
    """Alpha-blend `patch` onto `frame` in place, touching only the patch's box."""
    height, width = frame.shape[:2]
    ph, pw = patch.pixels.shape[:2]
    x0, y0 = max(patch.x, 0), max(patch.y, 0)
    x1, y1 = min(patch.x + pw, width), min(patch.y + ph, height)
    if x0 >= x1 or y0 >= y1 or patch.opacity <= 0:
        return
    src = patch.pixels[y0 - patch.y : y1 - patch.y, x0 - patch.x : x1 - patch.x]
    dst = frame[y0:y1, x0:x1]
    opaque = src.shape[2] == 3
    if opaque and patch.opacity >= 1:
        dst[...] = src
        return
    if opaque:
        alpha = np.full((*src.shape[:2], 1), round(255 * patch.opacity), dtype=np.uint16)
    else:
        alpha = src[..., 3:4].astype(np.uint16)
        if patch.opacity < 1:
            alpha = (alpha * round(255 * patch.opacity) + 127) // 255
    rgb = src[..., :3].astype(np.uint16)
    dst[...] = ((rgb * alpha + dst.astype(np.uint16) * (255 - alpha) + 127) // 255).astype(np.uint8)
