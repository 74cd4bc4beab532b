"""Caption paging: spoken words → pages, the groups of words shown together.

A viewer reads a page in one glance, so a page is short (a few words, a few dozen
characters, a couple of seconds), never straddles a clause or a pause, and stays up
until the next page starts so captions do not flicker between words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from neuroshorts.scene import Word

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

    def active_index(self, t: float) -> int | None:
        """The word being spoken at `t`: the one whose span contains `t`.

        Between two words the word just spoken stays active, so a highlight does not
        blink off during the short gaps of natural speech; before the page or after it,
        no word is active.
        """
        if not self.start <= t < self.end:
            return None
        active = None
        for index, word in enumerate(self.words):
            if word.start <= t:
                active = index
        return active


def paginate(
    words: Sequence[Word],
    *,
    max_words: int = 3,
    max_chars: int = 18,
    max_duration: float = 3.0,
    max_gap: float = 0.6,
    linger: float = 0.4,
) -> list[Page]:
    """Group words into pages of 1..`max_words` words; a word is never split.

    A page closes at `max_words`, before it would exceed `max_chars` characters or last
    longer than `max_duration` seconds, after clause punctuation, or before a pause
    longer than `max_gap`. Each page stays up until the next one starts; across a long
    pause it lingers `linger` seconds and then clears.
    """
    if max_words < 1:
        raise ValueError(f"max_words must be at least 1, got {max_words}")
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {max_chars}")
    if max_duration <= 0:
        raise ValueError(f"max_duration must be positive seconds, got {max_duration}")
    groups: list[list[Word]] = []
    for word in words:
        if not groups or _closes(groups[-1], word, max_words, max_chars, max_duration, max_gap):
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


def _closes(
    group: list[Word],
    word: Word,
    max_words: int,
    max_chars: int,
    max_duration: float,
    max_gap: float,
) -> bool:
    last = group[-1]
    chars = sum(len(w.text) + 1 for w in group) + len(word.text)
    return (
        len(group) >= max_words
        or chars > max_chars
        or word.end - group[0].start > max_duration
        or last.text.endswith(BREAK_AFTER)
        or word.start - last.end > max_gap
    )


def one_word_pages(pages: Sequence[Page]) -> list[Page]:
    """Each page split into pages of one word, each up until the next word starts."""
    singles = []
    for page in pages:
        for index, word in enumerate(page.words):
            following = page.words[index + 1].start if index + 1 < len(page.words) else page.end
            start = page.start if index == 0 else word.start
            singles.append(Page((word,), start, max(following, start + 1e-3)))
    return singles
