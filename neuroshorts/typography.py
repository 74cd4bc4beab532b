"""Fonts and text rasterising shared by captions and titles.

Both the subtitle and the visuals engine draw outlined text that must fit a box; doing
the wrapping and shrinking in one place keeps their metrics identical, and rasterising
to a tight RGBA image lets the compositor blend only the text's bounding box.

Captions also mix scripts in one line (a Spanish word, an emoji, a CJK name), so text
can be split into runs, each drawn with the first font of a chain whose character map
covers it. A character no font covers is an error, never a silent tofu box.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from fontTools.ttLib import TTFont
from PIL import Image, ImageColor, ImageDraw, ImageFont

#: Bundled OFL faces: a heavy display face for captions and titles, a text face for body copy.
FONTS = {
    "display": "Lato-Black.ttf",
    "text": "Lato-Regular.ttf",
    # Colour bitmap emoji (CBDT): Pillow draws it only at its strike size, so runs in it
    # are drawn at that size and scaled to the text's size.
    "emoji": "NotoColorEmoji-Basic.ttf",
}

#: Characters drawn as nothing, which the bundled fonts need not map: joiners and the
#: emoji/text presentation selectors (emoji sequences are drawn as their parts).
IGNORABLE = frozenset({0x200C, 0x200D, 0xFE0E, 0xFE0F})

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


@lru_cache(maxsize=256)
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


class GlyphError(ValueError):
    """A character that none of the fonts in a chain can draw."""


@dataclass(frozen=True)
class FontInfo:
    """What a font file can draw: its mapped code points, and its bitmap strike if any."""

    codepoints: frozenset[int]
    bitmap_size: int | None


@lru_cache(maxsize=32)
def font_info(name: str) -> FontInfo:
    """Read a font's character map with fontTools (the first face of a collection)."""
    with TTFont(font_path(name), fontNumber=0, lazy=True) as font:
        codepoints = frozenset(font.getBestCmap() or {})
        bitmap_size = None
        if "CBLC" in font:
            bitmap_size = font["CBLC"].strikes[0].bitmapSizeTable.ppemY
    return FontInfo(codepoints, bitmap_size)


@dataclass(frozen=True)
class Run:
    """A stretch of text drawn with one font."""

    font: str
    text: str


def split_runs(text: str, fonts: Sequence[str], *, field: str = "text") -> tuple[Run, ...]:
    """Split `text` into runs, each in the first of `fonts` that maps all its characters.

    Raises `GlyphError` naming the character when no font maps it, so a missing CJK
    font is reported instead of drawn as empty boxes.
    """
    runs: list[Run] = []
    for char in unicodedata.normalize("NFC", text):
        codepoint = ord(char)
        if codepoint in IGNORABLE:
            continue
        if char.isspace() and runs:
            font = runs[-1].font
        else:
            font = next((f for f in fonts if codepoint in font_info(f).codepoints), "")
        if not font:
            name = unicodedata.name(char, "unnamed character")
            raise GlyphError(
                f"{field}: no font can draw {char!r} (U+{codepoint:04X} {name}) in {text!r}; "
                f"tried {', '.join(fonts)}; name a font that covers it as a fallback font"
            )
        if runs and runs[-1].font == font:
            runs[-1] = Run(font, runs[-1].text + char)
        else:
            runs.append(Run(font, char))
    return tuple(runs)


def _run_font(run: Run, size: int) -> tuple[ImageFont.FreeTypeFont, float]:
    """The Pillow font for a run at `size`, and the factor from its pixels to `size`."""
    strike = font_info(run.font).bitmap_size
    if strike:
        return load_font(run.font, strike), size / strike
    return load_font(run.font, size), 1.0


@dataclass(frozen=True)
class ShapedText:
    """Text split into font runs and measured at one size, ready to draw.

    `bbox` is the ink box (left, top, right, bottom) relative to the pen origin on the
    baseline, outline included; `advance` is where the next word's pen starts.
    """

    runs: tuple[Run, ...]
    size: int
    stroke_width: int
    advance: float
    bbox: tuple[float, float, float, float]

    def resized(self, size: int, stroke_width: int) -> ShapedText:
        """The same runs measured at another size (a word popping up, say)."""
        return measure(self.runs, size, stroke_width)


def shape(
    text: str, fonts: Sequence[str], size: int, stroke_width: int = 0, *, field: str = "text"
) -> ShapedText:
    """Split `text` into runs over the font chain `fonts` and measure it at `size`.

    `field` names the input the text came from, for the error a missing glyph raises.
    """
    return measure(split_runs(text, fonts, field=field), size, stroke_width)


def measure(runs: tuple[Run, ...], size: int, stroke_width: int = 0) -> ShapedText:
    """Measure font runs at `size`: their advance and ink box."""
    pen = 0.0
    left = top = math.inf
    right = bottom = -math.inf
    for run in runs:
        font, factor = _run_font(run, size)
        stroke = stroke_width if factor == 1.0 else 0
        x0, y0, x1, y1 = font.getbbox(run.text, stroke_width=stroke, anchor="ls")
        left, right = min(left, pen + x0 * factor), max(right, pen + x1 * factor)
        top, bottom = min(top, y0 * factor), max(bottom, y1 * factor)
        pen += font.getlength(run.text) * factor
    if not runs:
        left = top = right = bottom = 0.0
    return ShapedText(runs, size, stroke_width, pen, (left, top, right, bottom))


def draw_shaped(
    image: Image.Image,
    origin: tuple[float, float],
    text: ShapedText,
    fill: RGBA,
    stroke_fill: RGBA,
) -> None:
    """Draw `text` onto the RGBA `image` with its pen origin on the baseline at `origin`.

    Outline fonts are drawn directly with their outline; bitmap (emoji) runs are drawn at
    their strike size and scaled, in their own colours and without an outline.
    """
    pen, baseline = origin
    draw = ImageDraw.Draw(image)
    for run in text.runs:
        font, factor = _run_font(run, text.size)
        if factor == 1.0:
            draw.text(
                (pen, baseline),
                run.text,
                font=font,
                fill=fill,
                anchor="ls",
                stroke_width=text.stroke_width,
                stroke_fill=stroke_fill,
            )
        else:
            _draw_bitmap_run(image, (pen, baseline), run.text, font, factor)
        pen += font.getlength(run.text) * factor


def _draw_bitmap_run(
    image: Image.Image,
    origin: tuple[float, float],
    text: str,
    font: ImageFont.FreeTypeFont,
    factor: float,
) -> None:
    x0, y0, x1, y1 = font.getbbox(text, anchor="ls")
    if x1 <= x0 or y1 <= y0:
        return
    glyphs = Image.new("RGBA", (x1 - x0, y1 - y0), (0, 0, 0, 0))
    ImageDraw.Draw(glyphs).text((-x0, -y0), text, font=font, anchor="ls", embedded_color=True)
    size = (max(1, round(glyphs.width * factor)), max(1, round(glyphs.height * factor)))
    scaled = glyphs.resize(size, Image.Resampling.LANCZOS)
    left = math.ceil(origin[0] + x0 * factor)
    top = math.ceil(origin[1] + y0 * factor)
    paste_clipped(image, scaled, left, top)


def paste_clipped(base: Image.Image, over: Image.Image, x: int, y: int) -> None:
    """Alpha-composite `over` onto `base` at (x, y), dropping what falls outside `base`."""
    left, top = max(x, 0), max(y, 0)
    right, bottom = min(x + over.width, base.width), min(y + over.height, base.height)
    if left >= right or top >= bottom:
        return
    crop = over.crop((left - x, top - y, right - x, bottom - y))
    base.alpha_composite(crop, (left, top))
