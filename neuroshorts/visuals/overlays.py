"""Things drawn over the background: title hook, end card, logo, stickers, progress bar.

Each overlay rasterises its artwork once per canvas size and hands out the same RGBA
array every frame (the compositor converts it once); only position and opacity change
over time. Sizes are in design pixels (short side 1080) or fractions of the frame, so
one template lays out alike in 9:16, 1:1 and 16:9.
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw

from neuroshorts.scene import Canvas, Layer, Patch, Span, one_line
from neuroshorts.scene.planes import Planes
from neuroshorts.scene.typography import TextStyle, fit, render_block, rgba

Anchor = Literal["top-left", "top-right", "bottom-left", "bottom-right", "center"]

TITLE_STYLE = TextStyle(font="display", size=84, fill="#111111", line_spacing=1.05)


def fade_opacity(span: Span, t: float, fade: float) -> float:
    """1 inside the span, ramping linearly over `fade` seconds at both ends."""
    if fade <= 0:
        return 1.0
    return max(0.0, min(1.0, (t - span.start) / fade, (span.end - t) / fade))


class Graphic(Layer):
    """Artwork drawn once per canvas, then only faded in and out over its span.

    Subclasses say what to draw (`draw`); the cache, the fade and the overall
    `opacity` live here, so every overlay costs a blend per frame and nothing more.
    """

    def __init__(self, span: Span, fade: float = 0.0, opacity: float = 1.0) -> None:
        if not 0.0 <= opacity <= 1.0:
            raise ValueError(f"opacity: {opacity!r} is out of range; expected 0 to 1")
        self.span, self.fade, self.opacity = span, fade, opacity
        self._cache: dict[Canvas, Patch | None] = {}

    def patch(self, t: float, canvas: Canvas) -> Patch | None:
        if canvas not in self._cache:
            self._cache[canvas] = self.draw(canvas)
        cached = self._cache[canvas]
        if cached is None:
            return None
        opacity = self.opacity * fade_opacity(self.span, t, self.fade)
        return Patch(cached.pixels, cached.x, cached.y, opacity)

    @abstractmethod
    def draw(self, canvas: Canvas) -> Patch | None:
        """The artwork and where it goes on `canvas`; None draws nothing."""


class TitleCard(Graphic):
    """A hook title in a rounded box, fading in and out.

    The first seconds decide whether a viewer keeps watching, so by default the title
    sits in the upper safe area above the captions while the narration starts.
    """

    headline = True

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
        super().__init__(span, fade)
        self.text = text
        self.style = style
        self.box = box
        self.box_opacity = box_opacity
        self.center_y = center_y
        self.max_width = max_width

    @property
    def label(self) -> str:
        return one_line(self.text)

    def draw(self, canvas: Canvas) -> Patch | None:
        if not self.text.strip():
            return None
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


class EndCard(TitleCard):
    """The call to action at the end ("Follow for part 2"), centred in the frame."""

    headline = False

    def __init__(self, text: str, span: Span, *, center_y: float = 0.45, **options) -> None:
        super().__init__(text, span, center_y=center_y, **options)


class ImageOverlay(Graphic):
    """An image (logo, sticker, PNG with alpha) at a corner or the centre, aspect kept.

    `width` is a fraction of the frame's short side; `margin` is in design pixels.
    """

    def __init__(
        self,
        image: str | Path,
        span: Span = Span(),
        *,
        width: float = 0.3,
        anchor: Anchor = "center",
        margin: float = 48,
        opacity: float = 1.0,
        fade: float = 0.0,
    ) -> None:
        super().__init__(span, fade, opacity)
        self.image, self.width, self.anchor, self.margin = Path(image), width, anchor, margin

    @property
    def label(self) -> str:
        return self.image.name

    def draw(self, canvas: Canvas) -> Patch:
        with Image.open(self.image) as source:
            art = source.convert("RGBA")
        width = max(1, round(min(canvas.width, canvas.height) * self.width))
        height = max(1, round(art.height * width / art.width))
        art = art.resize((width, height), Image.Resampling.LANCZOS)
        margin = canvas.px(self.margin)
        x, y = (canvas.width - width) // 2, (canvas.height - height) // 2
        if self.anchor != "center":
            vertical, horizontal = self.anchor.split("-")
            x = margin if horizontal == "left" else canvas.width - width - margin
            y = margin if vertical == "top" else canvas.height - height - margin
        return Patch(np.asarray(art), x, y)


class Watermark(ImageOverlay):
    """A logo in a corner for the whole short, semi-transparent."""

    def __init__(
        self,
        image: str | Path,
        span: Span = Span(),
        *,
        width: float = 0.16,
        anchor: Anchor = "top-right",
        opacity: float = 0.8,
        **options,
    ) -> None:
        super().__init__(image, span, width=width, anchor=anchor, opacity=opacity, **options)


class ProgressBar(Layer):
    """A thin bar along the top or bottom edge that fills as the short plays.

    The filled part is a slice of one bar converted once, so a bar that grows every
    frame costs a copy of its pixels, not a conversion.
    """

    def __init__(
        self,
        span: Span,
        *,
        color: str = "#ffffff",
        height: float = 12,
        edge: Literal["top", "bottom"] = "bottom",
    ) -> None:
        if edge not in ("top", "bottom"):
            raise ValueError(f"edge: {edge!r} is not one of top, bottom")
        self.span, self.color, self.height, self.edge = span, color, height, edge
        self._bars: dict[Canvas, Planes] = {}

    def patch(self, t: float, canvas: Canvas) -> Patch | None:
        if canvas not in self._bars:
            height = max(2, 2 * round(canvas.px(self.height) / 2))
            pixels = np.full((height, canvas.width, 3), rgba(self.color)[:3], dtype=np.uint8)
            self._bars[canvas] = Planes.from_rgb(pixels)
        bar = self._bars[canvas]
        done = min(max((t - self.span.start) / self.span.duration, 0.0), 1.0)
        width = 2 * round(canvas.width * done / 2)
        if width == 0:
            return None
        filled = Planes(bar.y[:, :width], bar.u[:, : width // 2], bar.v[:, : width // 2])
        y = 0 if self.edge == "top" else canvas.height - bar.height
        return Patch(filled, 0, y)
