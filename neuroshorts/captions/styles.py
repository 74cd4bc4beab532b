"""Caption styles: how each word of a page looks at a moment of the narration.

A style only decides, for a page and a time, a *state* (which word is active, how far
its animation has run) and each word's look in that state: colour, a box behind it,
a scale. One renderer draws every style, and the caption layer caches one image per
page and state, so a style with few states costs a blend per frame, nothing more.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from neuroshorts.captions.layout import Reach
from neuroshorts.captions.look import CaptionLook
from neuroshorts.captions.paging import Page, one_word_pages


@dataclass(frozen=True)
class WordLook:
    """How one word is drawn in one state."""

    fill: str
    box: bool = False
    scale: float = 1.0


class CaptionStyle:
    """A caption style. This base draws every word in its resting colour, one image per
    page; subclasses change what varies within a page."""

    name: ClassVar[str] = "plain"
    #: Whether the spoken word stands out, so sidecars that can (ASS) time it too.
    marks_active_word: ClassVar[bool] = False
    draws_boxes: ClassVar[bool] = False
    max_scale: ClassVar[float] = 1.0

    def pages(self, pages: Sequence[Page]) -> list[Page]:
        """The pages this style shows (the `word` style shows one word at a time)."""
        return list(pages)

    def state_at(self, page: Page, t: float) -> Hashable:
        """A key for what changes within a page at `t`; equal keys share one image."""
        return None

    def looks(self, page: Page, state: Hashable, look: CaptionLook) -> list[WordLook]:
        return [WordLook(look.fill_for(word.text)) for word in page.words]

    def reach(self, look: CaptionLook) -> Reach:
        """How far this style draws beyond the glyphs, for the layout to leave room."""
        return Reach(
            box_padding=look.box_padding if self.draws_boxes else 0.0,
            shadow_offset=look.shadow_offset if look.shadow_opacity > 0 else 0.0,
            max_scale=self.max_scale,
        )


class PlainStyle(CaptionStyle):
    """`plain`: the page's words in their resting colours; nothing follows the voice."""

    name = "plain"


class KaraokeStyle(CaptionStyle):
    """`karaoke`: the word being spoken turns the active colour."""

    name = "karaoke"
    marks_active_word = True

    def state_at(self, page: Page, t: float) -> Hashable:
        return page.active_index(t)

    def looks(self, page: Page, state: Hashable, look: CaptionLook) -> list[WordLook]:
        return [
            WordLook(look.active_fill if index == state else look.fill_for(word.text))
            for index, word in enumerate(page.words)
        ]


class HighlightStyle(CaptionStyle):
    """`highlight`: a rounded box in the box colour sits behind the word being spoken."""

    name = "highlight"
    marks_active_word = True
    draws_boxes = True

    def state_at(self, page: Page, t: float) -> Hashable:
        return page.active_index(t)

    def looks(self, page: Page, state: Hashable, look: CaptionLook) -> list[WordLook]:
        return [
            WordLook(look.fill_for(word.text), box=index == state)
            for index, word in enumerate(page.words)
        ]


@dataclass(frozen=True)
class PopStyle(CaptionStyle):
    """`pop`: the spoken word takes the active colour and briefly scales up and back.

    The swell is quantised into `steps` images per word (a sine bump over `duration`
    seconds), so the animation is smooth at 30 fps yet still pre-rendered.
    """

    name: ClassVar[str] = "pop"
    marks_active_word: ClassVar[bool] = True
    max_scale: ClassVar[float] = 1.25
    duration: float = 0.24
    steps: int = 4

    def state_at(self, page: Page, t: float) -> Hashable:
        active = page.active_index(t)
        if active is None:
            return None
        elapsed = t - page.words[active].start
        step = min(self.steps, max(0, math.floor(elapsed / self.duration * self.steps)))
        return active, step

    def scale_at(self, step: int) -> float:
        """The active word's scale at an animation step: 1 at rest, `max_scale` mid-way."""
        if step >= self.steps:
            return 1.0
        return 1.0 + (self.max_scale - 1.0) * math.sin(math.pi * (step + 0.5) / self.steps)

    def looks(self, page: Page, state: Hashable, look: CaptionLook) -> list[WordLook]:
        active, step = state if isinstance(state, tuple) else (None, self.steps)
        return [
            WordLook(look.active_fill, scale=self.scale_at(step))
            if index == active
            else WordLook(look.fill_for(word.text))
            for index, word in enumerate(page.words)
        ]


class WordStyle(CaptionStyle):
    """`word`: one word at a time, each page split into its words."""

    name = "word"

    def pages(self, pages: Sequence[Page]) -> list[Page]:
        return one_word_pages(pages)


STYLES: dict[str, type[CaptionStyle]] = {
    style.name: style for style in (PlainStyle, KaraokeStyle, HighlightStyle, PopStyle, WordStyle)
}


def caption_style(name: str) -> CaptionStyle:
    """The style a template parameter names."""
    if name not in STYLES:
        raise ValueError(f"caption_style: got {name!r}, expected one of {', '.join(STYLES)}")
    return STYLES[name]()
