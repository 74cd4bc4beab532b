"""YUV 4:2:0 frames: the pixel format x264 encodes, and the one frames are composed in.

Composing in the encoder's own format halves the samples every per-frame operation
touches (1.5 bytes a pixel instead of 3) and spares ffmpeg an RGB→YUV conversion of
every frame (1.34x the encode floor against 1.10x: docs/decisions/compositor.md).
RGB(A) artwork (text, logos) is converted once, premultiplied by its alpha, and the
preview converts the composed frame back to RGB, so preview and encoder share one frame.

Colours follow BT.709 with limited ("tv") range, which is what the encoder tags.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

#: RGB (0..255) → limited-range Y'CbCr, BT.709, as a 3x4 affine matrix.
_RGB_TO_YUV = np.array(
    [
        [0.2126 * 219 / 255, 0.7152 * 219 / 255, 0.0722 * 219 / 255, 16.0],
        [-0.114572 * 224 / 255, -0.385428 * 224 / 255, 0.5 * 224 / 255, 128.0],
        [0.5 * 224 / 255, -0.454153 * 224 / 255, -0.045847 * 224 / 255, 128.0],
    ],
    dtype=np.float32,
)
_YUV_TO_RGB = np.array(
    [
        [1.164384, 0.0, 1.792741],
        [1.164384, -0.213249, -0.532909],
        [1.164384, 2.112402, 0.0],
    ],
    dtype=np.float32,
)
_YUV_TO_RGB_AFFINE = np.hstack([_YUV_TO_RGB, -_YUV_TO_RGB @ np.array([[16.0], [128.0], [128.0]])])

BLACK = (16, 128, 128)


@dataclass(frozen=True)
class Planes:
    """A yuv420p picture: full-size luma `y`, half-size chroma `u` and `v`.

    Frames made by `blank` keep all three planes in one contiguous buffer, so the
    encoder writes a frame with one call.
    """

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    buffer: np.ndarray | None = None

    @property
    def width(self) -> int:
        return self.y.shape[1]

    @property
    def height(self) -> int:
        return self.y.shape[0]

    @classmethod
    def blank(cls, width: int, height: int, fill: tuple[int, int, int] | None = BLACK) -> Planes:
        """A frame of one colour (Y, U, V), or uninitialised when `fill` is None."""
        if width % 2 or height % 2:
            raise ValueError(f"yuv420p needs even sizes, got {width}x{height}")
        luma = width * height
        buffer = np.empty(luma * 3 // 2, dtype=np.uint8)
        planes = cls(
            buffer[:luma].reshape(height, width),
            buffer[luma : luma * 5 // 4].reshape(height // 2, width // 2),
            buffer[luma * 5 // 4 :].reshape(height // 2, width // 2),
            buffer,
        )
        if fill is not None:
            for plane, value in zip(planes, fill, strict=True):
                plane.fill(value)
        return planes

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.y, self.u, self.v))

    def copy_into(self, frame: Planes, x: int = 0, y: int = 0) -> None:
        """Copy these planes onto `frame` at even (x, y), clipped to the frame."""
        box = _clip(x, y, self.width, self.height, frame.width, frame.height)
        if box is None:
            return
        x0, y0, x1, y1 = box
        frame.y[y0:y1, x0:x1] = self.y[y0 - y : y1 - y, x0 - x : x1 - x]
        for src, dst in ((self.u, frame.u), (self.v, frame.v)):
            dst[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2] = src[
                (y0 - y) // 2 : (y1 - y) // 2, (x0 - x) // 2 : (x1 - x) // 2
            ]

    def mix_into(self, frame: Planes, opacity: float, x: int = 0, y: int = 0) -> None:
        """Blend these opaque planes onto `frame` with one opacity (crossfades)."""
        box = _clip(x, y, self.width, self.height, frame.width, frame.height)
        if box is None:
            return
        x0, y0, x1, y1 = box
        pairs = [(self.y[y0 - y : y1 - y, x0 - x : x1 - x], frame.y[y0:y1, x0:x1])]
        for src, dst in ((self.u, frame.u), (self.v, frame.v)):
            pairs.append(
                (
                    src[(y0 - y) // 2 : (y1 - y) // 2, (x0 - x) // 2 : (x1 - x) // 2],
                    dst[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2],
                )
            )
        for src, dst in pairs:
            dst[...] = cv2.addWeighted(src, opacity, dst, 1.0 - opacity, 0.0)

    def to_rgb(self, size: tuple[int, int] | None = None) -> np.ndarray:
        """HxWx3 uint8 RGB, chroma upsampled bilinearly as players do.

        `size` (width, height) scales the picture as a player shows a smaller version of
        it: each plane is area-averaged to that size before the conversion, so halving a
        frame costs a luma resize (its chroma is already half size), not an RGB frame.
        """
        size = size or (self.width, self.height)
        y, u, v = (_fit(plane, size) for plane in self)
        return cv2.transform(cv2.merge([y, u, v]), _YUV_TO_RGB_AFFINE)

    @classmethod
    def from_rgb(cls, rgb: np.ndarray) -> Planes:
        """Convert an even-sized HxWx3 uint8 RGB image (done once per still, not per frame)."""
        height, width = rgb.shape[:2]
        yuv = cv2.transform(np.ascontiguousarray(rgb[..., :3], dtype=np.float32), _RGB_TO_YUV)
        planes = cls.blank(width, height, fill=None)
        planes.y[...] = _round(yuv[..., 0])
        planes.u[...] = _round(_halve(yuv[..., 1]))
        planes.v[...] = _round(_halve(yuv[..., 2]))
        return planes


@dataclass(frozen=True)
class Overlay:
    """RGBA artwork converted for blending onto yuv420p frames.

    Luma and chroma are premultiplied by alpha (as uint16, value x alpha) and chroma
    alpha is the mean of each 2x2 block, so edges blend as if drawn in RGB and then
    subsampled. The box starts on even pixels; `x`, `y` is its top-left on the canvas.
    """

    luma: np.ndarray
    cb: np.ndarray
    cr: np.ndarray
    alpha: np.ndarray
    chroma_alpha: np.ndarray
    x: int
    y: int

    @classmethod
    def from_rgba(cls, pixels: np.ndarray, x: int, y: int) -> Overlay:
        left, top = x % 2, y % 2
        height, width = pixels.shape[:2]
        padded_w = left + width + (left + width) % 2
        padded_h = top + height + (top + height) % 2
        rgba = np.zeros((padded_h, padded_w, 4), dtype=np.float32)
        rgba[top : top + height, left : left + width, :3] = pixels[..., :3]
        rgba[top : top + height, left : left + width, 3] = (
            pixels[..., 3] if pixels.shape[2] == 4 else 255
        )
        alpha = rgba[..., 3] / 255
        yuv = cv2.transform(np.ascontiguousarray(rgba[..., :3]), _RGB_TO_YUV)
        premultiplied = yuv * alpha[..., None]
        return cls(
            luma=_round(premultiplied[..., 0] * 255, np.uint16),
            cb=_round(_halve(premultiplied[..., 1]) * 255, np.uint16),
            cr=_round(_halve(premultiplied[..., 2]) * 255, np.uint16),
            alpha=_round(alpha * 255),
            chroma_alpha=_round(_halve(alpha) * 255),
            x=x - left,
            y=y - top,
        )

    def blend_into(self, frame: Planes, opacity: float = 1.0) -> None:
        """Alpha-blend onto `frame` in place, touching only this overlay's box."""
        height, width = self.luma.shape
        box = _clip(self.x, self.y, width, height, frame.width, frame.height)
        if box is None or opacity <= 0:
            return
        x0, y0, x1, y1 = box
        sx, sy = x0 - self.x, y0 - self.y
        luma = (slice(sy, sy + y1 - y0), slice(sx, sx + x1 - x0))
        chroma = (slice(sy // 2, (sy + y1 - y0) // 2), slice(sx // 2, (sx + x1 - x0) // 2))
        fade = round(255 * opacity) if opacity < 1 else None
        _blend(frame.y[y0:y1, x0:x1], self.luma[luma], self.alpha[luma], fade)
        cx0, cy0, cx1, cy1 = x0 // 2, y0 // 2, x1 // 2, y1 // 2
        alpha = self.chroma_alpha[chroma]
        _blend(frame.u[cy0:cy1, cx0:cx1], self.cb[chroma], alpha, fade)
        _blend(frame.v[cy0:cy1, cx0:cx1], self.cr[chroma], alpha, fade)


def _blend(dst: np.ndarray, premultiplied: np.ndarray, alpha: np.ndarray, fade: int | None) -> None:
    """dst = src·a + dst·(1 - a), in integers: premultiplied is value·a (a in 0..255)."""
    if fade is not None:
        premultiplied = (premultiplied.astype(np.uint32) * fade + 127) // 255
        alpha = (alpha.astype(np.uint16) * fade + 127) // 255
    keep = 255 - alpha.astype(np.uint16)
    mixed = premultiplied + dst * keep + 127
    dst[...] = mixed // 255


class OverlayCache:
    """Converted overlays for the RGBA arrays layers hand out, least recently used first.

    Layers cache their rasterised artwork and hand out the same array every frame, so
    the array's identity (plus its placement's parity) is the key; the entry holds the
    array so its id cannot be reused while cached. The size bound keeps memory flat
    over a long video with hundreds of caption pages.
    """

    def __init__(self, size: int = 48) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[int, int, int], tuple[np.ndarray, Overlay]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, pixels: np.ndarray, x: int, y: int) -> Overlay:
        key = (id(pixels), x, y)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] is pixels:
                self._entries.move_to_end(key)
                return entry[1]
        overlay = Overlay.from_rgba(pixels, x, y)
        with self._lock:
            self._entries[key] = (pixels, overlay)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return overlay


def _clip(
    x: int, y: int, width: int, height: int, frame_width: int, frame_height: int
) -> tuple[int, int, int, int] | None:
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + width, frame_width), min(y + height, frame_height)
    if x0 >= x1 or y0 >= y1:
        return None
    return x0, y0, x1, y1


def _fit(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`plane` at `size` (width, height): averaged down, or bilinear up as players do."""
    height, width = plane.shape
    if (width, height) == size:
        return plane
    shrink = size[0] < width
    return cv2.resize(plane, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def _halve(plane: np.ndarray) -> np.ndarray:
    """Mean of each 2x2 block: chroma sited at the centre of its four luma samples."""
    return cv2.resize(
        plane, (plane.shape[1] // 2, plane.shape[0] // 2), interpolation=cv2.INTER_AREA
    )


def _round(values: np.ndarray, dtype: type = np.uint8) -> np.ndarray:
    limit = np.iinfo(dtype).max
    return np.clip(np.rint(values), 0, limit).astype(dtype)
