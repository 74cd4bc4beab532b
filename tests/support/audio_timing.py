"""Reference word onsets for timing tests: measured from sound, or known by construction."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def sound_onsets(samples: np.ndarray, rate: int, *, min_gap: float = 0.1) -> np.ndarray:
    """Where sound starts after at least `min_gap` s of silence (5 ms frames, -45 dB)."""
    hop = round(0.005 * rate)
    count = len(samples) // hop
    level = 10 * np.log10(np.mean(samples[: count * hop].reshape(count, hop) ** 2, axis=1) + 1e-12)
    sounding = level > level.max() - 45
    onsets, quiet = [], np.inf
    for index, loud in enumerate(sounding):
        if loud and quiet * hop / rate >= min_gap:
            onsets.append(index * hop / rate)
        quiet = 0 if loud else quiet + 1
    return np.array(onsets)


def onset_errors_ms(starts: Sequence[float], reference: Sequence[float]) -> np.ndarray:
    assert len(starts) == len(reference)
    return np.abs(np.asarray(starts) - np.asarray(reference)) * 1000


def phrases(words: Sequence[str], longest: int = 4) -> list[list[int]]:
    """Word indices in phrases: split after punctuation or `longest` words."""
    groups: list[list[int]] = [[]]
    for index, word in enumerate(words):
        groups[-1].append(index)
        if word.endswith((",", ".", "!", "?")) or len(groups[-1]) >= longest:
            groups.append([])
    return [group for group in groups if group]
