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
from typing import Literal

from fontTools.ttLib import TTFont
from PIL import Image, ImageColor, ImageDraw, ImageFont

from neuroshorts.errors import GlyphError, Refused
from neuroshorts.media.policy import LOCAL, Policy

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
        return Path(str(files("neuroshorts").joinpath("data", "fonts", FONTS[name])))
    try:
        # A font file is a local file like any asset: a service that refuses those refuses it.
        Policy.from_env().check_scheme(LOCAL)
    except Refused as refused:
        raise ValueError(f"font {name!r} is a local file: {refused}") from None
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


#: Capitals that rise above Lato's ascent; every line gets room for them.
ACCENTED = "ÁÉÍÓÚÑÂÊÔÅ"


def chain(style: TextStyle) -> tuple[str, ...]:
    """The fonts a style draws with: its own face, then the bundled emoji."""
    return (style.font,) if style.font == "emoji" else (style.font, "emoji")


def text_width(text: str, style: TextStyle) -> float:
    """How far `text` advances in `style`, emoji included."""
    return shape(text, chain(style), style.size).advance


def wrap(text: str, style: TextStyle, max_width: int) -> list[str]:
    """Greedy word wrap; a single word wider than the box stays on its own line."""
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and text_width(candidate, style) <= max_width:
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
        lines = wrap(text, scaled, max_width - 2 * scaled.stroke_width)
        width, height = block_size(lines, scaled)
        fits = len(lines) <= max_lines and width <= max_width and height <= max_height
        if fits or size <= floor:
            return lines, scaled
        size = max(floor, int(size * 0.96))


def _line_metrics(style: TextStyle) -> tuple[int, int, int]:
    """(top, bottom, pitch) of one line: headroom over the baseline for accented
    capitals and the outline, room under it, and the distance between baselines."""
    font = load_font(style.font, style.size)
    ascent, descent = font.getmetrics()
    top = max(ascent, -font.getbbox(ACCENTED, anchor="ls")[1]) + style.stroke_width
    return top, descent + style.stroke_width, round((ascent + descent) * style.line_spacing)


def block_size(lines: list[str], style: TextStyle) -> tuple[int, int]:
    """The size `render_block` draws `lines` at, without drawing them."""
    top, bottom, pitch = _line_metrics(style)
    widths = [_ink(line, style)[1] for line in lines]
    return max(widths, default=0), top + bottom + pitch * max(len(lines) - 1, 0)


def _ink(text: str, style: TextStyle) -> tuple[ShapedText, int, float]:
    shaped = shape(text, chain(style), style.size, style.stroke_width)
    left, _, right, _ = shaped.bbox
    return shaped, max(math.ceil(right - left), 1), left


def line_image(text: str, style: TextStyle) -> Image.Image:
    """One line of outlined text (emoji in colour) on an RGBA image as tall as a line.

    Lato's accented capitals (Á, Ú, Ñ) rise above its ascent, where a block sized by the
    font's metrics cuts them off; every line gets the same headroom, so a stack of lines
    keeps an even pitch whether or not a line has accents.
    """
    top, bottom, _ = _line_metrics(style)
    shaped, width, left = _ink(text, style)
    image = Image.new("RGBA", (width, top + bottom))
    draw_shaped(image, (-left, top), shaped, rgba(style.fill), rgba(style.stroke))
    return image


def lines_image(
    lines: list[str], style: TextStyle, align: Literal["center", "left"] = "center"
) -> Image.Image:
    """Lines stacked at the style's line spacing, centred or flush left."""
    images = [line_image(line, style) for line in lines] or [Image.new("RGBA", (1, 1))]
    gap = _line_metrics(style)[2] - images[0].height
    return stack(images, [gap] * (len(images) - 1), align)


def render_block(lines: list[str], style: TextStyle) -> Image.Image:
    """Centred lines of outlined text on a transparent, tightly sized RGBA image."""
    return lines_image(lines, style, "center")


def stack(
    parts: list[Image.Image], gaps: list[int], align: Literal["center", "left"] = "center"
) -> Image.Image:
    """Images stacked top to bottom, `gaps[i]` pixels after part i, centred or flush left."""
    width = max(part.width for part in parts)
    height = sum(part.height for part in parts) + sum(gaps)
    out = Image.new("RGBA", (width, height))
    y = 0
    for index, part in enumerate(parts):
        x = (width - part.width) // 2 if align == "center" else 0
        out.alpha_composite(part, (x, y))
        y += part.height + (gaps[index] if index < len(gaps) else 0)
    return out


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
        if char.isspace() and runs and not font_info(runs[-1].font).bitmap_size:
            font = runs[-1].font  # a space after emoji is set in the text face, not as wide
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
