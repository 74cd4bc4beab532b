"""Subtitle engine: word timings → caption pages → an outlined caption layer and SRT.

Shorts are watched muted as often as not, so captions carry the script: short pages of
one to three words that change with the voice, drawn large inside the part of the 9:16
frame that the platforms' buttons and descriptions never cover.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuroshorts.files import write_text_atomic
from neuroshorts.scene import Canvas, Layer, Patch, Span, Word
from neuroshorts.typography import TextStyle, fit, render_block

#: Punctuation after which a page ends, so a page never straddles a clause.
BREAK_AFTER = tuple(".,;:!?…")


@dataclass(frozen=True)
class Page:
    """Words shown together, and the time the page is on screen."""

    words: tuple[Word, ...]
    start: float
    end: float

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)


def paginate(
    words: Sequence[Word],
    *,
    max_words: int = 3,
    max_chars: int = 18,
    max_gap: float = 0.6,
    linger: float = 0.4,
) -> list[Page]:
    """Group words into pages of 1..`max_words` words.

    A page closes at `max_words`, before it would exceed `max_chars`, after clause
    punctuation, or before a pause longer than `max_gap`. Each page stays up until the
    next one starts, so captions do not flicker between words; across a long pause it
    lingers `linger` seconds and then clears.
    """
    if max_words < 1:
        raise ValueError(f"max_words must be at least 1, got {max_words}")
    groups: list[list[Word]] = []
    for word in words:
        if not groups or _closes(groups[-1], word, max_words, max_chars, max_gap):
            groups.append([])
        groups[-1].append(word)
    pages = []
    for index, group in enumerate(groups):
        last_end = group[-1].end
        end = last_end + linger
        if index + 1 < len(groups):
            next_start = groups[index + 1][0].start
            end = next_start if next_start - last_end <= max_gap else min(end, next_start)
        pages.append(Page(tuple(group), group[0].start, max(end, last_end)))
    return pages


def _closes(group: list[Word], word: Word, max_words: int, max_chars: int, max_gap: float) -> bool:
    last = group[-1]
    chars = sum(len(w.text) + 1 for w in group) + len(word.text)
    return (
        len(group) >= max_words
        or chars > max_chars
        or last.text.endswith(BREAK_AFTER)
        or word.start - last.end > max_gap
    )


@dataclass(frozen=True)
class SafeArea:
    """Fractions of the frame kept clear of platform UI (top, bottom, left, right).

    The 9:16 default clears TikTok's and Shorts' top bar, the description and the
    button column at the bottom right; captions centred in the remaining box stay
    readable on all three platforms.
    """

    top: float = 0.10
    bottom: float = 0.22
    left: float = 0.10
    right: float = 0.10

    def box(self, canvas: Canvas) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of the safe rectangle in canvas pixels."""
        return (
            round(canvas.width * self.left),
            round(canvas.height * self.top),
            round(canvas.width * (1 - self.right)),
            round(canvas.height * (1 - self.bottom)),
        )


SAFE_9_16 = SafeArea()

CAPTION_STYLE = TextStyle(font="display", size=96, fill="white", stroke="black", stroke_width=9)


class CaptionLayer(Layer):
    """Caption pages drawn in the safe area, each rasterised once per canvas size.

    `center_y` is the vertical centre of the caption block as a fraction of the
    frame height; the block is moved up or down as needed to stay inside `safe`.
    """

    def __init__(
        self,
        pages: Sequence[Page],
        style: TextStyle = CAPTION_STYLE,
        *,
        center_y: float = 0.64,
        safe: SafeArea = SAFE_9_16,
        max_lines: int = 2,
    ) -> None:
        self.pages = list(pages)
        self.style = style
        self.center_y = center_y
        self.safe = safe
        self.max_lines = max_lines
        self._starts = [page.start for page in self.pages]
        self._cache: dict[tuple[int, Canvas], Patch] = {}
        end = self.pages[-1].end if self.pages else 0.001
        self.span = Span(0.0, max(end, 0.001))

    def _index_at(self, t: float) -> int | None:
        index = bisect.bisect_right(self._starts, t) - 1
        if index >= 0 and t < self.pages[index].end:
            return index
        return None

    def page_at(self, t: float) -> Page | None:
        """The page on screen at `t`, if any: what a preview shows as caption text."""
        index = self._index_at(t)
        return None if index is None else self.pages[index]

    def patch(self, t: float, canvas: Canvas) -> Patch | None:
        index = self._index_at(t)
        if index is None:
            return None
        key = (index, canvas)
        if key not in self._cache:
            self._cache[key] = self._rasterise(self.pages[index], canvas)
        return self._cache[key]

    def _rasterise(self, page: Page, canvas: Canvas) -> Patch:
        x0, y0, x1, y1 = self.safe.box(canvas)
        style = self.style.resized(canvas.px(self.style.size))
        lines, fitted = fit(page.text, style, x1 - x0, y1 - y0, self.max_lines)
        image = render_block(lines, fitted)
        x = (x0 + x1 - image.width) // 2
        y = round(canvas.height * self.center_y - image.height / 2)
        y = min(max(y, y0), y1 - image.height)
        return Patch(np.asarray(image), x, y)


def _timestamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


def to_srt(pages: Sequence[Page]) -> str:
    """SubRip text with one cue per page, for platforms' own caption tracks."""
    cues = [
        f"{number}\n{_timestamp(page.start)} --> {_timestamp(page.end)}\n{page.text}\n"
        for number, page in enumerate(pages, start=1)
    ]
    return "\n".join(cues)


def write_srt(pages: Sequence[Page], path: str | Path) -> Path:
    return write_text_atomic(path, to_srt(pages))
