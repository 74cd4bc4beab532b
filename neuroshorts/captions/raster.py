"""The one caption renderer: a page layout and its words' looks → an RGBA image.

Every style goes through here, so outline, shadow and boxes look the same whichever
style a template picks. A page is drawn back to front: boxes, the text's soft shadow,
then the outlined text. Each word is rasterised once per look (colour, scale) as a
small tile, so a new state of a page (the next active word, the next step of a pop)
costs a few tile blends, not text layout. A word's soft shadow is blurred once per size
and is shared by its colours: it is made from the tile's alpha alone, which the word's
colour changes only through its opacity.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from neuroshorts.captions.layout import PageLayout, PlacedWord, Reach, grow, shadow_blur
from neuroshorts.captions.look import CaptionLook
from neuroshorts.captions.styles import WordLook
from neuroshorts.scene.typography import ShapedText, draw_shaped, paste_clipped, rgba


@dataclass(frozen=True)
class _Tile:
    """One word drawn in one look, and where its top-left corner goes on the page."""

    text: Image.Image
    x: int
    y: int
    shadow: Image.Image | None = None
    shadow_x: int = 0
    shadow_y: int = 0


class PageRenderer:
    """Draws one laid-out page in any state, reusing each word's tiles across states."""

    def __init__(self, layout: PageLayout, look: CaptionLook, reach: Reach) -> None:
        self.layout = layout
        self.look = look
        self.reach = reach
        self._tiles: dict[tuple[int, str, float], _Tile] = {}
        self._shadows: dict[tuple[int, float, int], tuple[Image.Image, int]] = {}

    def render(self, looks: Sequence[WordLook]) -> np.ndarray:
        """The HxWx4 straight-alpha caption image of the page with these word looks."""
        layout, look = self.layout, self.look
        image = Image.new("RGBA", (layout.width, layout.height), (0, 0, 0, 0))
        draw = ImageDraw.Draw(image)
        pad = self.reach.box_padding * layout.size
        shifts = spread(layout, looks)
        tiles = []
        for word, word_look, shift in zip(layout.words, looks, shifts, strict=True):
            if word_look.box:
                x0, y0, x1, y1 = grow(word.ink, pad, word_look.scale)
                draw.rounded_rectangle(
                    (x0 + shift, y0, x1 + shift, y1),
                    radius=pad * 1.2,
                    fill=rgba(look.box, look.box_opacity),
                )
            tiles.append((self._tile(word, word_look), shift))
        for tile, shift in tiles:
            if tile.shadow is not None:
                paste_clipped(image, tile.shadow, tile.shadow_x + shift, tile.shadow_y)
        for tile, shift in tiles:
            paste_clipped(image, tile.text, tile.x + shift, tile.y)
        return np.asarray(image)

    def _tile(self, word: PlacedWord, word_look: WordLook) -> _Tile:
        key = (word.index, word_look.fill, word_look.scale)
        if key not in self._tiles:
            self._tiles[key] = self._draw_tile(word, word_look)
        return self._tiles[key]

    def _draw_tile(self, word: PlacedWord, word_look: WordLook) -> _Tile:
        shaped, (pen_x, pen_y) = _scaled(word, word_look.scale, self.layout)
        left, top, right, bottom = shaped.bbox
        x, y = math.floor(pen_x + left) - 1, math.floor(pen_y + top) - 1
        width = math.ceil(pen_x + right) + 1 - x
        height = math.ceil(pen_y + bottom) + 1 - y
        text = Image.new("RGBA", (max(width, 1), max(height, 1)), (0, 0, 0, 0))
        draw_shaped(
            text, (pen_x - x, pen_y - y), shaped, rgba(word_look.fill), rgba(self.look.outline)
        )
        if self.reach.shadow_offset <= 0:
            return _Tile(text, x, y)
        key = (word.index, word_look.scale, rgba(word_look.fill)[3])
        if key not in self._shadows:
            self._shadows[key] = _shadow(text, self.look, self.layout.size)
        shadow, margin = self._shadows[key]
        offset = round(self.look.shadow_offset * self.layout.size)
        return _Tile(text, x, y, shadow, x - margin + offset, y - margin + offset)


def spread(layout: PageLayout, looks: Sequence[WordLook]) -> list[int]:
    """Horizontal shifts that make room on its line for a word drawn larger than laid out.

    Words before the grown word move left and words after it right, each by half its
    growth (whole pixels, so their tiles are reused), so the line widens symmetrically
    and no outline overlaps a neighbour.
    """
    shifts = [0] * len(layout.words)
    for grown, look in zip(layout.words, looks, strict=True):
        if look.scale == 1.0:
            continue
        left, _, right, _ = grown.text.bbox
        half = round((look.scale - 1) * (right - left) / 2)
        for index, word in enumerate(layout.words):
            if word.line == grown.line and word.index != grown.index:
                shifts[index] += -half if word.x < grown.x else half
    return shifts


def _scaled(
    word: PlacedWord, scale: float, layout: PageLayout
) -> tuple[ShapedText, tuple[float, float]]:
    """The word's text at `scale`, with the pen origin that keeps its ink centred."""
    if scale == 1.0:
        return word.text, (word.x, word.baseline)
    shaped = word.text.resized(round(layout.size * scale), round(layout.stroke_width * scale))
    x0, y0, x1, y1 = word.ink
    left, top, right, bottom = shaped.bbox
    pen_x = (x0 + x1) / 2 - (left + right) / 2
    pen_y = (y0 + y1) / 2 - (top + bottom) / 2
    return shaped, (pen_x, pen_y)


def _shadow(text: Image.Image, look: CaptionLook, size: int) -> tuple[Image.Image, int]:
    """A soft shadow of `text`'s ink, with the margin its blur needs on every side."""
    blur = shadow_blur(size, look.shadow_offset)
    margin = math.ceil(2 * blur) + 1
    alpha = text.getchannel("A").point(lambda a: round(a * look.shadow_opacity))
    shadow = Image.new("RGBA", (text.width + 2 * margin, text.height + 2 * margin))
    tinted = Image.new("RGBA", text.size, (*rgba(look.shadow)[:3], 0))
    tinted.putalpha(alpha)
    shadow.paste(tinted, (margin, margin))
    return shadow.filter(ImageFilter.GaussianBlur(blur)), margin
