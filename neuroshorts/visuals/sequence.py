"""Shots timed to the narration: the picture changes when the voice starts a new sentence.

A template lists shots (a background and an optional on-screen line); `sequence`
gives each shot a run of whole sentences, so cuts land on sentence starts instead of
mid-word, and joins the shots' backgrounds with a transition.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from neuroshorts.scene import Layer, Span, Word
from neuroshorts.visuals.overlays import TitleCard
from neuroshorts.visuals.transitions import Segments, Transition

#: A word ending with one of these ends a sentence.
SENTENCE_END = (".", "!", "?", "…", '."', '!"', '?"')


@dataclass(frozen=True)
class Shot:
    """One visual beat: a background spec (as `visuals.background` takes) and a line."""

    media: str
    text: str = ""


def sentence_spans(words: Sequence[Word], duration: float) -> list[Span]:
    """Spans of the narration's sentences, covering [0, duration) without gaps.

    Each sentence starts where its first word starts (the first at 0) and lasts until
    the next sentence starts (the last until `duration`).
    """
    starts = [0.0]
    for previous, word in pairwise(words):
        if previous.text.endswith(SENTENCE_END):
            starts.append(word.start)
    starts = [s for i, s in enumerate(starts) if i == 0 or starts[i - 1] < s < duration]
    ends = [*starts[1:], duration]
    return [Span(start, end) for start, end in zip(starts, ends, strict=True)]


def shot_spans(count: int, sentences: Sequence[Span]) -> list[Span]:
    """`count` spans of whole sentences, each boundary the sentence start nearest to
    an even split of the time; with more shots than sentences, an even split of time.
    """
    if count < 1:
        raise ValueError("shots: need at least one shot")
    duration = sentences[-1].end
    if count > len(sentences):
        step = duration / count
        return [Span(i * step, (i + 1) * step if i + 1 < count else duration) for i in range(count)]
    candidates = [span.start for span in sentences[1:]]
    bounds = [0.0]
    for i in range(1, count):
        still_needed = count - 1 - i  # boundaries to place after this one
        choices = candidates[: len(candidates) - still_needed]
        target = duration * i / count
        pick = min(choices, key=lambda start, target=target: abs(start - target))
        bounds.append(pick)
        candidates = candidates[candidates.index(pick) + 1 :]
    bounds.append(duration)
    return [Span(a, b) for a, b in pairwise(bounds)]


def sequence(
    shots: Sequence[Shot],
    words: Sequence[Word],
    duration: float,
    background: Callable[[str, Span], Layer],
    *,
    transition: Transition = "crossfade",
    transition_seconds: float = 0.5,
) -> list[Layer]:
    """The layers for `shots` timed to the sentences of `words`: backgrounds joined by
    `transition`, then each shot's line as a card during its span.

    `background` builds a layer from a spec and a span (e.g. `visuals.background`).
    """
    spans = shot_spans(len(shots), sentence_spans(words, duration))
    layers: list[Layer] = [
        Segments(
            [background(shot.media, span) for shot, span in zip(shots, spans, strict=True)],
            transition=transition,
            duration=transition_seconds,
        )
    ]
    layers += [
        TitleCard(shot.text, span)
        for shot, span in zip(shots, spans, strict=True)
        if shot.text.strip()
    ]
    return layers
