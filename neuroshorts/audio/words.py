"""Word times that captions can trust: complete, ordered, non-empty, inside the audio.

Every voice produces a time span for most script words and None for the few it cannot
place (a dash, a word the TTS swallowed, a word the aligner lost); this turns those
partial spans into one span per word.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Shortest span a word may get: one frame at 30 fps, so every word is on screen at least
#: once even where the alignment gives it no time of its own.
MIN_WORD_SECONDS = 1 / 30

#: A word's [start, end) in seconds, or None where the voice could not place it.
Span = tuple[float, float] | None


def fill_and_order(
    spans: Sequence[Span], words: Sequence[str], duration: float
) -> list[tuple[float, float]]:
    """Word times that are complete, ordered, non-empty and inside [0, duration].

    Words without a span share the gap between their timed neighbours in proportion to
    their length, so a caption still shows them. Then every word gets at least
    `MIN_WORD_SECONDS` (less only if the narration is too short to give every word that
    much) without overlapping its neighbours.
    """
    times: list[tuple[float, float]] = []
    i = 0
    while i < len(spans):
        if (span := spans[i]) is not None:
            times.append(span)
            i += 1
            continue
        j = i
        while j < len(spans) and spans[j] is None:
            j += 1
        gap_start = times[-1][1] if times else 0.0
        following = spans[j] if j < len(spans) else None
        gap_end = following[0] if following is not None else duration
        gap_end = max(gap_end, gap_start)
        lengths = [len(w) for w in words[i:j]]
        weights = np.cumsum([0, *lengths]) / sum(lengths)
        edges = gap_start + weights * (gap_end - gap_start)
        times.extend(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))
        i = j

    shortest = min(MIN_WORD_SECONDS, duration / len(times))
    ordered: list[list[float]] = []
    previous_end = 0.0
    for start, end in times:
        start = max(start, previous_end)
        previous_end = max(end, start + shortest)
        ordered.append([start, previous_end])
    next_start = duration
    for span in reversed(ordered):
        span[1] = min(span[1], next_start)
        span[0] = max(0.0, min(span[0], span[1] - shortest))
        next_start = span[0]
    return [(start, end) for start, end in ordered]


def sentences(spoken: Sequence[str]) -> list[list[int]]:
    """Indices of the words of each sentence, split after a spoken . ! ? or …

    Splitting the *spoken* forms means "Dr." (spoken "doctor") ends no sentence.
    """
    groups: list[list[int]] = [[]]
    for index, form in enumerate(spoken):
        groups[-1].append(index)
        if form.rstrip("\"'\u201d\u2019)]").endswith((".", "!", "?", "…")):
            groups.append([])
    return [group for group in groups if group]
