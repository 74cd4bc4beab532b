"""Forced alignment without a model: time a known script in a recording by DTW.

We cannot transcribe offline without downloading a model, but we can *say* the script
ourselves with a voice whose word times we know. Dynamic time warping of the two
recordings' log-mel spectra (numpy/scipy only) then maps every reference
instant to the matching instant of the recording, and so carries the known word times
over. It assumes the recording says the script, in order; pauses of any length are fine.
Its accuracy, by voice and by kind of recording: docs/decisions/audio-figures.md.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Sequence

import numpy as np

from neuroshorts.audio.speech import Speech
from neuroshorts.audio.words import Span

logger = logging.getLogger(__name__)

FEATURE_RATE = 16_000
_WINDOW = 400  # 25 ms at 16 kHz
_FFT = 512
_MEL_BANDS = 30
#: Frames this far below the loudest one are pauses, left out of the warp: pause lengths
#: differ freely between a recording and our reading, and would otherwise drag onsets.
_SILENCE_BELOW_PEAK_DB = 45
#: How far (in sounding frames, 10 ms each) a word edge may move to meet a pause.
_SNAP_FRAMES = 3
#: Silence this long (s) in the recording is a pause no word straddles; shorter gaps
#: may be a stop's closure inside a word.
_PAUSE = 0.1
#: Largest DTW matrix we build (two of them, float32: about 100 MB); longer audio gets
#: a coarser hop.
_MAX_CELLS = 12_000_000


def features(samples: np.ndarray, rate: int, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame log-mel spectra (frames x bands) and which frames hold sound.

    Each band is normalised to zero mean and unit variance over the sounding frames of
    its recording, which removes much of the difference in timbre and level between two
    voices. Log-mel beat cepstra (MFCC) here: with a recording by another voice than our
    reference, cepstra put the median onset error near 60 ms and the worst near 1 s,
    log-mel near 45 ms and 90 ms.
    """
    # Imported here, not at the top: scipy.signal costs ~1.6 s at every render's start.
    from scipy.signal import resample_poly

    gcd = math.gcd(rate, FEATURE_RATE)
    audio = resample_poly(samples.astype(np.float64), FEATURE_RATE // gcd, rate // gcd)
    audio = np.append(audio[0], audio[1:] - 0.97 * audio[:-1])  # pre-emphasis
    padded = np.pad(audio, (_WINDOW // 2, _WINDOW // 2 + hop))
    count = max(1, (len(padded) - _WINDOW) // hop)
    frames = np.lib.stride_tricks.sliding_window_view(padded, _WINDOW)[::hop][:count]
    power = np.abs(np.fft.rfft(frames * np.hanning(_WINDOW), n=_FFT)) ** 2
    energy = np.log10(power.sum(axis=1) + 1e-10)
    sounding = energy > energy.max() - _SILENCE_BELOW_PEAK_DB / 10
    mel = np.log(power @ _mel_filters(_FFT, FEATURE_RATE) + 1e-10)
    voiced = mel[sounding] if sounding.any() else mel
    normalised = (mel - voiced.mean(axis=0)) / (voiced.std(axis=0) + 1e-8)
    return normalised.astype(np.float32), sounding


def _mel_filters(fft_size: int, rate: int) -> np.ndarray:
    """Triangular mel filters, (fft_size // 2 + 1) x _MEL_BANDS."""

    def to_mel(hz: np.ndarray) -> np.ndarray:
        return 2595 * np.log10(1 + hz / 700)

    edges_mel = np.linspace(
        to_mel(np.array(60.0)), to_mel(np.array(rate / 2 - 200)), _MEL_BANDS + 2
    )
    edges = 700 * (10 ** (edges_mel / 2595) - 1)
    bins = np.linspace(0, rate / 2, fft_size // 2 + 1)
    filters = np.zeros((len(bins), _MEL_BANDS))
    for band in range(_MEL_BANDS):
        low, centre, high = edges[band : band + 3]
        rising = (bins - low) / (centre - low)
        falling = (high - bins) / (high - centre)
        filters[:, band] = np.clip(np.minimum(rising, falling), 0, None)
    return filters


def warp_path(reference: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The DTW path (pairs of reference frame, target frame) from start to end.

    Symmetric steps: a diagonal step pays its cell twice, a vertical or horizontal one
    once, so no path is favoured for being short. Each row of the accumulated cost is one
    vectorised pass: the horizontal recursion D[j] = min(A[j], D[j-1] + c[j]) is a running
    minimum over prefix sums, so no Python loop runs over cells.
    """
    cost = _distances(reference, target)
    rows = cost.shape[0]
    total = np.empty_like(cost)
    prefix = np.cumsum(cost[0])
    total[0] = prefix
    for i in range(1, rows):
        above, here = total[i - 1], cost[i]
        arrive = above + here
        arrive[1:] = np.minimum(arrive[1:], above[:-1] + 2 * here[1:])
        prefix = np.cumsum(here)
        total[i] = np.minimum.accumulate(arrive - prefix) + prefix
    return _backtrack(total, cost)


def _distances(reference: np.ndarray, target: np.ndarray) -> np.ndarray:
    squared = (
        (reference**2).sum(axis=1)[:, None]
        + (target**2).sum(axis=1)[None, :]
        - 2 * reference @ target.T
    )
    return np.sqrt(np.clip(squared, 0, None)).astype(np.float32)


def _backtrack(total: np.ndarray, cost: np.ndarray) -> np.ndarray:
    i, j = total.shape[0] - 1, total.shape[1] - 1
    path = [(i, j)]
    while i > 0 or j > 0:
        if i == 0:
            j -= 1
        elif j == 0:
            i -= 1
        else:
            here = cost[i, j]
            options = (total[i - 1, j - 1] + here, total[i - 1, j], total[i, j - 1])
            step = int(np.argmin(options))
            i, j = (i - 1, j - 1) if step == 0 else (i - 1, j) if step == 1 else (i, j - 1)
        path.append((i, j))
    return np.array(path[::-1])


def align(samples: np.ndarray, rate: int, reference: Speech) -> list[Span]:
    """The reference's word spans carried over onto `samples` (same words, same order).

    Pauses are cut from both before warping (their lengths differ freely between a
    recording and our reading); a word edge that lands next to a cut pause in the
    recording snaps to it, so a word that follows a pause starts when the sound does, and
    no word straddles a pause.
    """
    cells = (len(samples) / rate) * reference.duration * 100 * 100
    hop = 160 if cells <= _MAX_CELLS else math.ceil(160 * math.sqrt(cells / _MAX_CELLS))
    seconds_per_frame = hop / FEATURE_RATE
    ours, ours_sounding = features(reference.samples, reference.rate, hop)
    theirs, sounding = features(samples, rate, hop)
    kept_ours, kept_theirs = np.flatnonzero(ours_sounding), np.flatnonzero(sounding)
    if not len(kept_ours) or not len(kept_theirs):
        return [None] * len(reference.spans)
    path = warp_path(ours[kept_ours], theirs[kept_theirs])
    first = np.full(len(kept_ours), np.iinfo(np.int64).max)
    last = np.zeros(len(kept_ours), dtype=np.int64)
    np.minimum.at(first, path[:, 0], path[:, 1])
    np.maximum.at(last, path[:, 0], path[:, 1])
    gaps = np.diff(kept_theirs, prepend=-2) - 1
    starts_sound = gaps > 0
    ends_sound = np.diff(kept_theirs, append=len(sounding) + 1) > 1
    pauses = np.flatnonzero(gaps * seconds_per_frame >= _PAUSE)

    logger.debug("warped %d reference frames onto %d", len(kept_ours), len(kept_theirs))
    spans: list[Span] = []
    for span in reference.spans:
        if span is None:
            spans.append(None)
            continue
        begin = np.searchsorted(kept_ours, math.ceil(span[0] / seconds_per_frame))
        begin = min(begin, len(kept_ours) - 1)
        end = max(np.searchsorted(kept_ours, span[1] / seconds_per_frame, side="right") - 1, begin)
        low, high = _one_side(int(first[begin]), int(last[end]), pauses)
        start = _snap(low, starts_sound, 0, high)  # start <= high, so stop >= start
        stop = _snap(high, ends_sound, start, len(ends_sound) - 1)
        spans.append(
            (
                float(kept_theirs[start]) * seconds_per_frame,
                float(kept_theirs[stop] + 1) * seconds_per_frame,
            )
        )
    return spans


def _one_side(low: int, high: int, pauses: np.ndarray) -> tuple[int, int]:
    """A word's first and last recording frame as warped, `low` and `high`, kept on one
    side of each pause (each given as the first frame of sound after it) they straddle.

    A word's edges carried over by the warp may land a few frames across a pause: its
    reference boundary is a frame or two off, or its sounds resemble the previous word's
    end ("trescientos | cerca", or a short "it" ending a phrase), and the cut pause makes
    those frames a whole pause apart. The word keeps the side holding most of its frames.
    """
    for pause in pauses[(pauses > low) & (pauses <= high)]:
        if high - pause + 1 > pause - low:
            low = int(pause)
        else:
            return low, int(pause) - 1
    return low, high


def _snap(frame: int, edges: np.ndarray, lowest: int, highest: int) -> int:
    """The nearest sound edge (start or end of a sounding run) within `_SNAP_FRAMES` kept
    frames of `frame` and within [`lowest`, `highest`], else `frame`: a word that meets a
    pause begins or ends with it."""
    for step in sorted(range(-_SNAP_FRAMES, _SNAP_FRAMES + 1), key=abs):
        if lowest <= frame + step <= highest and edges[frame + step]:
            return frame + step
    return frame


def pause_boundaries(
    samples: np.ndarray, rate: int, spans: Sequence[Span], *, shortest: float = 0.15
) -> list[int]:
    """Indices k of the word boundaries (after word k) where the recording pauses.

    A pause is `shortest` seconds or more without sound; it belongs to the boundary
    between two timed words whose gap midpoint lies nearest to the pause's midpoint.
    """
    _, sounding = features(samples, rate, 160)
    seconds_per_frame = 160 / FEATURE_RATE
    edges = np.diff(np.concatenate([[1], sounding.astype(np.int8), [1]]))
    starts, ends = np.flatnonzero(edges == -1), np.flatnonzero(edges == 1)
    timed = [(k, span) for k, span in enumerate(spans) if span is not None]
    gaps = [
        (k, (span[1] + following[0]) / 2) for (k, span), (_, following) in itertools.pairwise(timed)
    ]
    if not gaps:
        return []
    found: set[int] = set()
    for start, end in zip(starts, ends, strict=True):
        if start == 0 or end == len(sounding) or (end - start) * seconds_per_frame < shortest:
            continue  # leading and trailing silence are no boundary
        middle = (start + end) / 2 * seconds_per_frame
        found.add(min(gaps, key=lambda gap: abs(gap[1] - middle))[0])
    return sorted(found)
