"""The scene model: what a short *is*, independent of how it is drawn or encoded.

A `Short` is a canvas, an audio track and an ordered stack of timed layers. Everything
here is plain data plus the alpha blend that turns the layers' patches into one frame.
There is no file or process I/O, so the model is tested with tiny synthetic layers, and
the preview (studio) and the encoder (render) share exactly one frame function: frames
are composed in yuv420p (`Short.planes`), the encoder's own format, and the preview is
that very frame converted to RGB (`Short.frame`).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from neuroshorts.scene.planes import BLACK, Overlay, OverlayCache, Planes

#: Layers are designed in pixels of a canvas whose short side is 1080 and scaled from
#: there, so one template renders at draft (540x960) and final (1080x1920) size, and in
#: 9:16, 1:1 and 16:9, with text of the same size relative to the frame's short side.
DESIGN_SHORT_SIDE = 1080

#: Frame sizes of the aspect ratios the platforms take, at final quality.
ASPECTS = {"9:16": (1080, 1920), "1:1": (1080, 1080), "16:9": (1920, 1080)}


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

    @classmethod
    def for_aspect(cls, aspect: str = "9:16", fps: int = 30) -> Canvas:
        """The final-quality canvas of an aspect ratio named like `9:16`."""
        if aspect not in ASPECTS:
            raise ValueError(f"aspect: {aspect!r} is not one of {', '.join(ASPECTS)}")
        width, height = ASPECTS[aspect]
        return cls(width, height, fps)

    @property
    def scale(self) -> float:
        """Factor from design pixels (short side 1080) to this canvas's pixels."""
        return min(self.width, self.height) / DESIGN_SHORT_SIDE

    @property
    def portrait(self) -> bool:
        return self.height > self.width

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
class Sound:
    """A media file's own sound placed on the timeline (a video background's audio).

    It mirrors how a video layer maps time: from `start`, the source plays from `offset`
    for `clip` seconds, looping when `loop` is set, until `start + duration` (None: to
    the end of the mix). `level_db` is relative to the voice, like the music bed, and a
    `duck`ed sound dips under speech with the music.
    """

    source: str
    start: float = 0.0
    duration: float | None = None
    offset: float = 0.0
    clip: float | None = None
    loop: bool = True
    level_db: float = -18.0
    duck: bool = True


@dataclass(frozen=True)
class AudioTrack:
    """The short's sound: a file the encoder muxes in, its length and its spoken words."""

    path: str
    duration: float
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Patch:
    """The pixels one layer contributes to one frame.

    `pixels` is HxWx3 (opaque) or HxWx4 (straight alpha) uint8 RGB(A) artwork, or opaque
    yuv420p `Planes` (at even x, y) for backgrounds that change every frame. It is placed
    with its top-left corner at (x, y) on the canvas and may lie partly outside it.
    Layers hand out the same RGB(A) array while their artwork is unchanged: it is
    converted for the frame once and reused. Artwork new on every frame (a MoviePy
    clip) says `changing=True`, so it is converted without crowding that cache; so do
    `Planes` made anew for each frame (a Ken Burns zoom, a video), which no one else
    holds: when they fill the canvas they become the frame itself, and the layers
    above are drawn on them instead of on a copy (3 MB a frame at 1080x1920).
    """

    pixels: np.ndarray | Planes
    x: int = 0
    y: int = 0
    opacity: float = 1.0
    changing: bool = False


class Layer(ABC):
    """Something drawn on the short during its `span`.

    Layers keep their own caches (a caption page rasterised once, a background drawn
    once), keyed by canvas, so `patch` is cheap on every frame after the first.
    """

    span: Span = Span()
    #: The layer carries the short's headline (hook title, quote card): the thumbnail
    #: shows the frame where it is fully on screen, since that is what sells the click.
    headline: bool = False

    @property
    def label(self) -> str:
        """A few words a timeline shows beside the layer's kind: its text, its file, its colours."""
        return ""

    @abstractmethod
    def patch(self, t: float, canvas: Canvas) -> Patch | None:
        """The layer's pixels at time `t` (seconds on the short's timeline), or None."""


def one_line(text: str, limit: int = 60) -> str:
    """`text` on one line (whitespace collapsed), cut to `limit` characters with `…`."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


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

    def planes(self, t: float) -> Planes:
        """The yuv420p frame at `t`: the exact pixels the encoder is given."""
        canvas = self.canvas
        patches = [
            p for p in (layer.patch(t, canvas) for layer in self.layers_at(t)) if p is not None
        ]
        if patches and _is_frame(patches[0], canvas):
            frame, patches = patches[0].pixels, patches[1:]
        else:
            covered = bool(patches) and _covers(patches[0], canvas)
            frame = Planes.blank(canvas.width, canvas.height, fill=None if covered else BLACK)
        for patch in patches:
            blend(frame, patch)
        return frame

    def frame(self, t: float, size: tuple[int, int] | None = None) -> np.ndarray:
        """The HxWx3 uint8 RGB frame at `t`: the encoded frame as a player shows it, at
        `size` (width, height) as a player shows it smaller (the studio's preview)."""
        return self.planes(t).to_rgb(size)


#: RGB(A) artwork converted for yuv420p frames, shared by every short in the process.
OVERLAYS = OverlayCache()


def _covers(patch: Patch, canvas: Canvas) -> bool:
    """Whether `patch` paints every pixel, so the frame need not be cleared first."""
    pixels = patch.pixels
    return (
        isinstance(pixels, Planes)
        and patch.opacity >= 1
        and patch.x <= 0
        and patch.y <= 0
        and patch.x + pixels.width >= canvas.width
        and patch.y + pixels.height >= canvas.height
    )


def _is_frame(patch: Patch, canvas: Canvas) -> bool:
    """Whether `patch` is opaque planes made for this frame alone, exactly the canvas:
    then they can be the frame (in one buffer, as the encoder writes it)."""
    pixels = patch.pixels
    return (
        patch.changing
        and isinstance(pixels, Planes)
        and pixels.buffer is not None
        and (pixels.width, pixels.height) == (canvas.width, canvas.height)
        and (patch.x, patch.y) == (0, 0)
        and patch.opacity >= 1
    )


def blend(frame: Planes, patch: Patch) -> None:
    """Alpha-blend `patch` onto `frame` in place, touching only the patch's box."""
    if patch.opacity <= 0:
        return
    pixels = patch.pixels
    if isinstance(pixels, Planes):
        if patch.opacity >= 1:
            pixels.copy_into(frame, patch.x, patch.y)
        else:
            pixels.mix_into(frame, patch.opacity, patch.x, patch.y)
        return
    if patch.changing:
        overlay = Overlay.from_rgba(pixels, patch.x, patch.y)
    else:
        overlay = OVERLAYS.get(pixels, patch.x, patch.y)
    overlay.blend_into(frame, patch.opacity)
