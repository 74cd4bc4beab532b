"""edge-tts: Microsoft's online neural voices (optional extra `online`; needs the network).

Word times come from the service's WordBoundary events. Their texts are the service's
own tokens, so they are matched to our spoken forms in order with difflib, and each
event's time goes to the script word whose spoken form holds that token.
"""

from __future__ import annotations

import difflib
import re
import tempfile
from collections.abc import Sequence

import numpy as np

from neuroshorts.audio.decode import decode
from neuroshorts.audio.speech import Speech
from neuroshorts.audio.words import Span
from neuroshorts.errors import VoiceError

RATE = 24_000
_TICKS_PER_SECOND = 10_000_000  # boundary offsets are in 100 ns units


class EdgeNarrator:
    """An edge-tts voice such as `en-US-GuyNeural` or `es-ES-AlvaroNeural`."""

    def __init__(self, name: str) -> None:
        try:
            import edge_tts  # noqa: F401 - only checking that the extra is installed
        except ImportError:
            raise VoiceError(
                f"voice: 'edge:{name}' needs the online extra: pip install 'neuroshorts[online]'"
            ) from None
        if not name:
            raise VoiceError("voice: 'edge:' needs a voice name such as 'edge:en-US-GuyNeural'")
        self.name = name
        self.language = name.split("-")[0]
        self.key = f"edge:{name}"

    def speak(self, spoken: Sequence[str], *, speed: float, pause: float) -> Speech:
        """One request for the whole text; the service places its own sentence pauses."""
        import edge_tts

        rate = f"{round((speed - 1) * 100):+d}%"
        communicate = edge_tts.Communicate(
            " ".join(spoken), self.name, rate=rate, boundary="WordBoundary"
        )
        audio = bytearray()
        boundaries: list[tuple[str, float, float]] = []
        for chunk in communicate.stream_sync():
            if chunk["type"] == "audio":
                audio.extend(chunk["data"])
            elif chunk["type"] == "WordBoundary":
                start = chunk["offset"] / _TICKS_PER_SECOND
                boundaries.append(
                    (chunk["text"], start, start + chunk["duration"] / _TICKS_PER_SECOND)
                )
        samples = _decode_mp3(bytes(audio))
        return Speech(samples, RATE, _spans_from_boundaries(spoken, boundaries))


def _decode_mp3(data: bytes) -> np.ndarray:
    with tempfile.NamedTemporaryFile(suffix=".mp3") as mp3:
        mp3.write(data)
        mp3.flush()
        return decode(mp3.name, RATE, field="voice")


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _spans_from_boundaries(
    spoken: Sequence[str], boundaries: Sequence[tuple[str, float, float]]
) -> list[Span]:
    expected: list[str] = []
    owner: list[int] = []
    for index, form in enumerate(spoken):
        for token in _tokens(form):
            expected.append(token)
            owner.append(index)
    heard: list[str] = []
    times: list[tuple[float, float]] = []
    for text, start, end in boundaries:
        for token in _tokens(text):
            heard.append(token)
            times.append((start, end))
    spans: list[Span] = [None] * len(spoken)
    matcher = difflib.SequenceMatcher(None, expected, heard, autojunk=False)
    for a, b, size in matcher.get_matching_blocks():
        for k in range(size):
            index, (start, end) = owner[a + k], times[b + k]
            span = spans[index]
            spans[index] = (start if span is None else span[0], end)
    return spans
