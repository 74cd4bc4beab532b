"""Free-standing shapes and text: the building blocks a designer places by hand.

The other layers are opinionated (a title card knows where a hook belongs); these two
only know a box in fractions of the frame, so a template can put a panel, a divider,
a dot or a line of text anywhere and have it land in the same place in 9:16, 1:1 and
16:9. Both rasterise once per canvas and hand out the same RGBA array every frame.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageDraw

from neuroshorts.scene import Canvas, Patch, Span, one_line
from neuroshorts.scene.typography import TextStyle, chain, fit, render_block, rgba, split_runs
from neuroshorts.visuals.overlays import Graphic
from neuroshorts.visuals.text import render_text

ShapeKind = Literal["rectangle", "rounded", "ellipse"]
SHAPES: tuple[ShapeKind, ...] = ("rectangle", "rounded", "ellipse")
TEXT_STYLE = TextStyle(size=72, stroke_width=6)


@dataclass(frozen=True)
class Box:
    """A region of the frame as fractions of its width and height (0 to 1 from top-left)."""

    x: float
    y: float
    width: float
    height: float

    def __post_init__(self) -> None:
        if not (self.width > 0 and self.height > 0):
            raise ValueError(f"box: {self!r} has no area; expected width and height above 0")

    def pixels(self, canvas: Canvas) -> tuple[int, int, int, int]:
        """(x, y, width, height) on `canvas`, at least one pixel each way."""
        return (
            round(self.x * canvas.width),
            round(self.y * canvas.height),
            max(1, round(self.width * canvas.width)),
            max(1, round(self.height * canvas.height)),
        )


class Shape(Graphic):
    """A filled rectangle, rounded rectangle or ellipse, with an optional outline.

    `radius` and `outline_width` are design pixels (short side 1080), so corners keep
    their look when the canvas is scaled for a draft.
    """

    def __init__(
        self,
        kind: ShapeKind,
        box: Box,
        span: Span = Span(),
        *,
        fill: str = "#ffffff",
        opacity: float = 1.0,
        radius: float = 32,
        outline: str | None = None,
        outline_width: float = 0,
        fade: float = 0.0,
    ) -> None:
        if kind not in SHAPES:
            raise ValueError(f"shape: {kind!r} is not one of {', '.join(SHAPES)}")
        super().__init__(span, fade, opacity)
        rgba(fill)
        if outline is not None:
            rgba(outline)
        self.kind, self.box, self.fill, self.radius = kind, box, fill, radius
        self.outline, self.outline_width = outline, outline_width

    @property
    def label(self) -> str:
        return f"{self.kind} {self.fill}"

    def draw(self, canvas: Canvas) -> Patch:
        x, y, width, height = self.box.pixels(canvas)
        art = Image.new("RGBA", (width, height))
        draw = ImageDraw.Draw(art)
        outline = rgba(self.outline) if self.outline else None
        line = canvas.px(self.outline_width) if outline else 0
        corners = (0, 0, width - 1, height - 1)
        if self.kind == "ellipse":
            draw.ellipse(corners, fill=rgba(self.fill), outline=outline, width=line)
        elif self.kind == "rounded":
            radius = min(canvas.px(self.radius), width // 2, height // 2)
            draw.rounded_rectangle(
                corners, radius=radius, fill=rgba(self.fill), outline=outline, width=line
            )
        else:
            draw.rectangle(corners, fill=rgba(self.fill), outline=outline, width=line)
        return Patch(np.asarray(art), x, y)


class TextLayer(Graphic):
    """A user-written line of text in a box, wrapped and shrunk to fit it.

    `text` is a jinja2 template filled with `context` in the same sandbox as every
    user-facing text (`render_text`), so "{{ n }} tips" from an API request stays data.
    The style's size is in design pixels; the text is centred in `box` and shrinks
    until it fits `max_lines` lines inside it.
    """

    def __init__(
        self,
        text: str,
        box: Box,
        span: Span = Span(),
        *,
        context: Mapping[str, Any] | None = None,
        style: TextStyle = TEXT_STYLE,
        max_lines: int = 3,
        fade: float = 0.0,
        field: str = "text",
    ) -> None:
        super().__init__(span, fade)
        self.text = render_text(text, context, field=field)
        split_runs(self.text, chain(style), field=field)  # an undrawable character fails here
        self.box, self.style, self.max_lines = box, style, max_lines

    @property
    def label(self) -> str:
        return one_line(self.text)

    def draw(self, canvas: Canvas) -> Patch | None:
        if not self.text.strip():
            return None
        x, y, width, height = self.box.pixels(canvas)
        style = self.style.resized(canvas.px(self.style.size))
        lines, fitted = fit(self.text, style, width, height, max_lines=self.max_lines)
        art = render_block(lines, fitted)
        return Patch(
            np.asarray(art),
            x + (width - art.width) // 2,
            y + (height - art.height) // 2,
        )
