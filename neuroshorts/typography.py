"""Fonts and text rasterising shared by captions and titles.

Both the subtitle and the visuals engine draw outlined text that must fit a box; doing
the wrapping and shrinking in one place keeps their metrics identical, and rasterising
to a tight RGBA image lets the compositor blend only the text's bounding box.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from PIL import Image, ImageColor, ImageDraw, ImageFont

#: Bundled OFL faces: a heavy display face for captions and titles, a text face for body copy.
FONTS = {
    "display": "Lato-Black.ttf",
    "text": "Lato-Regular.ttf",
}

RGBA = tuple[int, int, int, int]


def font_path(name: str) -> Path:
    """A bundled font by role (`display`, `text`) or a path to any TTF/OTF file."""
    if name in FONTS:
        return Path(str(files("neuroshorts").joinpath("assets", "fonts", FONTS[name])))
    path = Path(name)
    if not path.is_file():
        raise ValueError(
            f"font {name!r} is neither a bundled font ({', '.join(FONTS)}) nor an existing file"
        )
    return path


@lru_cache(maxsize=64)
def load_font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(name)), size)


def rgba(color: str, opacity: float = 1.0) -> RGBA:
    """Parse a CSS-style colour (`#ffcc00`, `white`, `rgb(...)`) into an RGBA tuple."""
    try:
        r, g, b, *a = ImageColor.getrgb(color)
    except ValueError as error:
        raise ValueError(
            f"colour {color!r} is not a CSS colour like '#ffcc00' or 'white'"
        ) from error
    alpha = a[0] if a else 255
    return r, g, b, round(alpha * opacity)


@dataclass(frozen=True)
class TextStyle:
    """How a block of text looks, in canvas pixels."""

    font: str = "display"
    size: int = 80
    fill: str = "white"
    stroke: str = "black"
    stroke_width: int = 0
    line_spacing: float = 1.1

    def resized(self, size: int) -> TextStyle:
        """The same look at another font size; the outline keeps its proportion."""
        stroke = round(self.stroke_width * size / self.size) if self.size else 0
        return replace(self, size=size, stroke_width=stroke)


def wrap(text: str, font: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    """Greedy word wrap; a single word wider than the box stays on its own line."""
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and font.getlength(candidate) <= max_width:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines


def fit(
    text: str, style: TextStyle, max_width: int, max_height: int, max_lines: int = 3
) -> tuple[list[str], TextStyle]:
    """Wrap `text`, shrinking the font until it fits the box in at most `max_lines` lines.

    Shrinking happens in 4% steps down to a third of the requested size, which keeps a
    long word readable instead of letting it run off the frame.
    """
    size = style.size
    floor = max(8, style.size // 3)
    while True:
        scaled = style.resized(size)
        font = load_font(style.font, size)
        lines = wrap(text, font, max_width - 2 * scaled.stroke_width)
        width, height = block_size(lines, scaled)
        fits = len(lines) <= max_lines and width <= max_width and height <= max_height
        if fits or size <= floor:
            return lines, scaled
        size = max(floor, int(size * 0.96))


def block_size(lines: list[str], style: TextStyle) -> tuple[int, int]:
    font = load_font(style.font, style.size)
    ascent, descent = font.getmetrics()
    line_height = round((ascent + descent) * style.line_spacing)
    boxes = (font.getbbox(line, stroke_width=style.stroke_width) for line in lines)
    width = max((right - left for left, _, right, _ in boxes), default=0)
    height = line_height * (len(lines) - 1) + ascent + descent + 2 * style.stroke_width
    return width, height


def render_block(lines: list[str], style: TextStyle) -> Image.Image:
    """Centred lines of outlined text on a transparent, tightly sized RGBA image."""
    font = load_font(style.font, style.size)
    width, height = block_size(lines, style)
    ascent, descent = font.getmetrics()
    line_height = round((ascent + descent) * style.line_spacing)
    image = Image.new("RGBA", (max(width, 1), max(height, 1)), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(lines):
        draw.text(
            (width / 2, style.stroke_width + index * line_height),
            line,
            font=font,
            fill=rgba(style.fill),
            stroke_width=style.stroke_width,
            stroke_fill=rgba(style.stroke),
            anchor="ma",
        )
    return image
