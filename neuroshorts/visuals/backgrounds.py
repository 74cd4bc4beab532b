"""Full-frame backgrounds: colours, gradients, still images, Ken Burns and video clips.

Backgrounds hand out yuv420p `Planes`, the compositor's own format. What does not move
is drawn and converted once per canvas size; what moves is resampled per frame with
OpenCV straight into the frame's planes. Media of another aspect ratio than the canvas
is never stretched: `fit="cover"` crops it, `fit="contain"` shows all of it over a
blurred, darkened copy of itself (or a colour), as the platforms' own apps do.
"""

from __future__ import annotations

import logging
import math
from functools import lru_cache
from pathlib import Path
from typing import Literal

import av
import cv2
import numpy as np
from PIL import Image, ImageFilter

from neuroshorts.scene import Canvas, Layer, Patch, Sound, Span
from neuroshorts.scene.planes import Planes
from neuroshorts.scene.typography import rgba

log = logging.getLogger(__name__)

Fit = Literal["cover", "contain"]
FITS = ("cover", "contain")


def fitted_box(
    source: tuple[int, int], target: tuple[int, int], fit: Fit
) -> tuple[float, float, float, float]:
    """Where `source` (w, h) lands in `target` (w, h): (x, y, width, height), aspect kept.

    `cover` fills the target and overflows it on one axis (x or y negative); `contain`
    fits inside it and leaves bars on one axis.
    """
    if fit not in FITS:
        raise ValueError(f"fit: {fit!r} is not one of {', '.join(FITS)}")
    pick = max if fit == "cover" else min
    scale = pick(target[0] / source[0], target[1] / source[1])
    width, height = source[0] * scale, source[1] * scale
    return (target[0] - width) / 2, (target[1] - height) / 2, width, height


def still_picture(image: Image.Image, size: tuple[int, int], fit: Fit, fill: str) -> Image.Image:
    """`image` placed on an RGB picture of `size` without stretching.

    For `contain`, the bars are `fill`: `blur` (the image itself, cover-scaled, blurred
    and darkened, so an off-ratio photo still fills a vertical frame) or a colour.
    """
    image = image.convert("RGB")
    x, y, width, height = fitted_box(image.size, size, fit)
    if fit == "cover":
        scale = width / image.width
        # Clamped: float rounding can put an edge a hair outside the image, which Pillow refuses.
        box = (
            max(0.0, -x / scale),
            max(0.0, -y / scale),
            min(float(image.width), (size[0] - x) / scale),
            min(float(image.height), (size[1] - y) / scale),
        )
        return image.resize(size, Image.Resampling.LANCZOS, box=box)
    if fill == "blur":
        backdrop = still_picture(image, (max(size[0] // 8, 2), max(size[1] // 8, 2)), "cover", "")
        backdrop = backdrop.filter(ImageFilter.GaussianBlur(max(size[0] // 120, 2)))
        backdrop = backdrop.resize(size, Image.Resampling.BILINEAR)
        picture = Image.blend(backdrop, Image.new("RGB", size), 0.35)
    else:
        picture = Image.new("RGB", size, rgba(fill)[:3])
    placed = image.resize((round(width), round(height)), Image.Resampling.LANCZOS)
    picture.paste(placed, (round(x), round(y)))
    return picture


def resample(
    source: Planes, target: Planes, left: float, top: float, x_step: float, y_step: float
) -> None:
    """Fill `target` from the float box of `source` at (`left`, `top`) in luma pixels.

    Each target pixel covers `x_step` by `y_step` source pixels; chroma planes use the
    same box in their own half-size coordinates, so luma and chroma stay aligned.
    """
    planes = ((source.y, target.y, 1), (source.u, target.u, 2), (source.v, target.v, 2))
    for plane, out, shrink in planes:
        matrix = np.array(
            [
                [x_step, 0.0, left / shrink + 0.5 * x_step - 0.5],
                [0.0, y_step, top / shrink + 0.5 * y_step - 0.5],
            ]
        )
        cv2.warpAffine(
            plane,
            matrix,
            (out.shape[1], out.shape[0]),
            dst=out,
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )


class CropResize:
    """`resample` from the whole-pixel crop nearest the float box, with `cv2.resize`,
    reusing each plane's last result while its crop stays put.

    Measured 3.4x faster than `warpAffine` for a 1080x1920 plane (1.1 vs 3.7 ms on one
    core), which is most of a Ken Burns frame's cost. The crop's centre is within half
    a source pixel of the box's and its size within one pixel, so a slow zoom moves in
    sub-pixel steps (at most ~0.5 px at the frame's edges, a few times a second), not
    the whole-pixel jumps of an integer zoom. Between those steps the crop does not
    move (the reference short's luma crop moves in 330 of its 735 frames, its chroma's
    in 197), and the plane is then the last one's, copied instead of resampled. A kept
    plane is replaced, never written into, so a studio thread copying it while the
    encoder moves on still reads one whole picture.
    """

    def __init__(self) -> None:
        self._kept: list[tuple[np.ndarray, tuple[int, ...], np.ndarray] | None] = [None] * 3

    def __call__(
        self, source: Planes, target: Planes, left: float, top: float, x_step: float, y_step: float
    ) -> None:
        planes = ((source.y, target.y, 1), (source.u, target.u, 2), (source.v, target.v, 2))
        for index, (plane, out, shrink) in enumerate(planes):
            width, height = out.shape[1] * x_step, out.shape[0] * y_step
            crop_w, crop_h = min(round(width), plane.shape[1]), min(round(height), plane.shape[0])
            x0 = round(left / shrink + width / 2 - crop_w / 2)
            y0 = round(top / shrink + height / 2 - crop_h / 2)
            x0 = min(max(x0, 0), plane.shape[1] - crop_w)
            y0 = min(max(y0, 0), plane.shape[0] - crop_h)
            box = (x0, y0, crop_w, crop_h, *out.shape)
            kept = self._kept[index]
            if kept is None or kept[0] is not plane or kept[1] != box:
                crop = plane[y0 : y0 + crop_h, x0 : x0 + crop_w]
                size = (out.shape[1], out.shape[0])
                kept = (plane, box, cv2.resize(crop, size, interpolation=cv2.INTER_LINEAR))
                self._kept[index] = kept
            out[...] = kept[2]


def ease_in_out(x: float) -> float:
    """Cosine easing: the camera starts and stops gently instead of jerking."""
    return 0.5 - 0.5 * math.cos(math.pi * min(max(x, 0.0), 1.0))


class _Still(Layer):
    """A background whose pixels do not change: drawn and converted once per canvas."""

    def __init__(self, span: Span = Span()) -> None:
        self.span = span
        self._cache: dict[Canvas, Patch] = {}

    def patch(self, t: float, canvas: Canvas) -> Patch:
        if canvas not in self._cache:
            self._cache[canvas] = Patch(Planes.from_rgb(self.draw(canvas)))
        return self._cache[canvas]

    def draw(self, canvas: Canvas) -> np.ndarray:
        raise NotImplementedError


class SolidBackground(_Still):
    def __init__(self, color: str, span: Span = Span()) -> None:
        super().__init__(span)
        self.color = rgba(color)[:3]

    @property
    def label(self) -> str:
        return _hex(self.color)

    def draw(self, canvas: Canvas) -> np.ndarray:
        return np.full((canvas.height, canvas.width, 3), self.color, dtype=np.uint8)


class GradientBackground(_Still):
    """A vertical gradient from `top` to `bottom`."""

    def __init__(self, top: str, bottom: str, span: Span = Span()) -> None:
        super().__init__(span)
        self.top = np.array(rgba(top)[:3], dtype=np.float32)
        self.bottom = np.array(rgba(bottom)[:3], dtype=np.float32)

    @property
    def label(self) -> str:
        return f"{_hex(self.top)} → {_hex(self.bottom)}"

    def draw(self, canvas: Canvas) -> np.ndarray:
        weight = np.linspace(0.0, 1.0, canvas.height, dtype=np.float32)[:, None]
        column = self.top * (1 - weight) + self.bottom * weight
        row = np.round(column).astype(np.uint8)[:, None, :]
        return np.ascontiguousarray(np.broadcast_to(row, (canvas.height, canvas.width, 3)))


class AnimatedGradient(Layer):
    """A vertical gradient whose bands drift slowly, for a background that feels alive.

    Each frame is one column of colours broadcast across the width, computed straight
    in yuv420p from the two colours converted once: a full-frame fill, no resample.
    """

    def __init__(self, top: str, bottom: str, span: Span = Span(), *, period: float = 8.0):
        if period <= 0:
            raise ValueError(f"period must be positive, got {period}")
        self.span, self.period = span, period
        self.top, self.bottom = rgba(top)[:3], rgba(bottom)[:3]
        swatch = np.array([[self.top] * 2 + [self.bottom] * 2] * 2, dtype=np.uint8)
        self._ends = [(float(p[0, 0]), float(p[0, -1])) for p in Planes.from_rgb(swatch)]

    @property
    def label(self) -> str:
        return f"{_hex(self.top)} → {_hex(self.bottom)}"

    def patch(self, t: float, canvas: Canvas) -> Patch:
        frame = Planes.blank(canvas.width, canvas.height, fill=None)
        phase = 2 * math.pi * (t - self.span.start) / self.period
        for plane, (first, second) in zip(frame, self._ends, strict=True):
            rows = np.linspace(0.0, 2 * math.pi, plane.shape[0], dtype=np.float32)
            weight = 0.5 - 0.5 * np.cos(rows / 2 + 0.6 * np.sin(phase + rows / 2))
            column = np.rint(first + (second - first) * weight).astype(np.uint8)
            plane[...] = column[:, None]
        return Patch(frame, changing=True)


class ImageBackground(_Still):
    """A still image filling the frame, cropped (`cover`) or whole over a fill (`contain`)."""

    def __init__(
        self, image: str | Path, span: Span = Span(), *, fit: Fit = "cover", fill: str = "blur"
    ) -> None:
        super().__init__(span)
        fitted_box((1, 1), (1, 1), fit)  # validate early, before any frame is drawn
        self.image, self.fit, self.fill = Path(image), fit, fill

    @property
    def label(self) -> str:
        return self.image.name

    def draw(self, canvas: Canvas) -> np.ndarray:
        with Image.open(self.image) as source:
            size = (canvas.width, canvas.height)
            return np.asarray(still_picture(source, size, self.fit, self.fill))


@lru_cache(maxsize=8)
def _fitted_picture(
    path: str, _mtime_ns: int, _size: int, size: tuple[int, int], fit: Fit, fill: str
) -> Planes:
    """A still fitted to `size`, kept across layers: a studio rebuilds its short's layers
    on every change, and resampling the photo is most of a rebuild (the file's time and
    size are in the key, so an edited photo is read again). Read-only, like all artwork."""
    with Image.open(path) as source:
        planes = Planes.from_rgb(np.asarray(still_picture(source, size, fit, fill)))
    for plane in (planes.y, planes.u, planes.v):
        plane.flags.writeable = False  # shared by every layer showing this photo
    return planes


class KenBurns(Layer):
    """A still image with a slow eased zoom towards `focus`, never stretched.

    The picture (cover-cropped, or contained over a blurred fill) is drawn and converted
    to yuv420p once, at the canvas size times the largest zoom, so every frame is a
    crop resampled down to the canvas, never up. By default the crop is whole pixels
    and resampled with `cv2.resize` (`CropResize`: ~1.6 ms of CPU for a 1080x1920
    frame's three planes, or a copy when the crop has not moved); `exact=True`
    resamples the float box with `warpAffine` (~5.6 ms), for sharp line art where
    half-pixel steps might show. Pillow's RGB `resize` took 25 ms.
    """

    def __init__(
        self,
        image: str | Path,
        span: Span,
        *,
        zoom: tuple[float, float] = (1.0, 1.12),
        focus: tuple[float, float] = (0.5, 0.5),
        fit: Fit = "cover",
        fill: str = "blur",
        exact: bool = False,
    ) -> None:
        if min(zoom) < 1.0:
            raise ValueError(f"zoom: got {zoom}, expected values of at least 1.0")
        if not math.isfinite(span.end):
            raise ValueError("a Ken Burns layer needs a finite span to time its zoom")
        fitted_box((1, 1), (1, 1), fit)
        self.image = Path(image)
        self.span = span
        self.zoom = zoom
        self.focus = focus
        self.fit, self.fill = fit, fill
        self._resample = resample if exact else CropResize()
        self._pictures: dict[Canvas, Planes] = {}

    @property
    def label(self) -> str:
        return self.image.name

    def picture(self, canvas: Canvas) -> Planes:
        """The whole picture the camera moves over, at the largest zoom's resolution.

        Looked up once per canvas, not on every frame: the lookup reads the file's path
        and time from the file system."""
        if canvas not in self._pictures:
            biggest = max(self.zoom)
            size = (_even(canvas.width * biggest), _even(canvas.height * biggest))
            stat = self.image.stat()
            self._pictures[canvas] = _fitted_picture(
                str(self.image.resolve()), stat.st_mtime_ns, stat.st_size, size, self.fit, self.fill
            )
        return self._pictures[canvas]

    def patch(self, t: float, canvas: Canvas) -> Patch:
        base = self.picture(canvas)
        progress = ease_in_out((t - self.span.start) / self.span.duration)
        zoom = self.zoom[0] + (self.zoom[1] - self.zoom[0]) * progress
        width, height = base.width / zoom, base.height / zoom
        cx = min(max(self.focus[0] * base.width, width / 2), base.width - width / 2)
        cy = min(max(self.focus[1] * base.height, height / 2), base.height - height / 2)
        frame = Planes.blank(canvas.width, canvas.height, fill=None)
        box = (cx - width / 2, cy - height / 2, width / canvas.width, height / canvas.height)
        self._resample(base, frame, *box)
        return Patch(frame, changing=True)


class VideoBackground(Layer):
    """A video file as the background: trimmed, looped, fitted without stretching.

    Frames are decoded with PyAV as yuv420p (converted to BT.709 if the file is not)
    and read forward while the encoder walks the timeline; a jump backwards or far
    ahead (a preview scrub) seeks. Only the part of a frame that is shown is resampled
    to the canvas. Source
    time is `trim_start` plus the time into the span, wrapped at `trim_end` (or the
    clip's end) when `loop` is set, else held on the last frame.
    """

    def __init__(
        self,
        video: str | Path,
        span: Span = Span(),
        *,
        fit: Fit = "cover",
        fill: str = "blur",
        trim_start: float = 0.0,
        trim_end: float | None = None,
        loop: bool = True,
    ) -> None:
        fitted_box((1, 1), (1, 1), fit)
        self.video, self.span, self.fit, self.fill = Path(video), span, fit, fill
        self.trim_start, self.loop = trim_start, loop
        with av.open(str(self.video)) as container:
            stream = container.streams.video[0]
            length = float(stream.duration * stream.time_base) if stream.duration else None
            if length is None:
                length = container.duration / av.time_base
            self.size = (stream.codec_context.width, stream.codec_context.height)
        self.trim_end = min(trim_end, length) if trim_end is not None else length
        if not self.trim_end > trim_start >= 0:
            raise ValueError(f"video: trim [{trim_start}, {trim_end}) is empty for {self.video}")
        self._reader: _FrameReader | None = None

    @property
    def label(self) -> str:
        return self.video.name

    def sound(self, level_db: float = -18.0, *, duck: bool = True) -> Sound:
        """This clip's own audio on the same timeline as its pictures, for `audio.mix`.

        The layer is muted by default; mixing its sound is the template's choice, and
        trimming and looping stay in step with the frames because both come from here.
        """
        duration = None if math.isinf(self.span.end) else self.span.duration
        return Sound(
            str(self.video),
            start=self.span.start,
            duration=duration,
            offset=self.trim_start,
            clip=self.trim_end - self.trim_start,
            loop=self.loop,
            level_db=level_db,
            duck=duck,
        )

    def source_time(self, t: float) -> float:
        elapsed = max(t - self.span.start, 0.0)
        clip = self.trim_end - self.trim_start
        elapsed = elapsed % clip if self.loop else min(elapsed, clip - 1e-3)
        return self.trim_start + elapsed

    def patch(self, t: float, canvas: Canvas) -> Patch:
        if self._reader is None:
            self._reader = _FrameReader(self.video)
        frame = self._reader.frame_at(self.source_time(t))
        return Patch(self._place(frame, canvas), changing=True)

    def _place(self, frame: av.VideoFrame, canvas: Canvas) -> Planes:
        """The frame fitted to the canvas, resampling only the pixels that are shown."""
        source = _to_planes(frame)
        out = Planes.blank(canvas.width, canvas.height)
        x, y, width, _ = fitted_box(self.size, (canvas.width, canvas.height), self.fit)
        step = source.width / width
        if self.fit == "cover":
            resample(source, out, -x * step, -y * step, step, step)
            return out
        self._fill_bars(source, out)
        placed = Planes.blank(_even(width), _even(source.height / step), fill=None)
        steps = (source.width / placed.width, source.height / placed.height)
        resample(source, placed, 0.0, 0.0, *steps)
        placed.copy_into(out, _even(x), _even(y))
        return out

    def _fill_bars(self, source: Planes, out: Planes) -> None:
        """The contain bars: a colour, or the frame itself blurred at 1/8 size and darkened."""
        if self.fill != "blur":
            color = Planes.from_rgb(np.full((2, 2, 3), rgba(self.fill)[:3], dtype=np.uint8))
            for plane, value in zip(out, color, strict=True):
                plane.fill(int(value[0, 0]))
            return
        small = Planes.blank(_even(out.width / 8), _even(out.height / 8), fill=None)
        x, y, width, _ = fitted_box(self.size, (small.width, small.height), "cover")
        step = source.width / width
        resample(source, small, -x * step, -y * step, step, step)
        for index, (plane, big) in enumerate(zip(small, out, strict=True)):
            soft = cv2.GaussianBlur(plane, (0, 0), 2)
            if index == 0:  # darken luma towards black (16) so the media stands out
                soft = cv2.addWeighted(soft, 0.65, soft, 0.0, 16 * 0.35)
            big[...] = cv2.resize(
                soft, (big.shape[1], big.shape[0]), interpolation=cv2.INTER_LINEAR
            )


class _FrameReader:
    """Sequential yuv420p frames of a video file, seeking only when time jumps."""

    SEEK_AHEAD = 1.0

    def __init__(self, path: Path) -> None:
        self.container = av.open(str(path))
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        self._frames = self.container.decode(self.stream)
        self._current: av.VideoFrame | None = None
        self._next: av.VideoFrame | None = None

    def frame_at(self, seconds: float) -> av.VideoFrame:
        current = self._current
        if current is None or current.time > seconds or seconds - current.time > self.SEEK_AHEAD:
            self._seek(seconds)
        while True:
            upcoming = self._peek()
            if upcoming is None or upcoming.time > seconds + 1e-6:
                break
            self._current, self._next = upcoming, None
        if self._current is None:
            self._current = self._peek()
        return self._current

    def _peek(self) -> av.VideoFrame | None:
        if self._next is None:
            self._next = next(self._frames, None)
        return self._next

    def _seek(self, seconds: float) -> None:
        offset = int(seconds / self.stream.time_base) if self.stream.time_base else 0
        self.container.seek(max(offset, 0), stream=self.stream, backward=True)
        self._frames = self.container.decode(self.stream)
        self._current, self._next = None, None


def _to_planes(frame: av.VideoFrame) -> Planes:
    """The frame as BT.709 yuv420p planes at its own size (cropped to even)."""
    width, height = frame.width - frame.width % 2, frame.height - frame.height % 2
    converted = frame.reformat(format="yuv420p", dst_colorspace="ITU709")
    planes = Planes.blank(width, height, fill=None)
    for plane, out in zip(converted.planes, planes, strict=True):
        data = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)
        out[...] = data[: out.shape[0], : out.shape[1]]
    return planes


def _hex(color) -> str:
    """An RGB triple (ints or floats) as `#rrggbb`."""
    return "#" + "".join(f"{round(float(c)):02x}" for c in color)


def _even(value: float) -> int:
    return 2 * round(value / 2)
