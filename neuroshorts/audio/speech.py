"""What every voice hands back: samples and where each script word sits in them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from neuroshorts.audio.words import Span


@dataclass(frozen=True)
class Speech:
    """Mono float32 samples in [-1, 1] and one span (or None) per script word."""

    samples: np.ndarray
    rate: int
    spans: list[Span]

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate


class Voice(Protocol):
    """A way to speak: TTS engines and brought recordings alike.

    `key` identifies everything that changes the audio (engine, model, file contents), so
    the narration cache can tell two voices apart; `language` drives text normalisation.
    """

    key: str
    language: str

    def speak(self, spoken: Sequence[str], *, speed: float, pause: float) -> Speech:
        """Say each spoken form in order, `pause` seconds between sentences."""
        ...


def silence(seconds: float, rate: int) -> np.ndarray:
    return np.zeros(round(seconds * rate), dtype=np.float32)
