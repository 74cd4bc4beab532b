"""Caption layout: a page's words placed in one or two balanced lines that fit a box.

Fitting wraps first and shrinks second: a page goes on one line if it fits, else on
lines of near-equal width (a short line over a long one reads as a pyramid, not as a
stray word), and only when no wrap fits does the font shrink. The layout's box covers
everything a style may draw (highlight boxes, a popped-up word, the shadow), so a
caption image that fits the safe area never spills a pixel out of it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from neuroshorts.scene.typography import ShapedText, load_font, shape

#: Smallest font size tried before giving up: below it a caption is unreadable anyway.
MIN_SIZE = 6


@dataclass(frozen=True)
class Reach:
    """How far a style draws beyond the glyphs' ink, in ems of the font size."""

    box_padding: float = 0.0
    shadow_offset: float = 0.0
    max_scale: float = 1.0

    def margin(self, size: int) -> int:
        """Pixels to keep around the words for the shadow's offset and blur."""
        offset = self.shadow_offset * size
        return math.ceil(offset + 2 * shadow_blur(size, self.shadow_offset)) + 2


def shadow_blur(size: int, shadow_offset: float) -> float:
    """The shadow's blur radius: half its offset, so it reads as soft depth, not a smear."""
    return shadow_offset * size / 2


Box = tuple[float, float, float, float]


def grow(box: Box, pad: float = 0.0, scale: float = 1.0) -> Box:
    """`box` padded by `pad` on every side, then scaled by `scale` about its centre."""
    x0, y0, x1, y1 = box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hw, hh = (x1 - x0) * scale / 2, (y1 - y0) * scale / 2
    return cx - hw, cy - hh, cx + hw, cy + hh


@dataclass(frozen=True)
class PlacedWord:
    """One word's shaped text and pen origin (on its baseline) inside the caption image."""

    index: int
    text: ShapedText
    x: float
    baseline: float
    line: int = 0

    @property
    def ink(self) -> Box:
        left, top, right, bottom = self.text.bbox
        return self.x + left, self.baseline + top, self.x + right, self.baseline + bottom


@dataclass(frozen=True)
class PageLayout:
    """Where each word of a page goes, and the caption image's size."""

    words: tuple[PlacedWord, ...]
    size: int
    stroke_width: int
    width: int
    height: int
    lines: int


def fit_page(
    tokens: Sequence[str],
    fonts: Sequence[str],
    *,
    size: int,
    stroke_width: int,
    line_spacing: float,
    max_lines: int,
    reach: Reach,
    max_width: int,
    max_height: int,
) -> PageLayout:
    """Lay `tokens` out in the fewest balanced lines that fit, shrinking only if none do.

    `stroke_width` is the outline at `size` and shrinks with the font. Raises
    `GlyphError` for a character no font draws and `ValueError` if even `MIN_SIZE`
    pixels do not fit the box.
    """
    current = size
    while current >= MIN_SIZE:
        stroke = round(stroke_width * current / size)
        shaped = [shape(token, fonts, current, stroke, field="captions") for token in tokens]
        for lines in range(1, min(max_lines, len(tokens)) + 1):
            layout = _place(shaped, fonts[0], current, stroke, line_spacing, lines, reach)
            if layout.width <= max_width and layout.height <= max_height:
                return layout
        current = min(current - 1, math.floor(current * 0.94))
    raise ValueError(
        f"caption {' '.join(tokens)!r} does not fit a {max_width}x{max_height} px safe area "
        f"even at {MIN_SIZE} px; widen the safe area or shorten the page"
    )


def balanced_lines(advances: Sequence[float], space: float, lines: int) -> list[range]:
    """Split words (by advance width) into `lines` lines of the most even width.

    Ties go to the split whose lower lines are longer: a pyramid reads best.
    """
    count = len(advances)
    best: tuple[float, list[float]] | None = None
    best_split: list[range] = [range(count)]
    for cuts in itertools.combinations(range(1, count), lines - 1):
        bounds = [0, *cuts, count]
        split = [range(a, b) for a, b in itertools.pairwise(bounds)]
        widths = [sum(advances[i] for i in part) + space * (len(part) - 1) for part in split]
        key = (max(widths), [-w for w in reversed(widths)])
        if best is None or key < best:
            best, best_split = key, split
    return best_split


def _place(
    shaped: Sequence[ShapedText],
    primary_font: str,
    size: int,
    stroke: int,
    line_spacing: float,
    lines: int,
    reach: Reach,
) -> PageLayout:
    font = load_font(primary_font, size)
    ascent, descent = font.getmetrics()
    line_height = (ascent + descent) * line_spacing
    space = font.getlength(" ")
    pad = reach.box_padding * size
    advances = [text.advance for text in shaped]
    split = balanced_lines(advances, space, lines)
    placed: list[PlacedWord] = []
    boxes: list[Box] = []
    for line, part in enumerate(split):
        # A highlight box reaches `pad` past its word: widen the gaps by half of it so
        # the box keeps clear of its neighbours without the line looking loose.
        gap = space + pad / 2
        width = sum(advances[i] for i in part) + gap * (len(part) - 1)
        baseline = line * line_height
        pen = -width / 2
        for i in part:
            word = PlacedWord(i, shaped[i], pen, baseline, line)
            placed.append(word)
            boxes.append(grow(word.ink, pad, reach.max_scale))
            pen += advances[i] + gap
        # A popped word pushes its line apart (see `spread`); the font's ascent and
        # descent keep the baseline still from page to page whatever the letters.
        growth = (reach.max_scale - 1) * max(_ink_width(w) for w in placed[-len(part) :])
        boxes.append(
            (
                -width / 2 - growth / 2 - pad,
                baseline - ascent,
                width / 2 + growth / 2 + pad,
                baseline + descent,
            )
        )
    margin = reach.margin(size)
    left = math.floor(min(box[0] for box in boxes)) - margin
    top = math.floor(min(box[1] for box in boxes)) - margin
    right = math.ceil(max(box[2] for box in boxes)) + margin
    bottom = math.ceil(max(box[3] for box in boxes)) + margin
    words = tuple(
        PlacedWord(word.index, word.text, word.x - left, word.baseline - top, word.line)
        for word in placed
    )
    return PageLayout(words, size, stroke, right - left, bottom - top, len(split))


def _ink_width(word: PlacedWord) -> float:
    return word.text.bbox[2] - word.text.bbox[0]
