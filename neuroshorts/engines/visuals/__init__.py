"""Visuals engine: backgrounds and text layers for a short.

Each layer rasterises what does not change once per canvas size and keeps it, so the
per-frame cost is one crop-and-scale for a moving background and small alpha blends
for text, never layout or font work.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import StrictUndefined
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from PIL import Image, ImageDraw

from neuroshorts.assets import resolve
from neuroshorts.scene import Canvas, Layer, Patch, Span
from neuroshorts.typography import TextStyle, fit, render_block, rgba

_TEXT_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def render_text(
    template: str, context: Mapping[str, Any] | None = None, *, field: str = "text"
) -> str:
    """Fill a user-written jinja2 text (`"Top {{ n }} tips"`) in a sandbox.

    Titles come from API requests and automations, so they are data: the sandbox
    refuses attribute tricks that would reach Python internals.
    """
    try:
        return _TEXT_ENV.from_string(template).render(**(context or {}))
    except SecurityError as error:
        raise ValueError(f"{field}: {template!r} tries something unsafe: {error}") from error
    except TemplateError as error:
        raise ValueError(f"{field}: {template!r} is not a valid text template: {error}") from error


class _FullFrame(Layer):
    """A background whose pixels do not change: drawn once per canvas size."""

    def __init__(self, span: Span = Span()) -> None:
        self.span = span
        self._cache: dict[Canvas, Patch] = {}

    def patch(self, t: float, canvas: Canvas) -> Patch:
        if canvas not in self._cache:
            self._cache[canvas] = Patch(self.draw(canvas))
        return self._cache[canvas]

    def draw(self, canvas: Canvas) -> np.ndarray:
        raise NotImplementedError


class SolidBackground(_FullFrame):
    def __init__(self, color: str, span: Span = Span()) -> None:
        super().__init__(span)
        self.color = rgba(color)[:3]

    def draw(self, canvas: Canvas) -> np.ndarray:
        return np.full((canvas.height, canvas.width, 3), self.color, dtype=np.uint8)


class GradientBackground(_FullFrame):
    """A vertical gradient from `top` to `bottom`."""

    def __init__(self, top: str, bottom: str, span: Span = Span()) -> None:
        super().__init__(span)
        self.top = np.array(rgba(top)[:3], dtype=np.float32)
        self.bottom = np.array(rgba(bottom)[:3], dtype=np.float32)

    def draw(self, canvas: Canvas) -> np.ndarray:
        weight = np.linspace(0.0, 1.0, canvas.height, dtype=np.float32)[:, None]
        column = self.top * (1 - weight) + self.bottom * weight
        row = np.round(column).astype(np.uint8)[:, None, :]
        return np.ascontiguousarray(np.broadcast_to(row, (canvas.height, canvas.width, 3)))


def ease_in_out(x: float) -> float:
    """Cosine easing: the camera starts and stops gently instead of jerking."""
    return 0.5 - 0.5 * math.cos(math.pi * min(max(x, 0.0), 1.0))


class KenBurns(Layer):
    """A still image filling the frame with a slow eased zoom towards `focus`.

    The image is cover-cropped and scaled once to the canvas size times the largest
    zoom, so every frame is a float crop box resampled to the canvas: no upsampling,
    and sub-pixel motion without the stair-stepping of integer crops.
    """

    def __init__(
        self,
        image: str | Path,
        span: Span,
        *,
        zoom: tuple[float, float] = (1.0, 1.12),
        focus: tuple[float, float] = (0.5, 0.5),
    ) -> None:
        if min(zoom) < 1.0:
            raise ValueError(f"zoom: got {zoom}, expected values of at least 1.0")
        if not math.isfinite(span.end):
            raise ValueError("a Ken Burns layer needs a finite span to time its zoom")
        self.image = Path(image)
        self.span = span
        self.zoom = zoom
        self.focus = focus
        self._bases: dict[Canvas, Image.Image] = {}

    def _base(self, canvas: Canvas) -> Image.Image:
        if canvas not in self._bases:
            with Image.open(self.image) as source:
                source = source.convert("RGB")
                biggest = max(self.zoom)
                size = (round(canvas.width * biggest), round(canvas.height * biggest))
                self._bases[canvas] = _cover(source, size)
        return self._bases[canvas]

    def patch(self, t: float, canvas: Canvas) -> Patch:
        base = self._base(canvas)
        progress = ease_in_out((t - self.span.start) / self.span.duration)
        zoom = self.zoom[0] + (self.zoom[1] - self.zoom[0]) * progress
        width, height = base.width / zoom, base.height / zoom
        cx = min(max(self.focus[0] * base.width, width / 2), base.width - width / 2)
        cy = min(max(self.focus[1] * base.height, height / 2), base.height - height / 2)
        box = (cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2)
        frame = base.resize((canvas.width, canvas.height), Image.Resampling.BILINEAR, box=box)
        return Patch(np.asarray(frame))


def _cover(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale and centre-crop `image` to exactly `size`, keeping its aspect."""
    scale = max(size[0] / image.width, size[1] / image.height)
    width, height = image.width * scale, image.height * scale
    left, top = (width - size[0]) / 2 / scale, (height - size[1]) / 2 / scale
    box = (left, top, left + size[0] / scale, top + size[1] / scale)
    return image.resize(size, Image.Resampling.LANCZOS, box=box)


TITLE_STYLE = TextStyle(font="display", size=84, fill="#111111", line_spacing=1.05)


class TitleCard(Layer):
    """A hook title in a rounded box near the top, fading in and out.

    The first seconds decide whether a viewer keeps watching, so the title sits in the
    safe area above the captions while the narration starts.
    """

    def __init__(
        self,
        text: str,
        span: Span = Span(0.0, 3.0),
        *,
        style: TextStyle = TITLE_STYLE,
        box: str = "#ffffff",
        box_opacity: float = 0.92,
        center_y: float = 0.22,
        max_width: float = 0.80,
        fade: float = 0.25,
    ) -> None:
        self.text = text
        self.span = span
        self.style = style
        self.box = box
        self.box_opacity = box_opacity
        self.center_y = center_y
        self.max_width = max_width
        self.fade = fade
        self._cache: dict[Canvas, Patch] = {}

    def patch(self, t: float, canvas: Canvas) -> Patch | None:
        if not self.text.strip():
            return None
        if canvas not in self._cache:
            self._cache[canvas] = self._rasterise(canvas)
        cached = self._cache[canvas]
        elapsed, remaining = t - self.span.start, self.span.end - t
        opacity = min(1.0, elapsed / self.fade, remaining / self.fade) if self.fade > 0 else 1.0
        return Patch(cached.pixels, cached.x, cached.y, opacity)

    def _rasterise(self, canvas: Canvas) -> Patch:
        padding = canvas.px(36)
        style = self.style.resized(canvas.px(self.style.size))
        max_width = round(canvas.width * self.max_width) - 2 * padding
        lines, fitted = fit(self.text, style, max_width, canvas.height // 4, max_lines=3)
        text = render_block(lines, fitted)
        card = Image.new("RGBA", (text.width + 2 * padding, text.height + 2 * padding))
        ImageDraw.Draw(card).rounded_rectangle(
            (0, 0, card.width - 1, card.height - 1),
            radius=canvas.px(28),
            fill=rgba(self.box, self.box_opacity),
        )
        card.alpha_composite(text, (padding, padding))
        x = (canvas.width - card.width) // 2
        y = round(canvas.height * self.center_y - card.height / 2)
        return Patch(np.asarray(card), x, y)


def background(spec: str, span: Span, *, zoom: float = 1.12) -> Layer:
    """The background layer a template parameter names.

    `solid:COLOUR`, `gradient:TOP,BOTTOM`, or an image reference (path, `file://`,
    `builtin:NAME`) shown with a slow Ken Burns zoom from 1.0 to `zoom`.
    """
    kind, _, value = spec.partition(":")
    try:
        if kind == "solid":
            return SolidBackground(value, span)
        if kind == "gradient":
            top, bottom = (color.strip() for color in value.split(","))
            return GradientBackground(top, bottom, span)
    except ValueError as error:
        raise ValueError(
            f"background: {spec!r} is not valid ({error}); expected 'solid:COLOUR', "
            "'gradient:TOP,BOTTOM' or an image"
        ) from error
    return KenBurns(resolve(spec, field="background"), span, zoom=(1.0, zoom))
