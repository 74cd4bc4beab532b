"""Loudness mastering: hit a platform's integrated loudness without clipping its codec.

Loudness is measured, not assumed: ITU-R BS.1770-4 integrated loudness, and true peak as
the sample peak of a 4x oversampled signal (BS.1770's method), both in numpy alone so a
render's kernel does not pay scipy's import. Speech has a high peak-to-loudness ratio,
so reaching -14 LUFS under a -1 dBTP ceiling needs a limiter; it is a look-ahead gain
rider that never lets an oversampled peak through.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from neuroshorts.audio import truepeak
from neuroshorts.audio.loudness import integrated_loudness

logger = logging.getLogger(__name__)

#: The limiter aims this far under the requested ceiling: the AAC encode that follows
#: overshoots peaks by a few tenths of a dB.
_CODEC_HEADROOM_DB = 0.5
_LIMITER_WINDOW = 0.008  # seconds of look-ahead (and gain smoothing) of the limiter


@dataclass(frozen=True)
class Loudness:
    """Integrated loudness (LUFS) and true peak (dBTP) of a signal."""

    integrated: float
    true_peak: float


def measure(samples: np.ndarray, rate: int) -> Loudness:
    """BS.1770 integrated loudness and 4x-oversampled true peak of (n,) or (n, ch) samples."""
    data = samples if samples.ndim == 2 else samples[:, None]
    return Loudness(integrated_loudness(data, rate), _decibels(truepeak.highest(data)))


def master(
    samples: np.ndarray, rate: int, *, loudness: float = -14.0, true_peak: float = -1.0
) -> tuple[np.ndarray, Loudness]:
    """`samples` at `loudness` LUFS with true peaks at most `true_peak` dBTP, and what
    was measured on the result.

    Limiting lowers loudness by an amount that grows with the gain, so the gain is found
    by the secant method on (gain, loudness reached): each try limits the mix once at
    that gain and measures it. The first try assumes the limiter takes nothing. On the
    reference short that needs three tries where stepping by each shortfall needed four.
    """
    data = np.asarray(samples if samples.ndim == 2 else samples[:, None], dtype=np.float32)
    ceiling = 10 ** ((true_peak - _CODEC_HEADROOM_DB) / 20)
    integrated = integrated_loudness(data, rate)
    if not np.isfinite(integrated):
        raise ValueError("audio: nothing to master, the mix is silent")
    gain, slope, tried = loudness - integrated, 1.0, None
    for _ in range(6):
        limited = _limit(data * np.float32(10 ** (gain / 20)), rate, ceiling)
        reached = integrated_loudness(limited, rate)
        if abs(reached - loudness) < 0.1:
            break
        if tried is not None and gain != tried[0]:
            # Loudness rises by at most the gain, and always rises: keep the slope so.
            slope = min(max((reached - tried[1]) / (gain - tried[0]), 0.1), 1.0)
        tried = (gain, reached)
        gain += (loudness - reached) / slope
    data, integrated = limited, reached
    result = Loudness(integrated, _decibels(truepeak.highest(data)))
    if result.true_peak > true_peak:  # gain moved between samples: one more, lower pass
        data = _limit(data, rate, ceiling * 10 ** (-0.5 / 20))
        result = measure(data, rate)
    if abs(result.integrated - loudness) > 0.5:
        logger.warning(
            "mastering reached %.2f LUFS, not %.2f: the ceiling of %.1f dBTP leaves no room",
            result.integrated,
            loudness,
            true_peak,
        )
    logger.debug("mastered to %.2f LUFS, %.2f dBTP", result.integrated, result.true_peak)
    return np.ascontiguousarray(data if samples.ndim == 2 else data[:, 0]), result


def _limit(data: np.ndarray, rate: int, ceiling: float) -> np.ndarray:
    """Lower the gain around every oversampled peak above `ceiling`, smoothly, in place.

    The required gain per sample is min(1, ceiling / peak). A running minimum over the
    window followed by a moving average of the same width gives a smooth gain that is
    never above the requirement at any sample, so no peak escapes: each average spans
    only minima of windows that hold the sample itself.
    """
    peaks = truepeak.per_sample(data, ceiling)
    required = np.divide(ceiling, np.maximum(peaks, 1e-12, out=peaks), out=peaks)  # in place
    np.minimum(required, 1.0, out=required)
    if required.min() >= 1.0:
        return data
    width = 2 * round(_LIMITER_WINDOW * rate / 2) + 1
    gain = _moving_average(_running_minimum(required, width), width)
    # The moving average may exceed the minimum by float rounding: keep the guarantee.
    data *= np.minimum(gain, required, out=gain).astype(data.dtype)[:, None]
    return data


def _running_minimum(values: np.ndarray, width: int) -> np.ndarray:
    """Minimum over the `width` (odd) samples centred on each, edges extended.

    van Herk/Gil-Werman: in blocks of `width`, a window is the suffix of one block and
    the prefix of the next, so two running minima and one comparison cover every window.
    """
    padded = np.pad(values, width // 2, mode="edge")
    blocks = -(-len(padded) // width)
    grid = np.full(blocks * width, np.inf, dtype=values.dtype)
    grid[: len(padded)] = padded
    rows = grid.reshape(blocks, width)
    suffix = np.empty_like(rows)
    np.minimum.accumulate(rows[:, ::-1], axis=1, out=suffix[:, ::-1])
    prefix = np.minimum.accumulate(rows, axis=1, out=rows).reshape(-1)  # rows are done with
    low = suffix.reshape(-1)[: len(values)]
    return np.minimum(low, prefix[width - 1 : width - 1 + len(values)], out=low)


def _moving_average(values: np.ndarray, width: int) -> np.ndarray:
    """Mean over the `width` (odd) samples centred on each, edges mirrored, as float64:
    running sums, each window's the difference of two (computed in place, as the
    mastering's largest arrays are these)."""
    sums = np.cumsum(np.pad(values, width // 2, mode="symmetric"), dtype=np.float64)
    means = sums[width - 1 :].copy()
    means[1:] -= sums[: len(values) - 1]
    means /= width
    return means


def _decibels(value: float) -> float:
    return float(20 * np.log10(max(value, 1e-12)))
