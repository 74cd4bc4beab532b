"""Narration the user brings (`file:PATH`): their recording, timed against its script.

The recording is decoded by the bundled ffmpeg (WAV, MP3, M4A, ...) and the script is
aligned to it by DTW against a reading of the same text by one of our own voices whose
word times are known (see `align`): Piper for English, espeak-ng for other languages.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from neuroshorts.audio.align import align, pause_boundaries
from neuroshorts.audio.decode import decode
from neuroshorts.audio.speech import Speech, Voice, silence
from neuroshorts.audio.words import Span
from neuroshorts.media.assets import resolve

logger = logging.getLogger(__name__)

#: Brought narration is kept at this rate: enough for speech, and what the mix runs at.
RATE = 48_000
#: Share of word boundaries with a pause above which speech counts as word by word.
_WORD_BY_WORD = 0.5


class BroughtNarration:
    """A recording of the script, with the voice that reads the reference for alignment."""

    def __init__(self, reference: str, language: str, reference_voice: Callable[[], Voice]) -> None:
        self.path = resolve(reference, field="voice")
        self.samples = decode(self.path, RATE, field="voice")
        self.language = language
        self._reference_voice = reference_voice
        digest = hashlib.sha256(Path(self.path).read_bytes()).hexdigest()[:16]
        self.key = f"file:{digest}:{language}"

    def speak(self, spoken: Sequence[str], *, speed: float, pause: float) -> Speech:
        """The recording as it is (speed and pause are the speaker's); words by alignment.

        A fluent reading places the words and shows where the speaker paused. A speaker
        who pauses after most words says them like citation forms, not fluent speech:
        then the script is read again in the speaker's own phrases (each alone) and
        aligned once more. Measured on words joined by pauses, this took the p95 onset
        error from 130-600 ms to about 55 ms; on fluent phrases it did not help (and
        with another voice than the reference sometimes hurt), so it is kept for
        word-by-word speech.
        """
        if speed != 1.0:
            logger.warning("speed %s ignored: a brought recording plays as recorded", speed)
        voice = self._reference_voice()
        spans = align(self.samples, RATE, voice.speak(spoken, speed=1.0, pause=pause))
        breaks = pause_boundaries(self.samples, RATE, spans)
        word_by_word = len(breaks) >= _WORD_BY_WORD * (len(spoken) - 1)
        if word_by_word:
            spans = align(self.samples, RATE, _read_in_phrases(voice, spoken, breaks, pause))
        logger.info(
            "aligned %d words of %s by DTW against a %s reading (%d pauses)",
            len(spoken),
            self.path,
            "phrase by phrase" if word_by_word else "fluent",
            len(breaks),
        )
        return Speech(self.samples, RATE, spans)


def _read_in_phrases(
    voice: Voice, spoken: Sequence[str], breaks: Sequence[int], pause: float
) -> Speech:
    """`spoken` read phrase by phrase (a phrase ends after each index in `breaks`)."""
    pieces: list[np.ndarray] = []
    spans: list[Span] = []
    offset, rate = 0.0, 0
    edges = [0, *(k + 1 for k in breaks), len(spoken)]
    for start, end in itertools.pairwise(edges):
        phrase = voice.speak(spoken[start:end], speed=1.0, pause=pause)
        rate = phrase.rate
        if pieces:
            pieces.append(silence(pause, rate))
            offset += len(pieces[-1]) / rate
        pieces.append(phrase.samples)
        spans += [None if s is None else (s[0] + offset, s[1] + offset) for s in phrase.spans]
        offset += phrase.duration
    return Speech(np.concatenate(pieces), rate, spans)
