"""espeak-ng: the light offline fallback voice, with dozens of languages (Spanish too).

It is driven through libespeak-ng (Debian package `espeak-ng`) with ctypes rather than
the command line, because the library reports a WORD event with the sample position
where each word starts: exact word times for free, no alignment needed. Each event
carries the character offset of its word in the text we passed, which maps it back to
the script word whose spoken form contains it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from neuroshorts.audio.speech import Speech, silence
from neuroshorts.audio.words import Span, sentences
from neuroshorts.errors import VoiceError

logger = logging.getLogger(__name__)

INSTALL_HINT = "install the Debian package: apt-get install espeak-ng"

_SYNCHRONOUS = 2  # espeak_AUDIO_OUTPUT: samples delivered to our callback, no sound card
_CHARACTER_POSITIONS = 1  # espeak_POSITION_TYPE
_UTF8 = 1  # espeakCHARS_UTF8
_RATE = 1  # espeak_PARAMETER: words per minute
_WORD_EVENT, _END_OF_LIST = 1, 0
_DEFAULT_WORDS_PER_MINUTE = 175
_TAIL_SECONDS = 0.05


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


class _VoiceEntry(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


class _Library:
    """The initialised libespeak-ng; one per process, used under a lock (it is global state)."""

    def __init__(self) -> None:
        name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        try:
            self.lib = ctypes.CDLL(name)
        except OSError as error:
            raise VoiceError(
                f"voice: espeak-ng is not installed ({error}); {INSTALL_HINT}"
            ) from None
        self.rate = self.lib.espeak_Initialize(_SYNCHRONOUS, 0, None, 0)
        if self.rate <= 0:
            raise VoiceError(f"voice: espeak-ng failed to initialise; {INSTALL_HINT}")
        self.lock = threading.Lock()
        self._samples: list[np.ndarray] = []
        self._events: list[tuple[int, int]] = []
        self._callback = _Callback(self._collect)  # kept alive: C holds the pointer
        self.lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav: Any, count: int, events: Any) -> int:
        """The synthesis callback: keep the samples and the WORD events; 0 = go on."""
        index = 0
        while events[index].type != _END_OF_LIST:
            event = events[index]
            if event.type == _WORD_EVENT:
                # `sample` is the word's first sample within this utterance.
                self._events.append((event.text_position - 1, event.sample))
            index += 1
        if count > 0:
            self._samples.append(np.ctypeslib.as_array(wav, (count,)).copy())
        return 0

    def voice_names(self) -> set[str]:
        """Every name a voice answers to: its languages ("es", "es-419"), its identifier
        ("roa/es") and its display name, lower-cased.

        espeak_SetVoiceByName accepts any string (it falls back to a default voice), so
        a misspelt voice would speak the wrong language silently; check names here.
        """
        self.lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_VoiceEntry))
        entries = self.lib.espeak_ListVoices(None)
        names: set[str] = set()
        index = 0
        while entries[index]:
            entry = entries[index].contents
            names.update(n.decode().lower() for n in (entry.name, entry.identifier) if n)
            # `languages` is a list of (priority byte, NUL-terminated name), ending in 0.
            address = entry.languages
            while address and ctypes.c_ubyte.from_address(address).value:
                language = ctypes.string_at(address + 1)
                names.add(language.decode().lower())
                address += len(language) + 2
            index += 1
        return names

    def synthesize(
        self, text: str, voice: str, words_per_minute: int
    ) -> tuple[np.ndarray, list[tuple[int, int]]]:
        """int16 samples of `text` and (character offset, sample) of each word's start."""
        encoded = text.encode()
        with self.lock:
            self._samples, self._events = [], []
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise VoiceError(f"voice: espeak-ng has no voice {voice!r}")
            self.lib.espeak_SetParameter(_RATE, words_per_minute, 0)
            status = self.lib.espeak_Synth(
                encoded, len(encoded) + 1, 0, _CHARACTER_POSITIONS, 0, _UTF8, None, None
            )
            self.lib.espeak_Synchronize()
            if status != 0:
                raise RuntimeError(f"espeak-ng failed with status {status} on {text!r}")
            samples = np.concatenate(self._samples) if self._samples else np.zeros(0, np.int16)
            return samples, list(self._events)


@functools.cache
def _library() -> _Library:
    return _Library()


class EspeakNarrator:
    """An espeak-ng voice such as `en`, `en-us` or `es`, sentence by sentence."""

    def __init__(self, name: str) -> None:
        if name.lower() not in _library().voice_names():
            raise VoiceError(
                f"voice: espeak-ng has no voice {name!r}; expected a language such as "
                "'espeak:en' or 'espeak:es' (list them with `espeak-ng --voices`)"
            )
        self.name = name
        self.language = name
        self.key = f"espeak:{name}"

    def speak(self, spoken: Sequence[str], *, speed: float, pause: float) -> Speech:
        library = _library()
        rate = library.rate
        words_per_minute = round(_DEFAULT_WORDS_PER_MINUTE * speed)
        pieces: list[np.ndarray] = []
        spans: list[Span] = [None] * len(spoken)
        offset = 0
        for sentence in sentences(spoken):
            text, owners = _text_with_owners([spoken[i] for i in sentence])
            samples, events = library.synthesize(text, self.name, words_per_minute)
            if pieces:
                pieces.append(silence(pause, rate))
                offset += len(pieces[-1])
            # espeak pads the end of an utterance by a varying amount: cut it to a fixed
            # tail, so the pause between sentences is what `pause` says.
            speech_end = _last_sound(samples)
            samples = samples[: speech_end + round(_TAIL_SECONDS * rate)]
            pieces.append(samples.astype(np.float32) / 32768)
            starts: dict[int, int] = {}
            for position, sample in events:
                if 0 <= position < len(owners) and owners[position] >= 0:
                    starts.setdefault(sentence[owners[position]], sample)
            ordered = sorted(starts.items(), key=lambda item: item[1])
            for (word, start), following in zip(ordered, [*ordered[1:], None], strict=True):
                end = following[1] if following else max(speech_end, start + 1)
                spans[word] = ((offset + start) / rate, (offset + end) / rate)
            offset += len(samples)
        audio = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
        return Speech(audio, rate, spans)


def _text_with_owners(forms: Sequence[str]) -> tuple[str, list[int]]:
    """The sentence text and, per character, which of `forms` it came from (-1 for spaces)."""
    owners: list[int] = []
    for index, form in enumerate(forms):
        if owners:
            owners.append(-1)
        owners.extend([index] * len(form))
    return " ".join(forms), owners


def _last_sound(samples: np.ndarray, threshold: int = 300) -> int:
    """The sample after the last one above `threshold`: where trailing silence begins."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > threshold)
    return int(loud[-1]) + 1 if len(loud) else len(samples)
