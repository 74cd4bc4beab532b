"""Scenes timed to the narration: the picture changes when the voice starts a new sentence.

A template lists scenes (a background and an optional on-screen line); `sequence`
gives each scene a run of whole sentences, so cuts land on sentence starts instead of
mid-word, and joins the scenes' backgrounds with a transition.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from neuroshorts.engines.visuals.overlays import TitleCard
from neuroshorts.engines.visuals.transitions import Segments, Transition
from neuroshorts.scene import Layer, Span, Word

#: A word ending with one of these ends a sentence.
SENTENCE_END = (".", "!", "?", "…", '."', '!"', '?"')


@dataclass(frozen=True)
class Scene:
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


def scene_spans(count: int, sentences: Sequence[Span]) -> list[Span]:
    """`count` spans of whole sentences, each boundary the sentence start nearest to
    an even split of the time; with more scenes than sentences, an even split of time.
    """
    if count < 1:
        raise ValueError("scenes: need at least one scene")
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
    scenes: Sequence[Scene],
    words: Sequence[Word],
    duration: float,
    background: Callable[[str, Span], Layer],
    *,
    transition: Transition = "crossfade",
    transition_seconds: float = 0.5,
) -> list[Layer]:
    """The layers for `scenes` timed to the sentences of `words`: backgrounds joined by
    `transition`, then each scene's line as a card during its span.

    `background` builds a layer from a spec and a span (e.g. `visuals.background`).
    """
    spans = scene_spans(len(scenes), sentence_spans(words, duration))
    layers: list[Layer] = [
        Segments(
            [background(scene.media, span) for scene, span in zip(scenes, spans, strict=True)],
            transition=transition,
            duration=transition_seconds,
        )
    ]
    layers += [
        TitleCard(scene.text, span)
        for scene, span in zip(scenes, spans, strict=True)
        if scene.text.strip()
    ]
    return layers
