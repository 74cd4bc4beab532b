"""Narration: a script spoken by a voice into a WAV, with when each word is heard.

The script's words (`script.split()`, as written) are what captions show; each gets a
spoken form (numbers, abbreviations and symbols read out, see `textnorm`) that the voice
says instead, so timings stay attached to the words as written. Synthesis results are
cached by content (see `cache`), so re-rendering the same script costs a file copy.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuroshorts.audio import cache
from neuroshorts.audio.decode import write_wav
from neuroshorts.audio.speech import Voice
from neuroshorts.audio.textnorm import guess_language, spoken_forms
from neuroshorts.audio.voices import DEFAULT_VOICE, resolve_voice
from neuroshorts.audio.words import fill_and_order
from neuroshorts.output.timing import Stages
from neuroshorts.scene import AudioTrack, Word

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Narration:
    """A narration WAV and when each word of its script is heard in it."""

    path: Path
    duration: float
    words: tuple[Word, ...]
    sample_rate: int
    cached: bool = False

    def track(self) -> AudioTrack:
        """The narration as the scene model's audio track."""
        return AudioTrack(str(self.path), self.duration, self.words)


def narrate(
    script: str,
    out_wav: str | Path,
    voice: str = DEFAULT_VOICE,
    *,
    speed: float = 1.0,
    sentence_pause: float = 0.35,
    language: str | None = None,
    use_cache: bool = True,
    allow_download: bool = False,
    stages: Stages | None = None,
) -> Narration:
    """Speak `script` into `out_wav` (16-bit PCM mono) and time every word of it.

    TTS voices leave almost no gap between sentences, which sounds rushed in a short;
    `sentence_pause` seconds of silence go between sentences. `speed` > 1 speaks faster.
    `language` (default: the voice's; for a `file:` recording, guessed from the script
    between English and Spanish) picks the text normalisation and, for a recording, the
    reference voice it is aligned against. With `stages`, the time lands
    in `narration.cache` on a cache hit and in `narration.synthesis` otherwise.
    """
    words = script.split()
    if not words:
        raise ValueError(f"script: nothing to narrate in {script!r}; expected some words")
    if not 0.25 <= speed <= 4:
        raise ValueError(f"speed: {speed!r} is out of range; expected 0.25 to 4")
    if not sentence_pause >= 0:
        raise ValueError(f"sentence_pause: must be >= 0 seconds, got {sentence_pause!r}")
    speaker = resolve_voice(
        voice, language=language or guess_language(words), allow_download=allow_download
    )
    language = language or speaker.language
    spoken = spoken_forms(words, language)
    path = Path(out_wav)
    key = cache.key_for(
        {
            "spoken": spoken,
            "words": words,
            "voice": speaker.key,
            "speed": speed,
            "sentence_pause": sentence_pause,
        }
    )
    stage = stages or Stages()
    began = time.perf_counter()
    with stage("narration.cache"):
        hit = cache.load(key, path) if use_cache else None
    if hit is not None:
        logger.info(
            "narration cache hit %s: %d words (%.2f s) copied to %s in %.3f s",
            key[:12],
            len(words),
            hit["duration"],
            path,
            time.perf_counter() - began,
        )
        return _from_metadata(path, hit)
    with stage("narration.synthesis"):
        narration = _synthesize(speaker, words, spoken, path, speed, sentence_pause)
    if use_cache:
        cache.store(key, path, _metadata(narration))
    logger.info(
        "narrated %d words (%.2f s) with %s to %s in %.2f s (cache miss %s)",
        len(words),
        narration.duration,
        voice,
        path,
        time.perf_counter() - began,
        key[:12],
    )
    return narration


def _synthesize(
    speaker: Voice,
    words: Sequence[str],
    spoken: Sequence[str],
    path: Path,
    speed: float,
    pause: float,
) -> Narration:
    speech = speaker.speak(spoken, speed=speed, pause=pause)
    if not len(speech.samples):
        raise ValueError(f"script: the voice produced no speech for {' '.join(words)!r}")
    duration = speech.duration
    times = fill_and_order(speech.spans, words, duration)
    write_wav(path, speech.samples, speech.rate)
    timed = sum(span is not None for span in speech.spans)
    logger.debug("%d words timed by the voice, %d interpolated", timed, len(words) - timed)
    return Narration(
        path=path,
        duration=duration,
        words=tuple(
            Word(text, start, end) for text, (start, end) in zip(words, times, strict=True)
        ),
        sample_rate=speech.rate,
    )


def _metadata(narration: Narration) -> dict[str, Any]:
    return {
        "duration": narration.duration,
        "sample_rate": narration.sample_rate,
        "words": [[word.text, word.start, word.end] for word in narration.words],
    }


def _from_metadata(path: Path, metadata: dict[str, Any]) -> Narration:
    return Narration(
        path=path,
        duration=metadata["duration"],
        words=tuple(Word(text, start, end) for text, start, end in metadata["words"]),
        sample_rate=metadata["sample_rate"],
        cached=True,
    )
