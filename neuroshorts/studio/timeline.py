"""The timeline model of a short: when every layer, caption page and spoken word happens.

The studio's timeline widget shows the layer stack, the caption pages with their words,
the scene cuts and the soundtrack's waveform under the player. This module turns a
`Short` into plain JSON-able data (floats, ints, strings, lists, dicts) that the browser
draws; it is pure (no widgets, no kernel), so it is tested with tiny synthetic shorts.
The waveform's peaks are computed once per soundtrack file and kept, so showing the
same short again costs nothing.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from neuroshorts.audio.decode import read_wav
from neuroshorts.captions import CaptionLayer
from neuroshorts.scene import Short, Span
from neuroshorts.visuals.transitions import Segments

#: Decimals of every time and peak in the model: a tenth of a millisecond.
DECIMALS = 4


def timeline(short: Short, *, peaks: int = 1000) -> dict:
    """The timeline of `short`: duration, fps, layers, caption pages, scene cuts, waveform.

    Times are seconds, clamped to [0, duration] (a layer that runs "for ever" ends with
    the short); `waveform` has `peaks` values in [0, 1], or none without a soundtrack.
    """
    fps = short.canvas.fps
    duration = short.frame_count / fps

    def clamp(t: float) -> float:
        return round(min(max(float(t), 0.0), duration), DECIMALS)

    def span(span: Span) -> dict:
        return {"start": clamp(span.start), "end": clamp(span.end)}

    layers = []
    for layer in short.layers:
        entry = {"kind": type(layer).__name__, "label": layer.label, **span(layer.span)}
        if isinstance(layer, Segments):
            entry["parts"] = [{"label": part.label, **span(part.span)} for part in layer.segments]
        layers.append(entry)
    pages = [
        page for layer in short.layers if isinstance(layer, CaptionLayer) for page in layer.pages
    ]
    captions = [
        {
            "text": page.text,
            "start": clamp(page.start),
            "end": clamp(page.end),
            "words": [
                {"text": word.text, "start": clamp(word.start), "end": clamp(word.end)}
                for word in page.words
            ],
        }
        for page in sorted(pages, key=lambda page: page.start)
    ]
    cuts = {
        clamp(segment.span.start)
        for layer in short.layers
        if isinstance(layer, Segments)
        for segment in layer.segments[1:]
    }
    audio = short.audio
    has_sound = audio is not None and Path(audio.path).is_file()
    return {
        "duration": round(duration, DECIMALS),
        "fps": int(fps),
        "layers": layers,
        "captions": captions,
        "scenes": sorted(t for t in cuts if t < duration),
        "waveform": waveform(audio.path, duration, peaks) if has_sound else [],
    }


def waveform(path: str | Path, duration: float, buckets: int = 1000) -> list[float]:
    """Peaks of a 16-bit WAV: the max |sample| in each of `buckets` slices of [0, duration).

    Normalised so the loudest bucket is 1.0 (all 0.0 for silence). Audio past `duration`
    is ignored; buckets past the audio's end are 0. Cached per file version and size.
    """
    if buckets < 1:
        raise ValueError(f"buckets must be at least 1, got {buckets}")
    resolved = Path(path).resolve()
    stat = resolved.stat()
    return list(_peaks(str(resolved), stat.st_mtime_ns, stat.st_size, duration, buckets))


@functools.lru_cache(maxsize=16)
def _peaks(path: str, mtime_ns: int, size: int, duration: float, buckets: int) -> tuple[float, ...]:
    """`waveform`'s peaks; `mtime_ns` and `size` only key the cache to the file's version."""
    samples, rate = read_wav(path)
    loudness = np.abs(samples).max(axis=1) if samples.ndim == 2 else np.abs(samples)
    total = max(round(duration * rate), 0)
    loudness = loudness[:total]
    # Bucket i covers samples [edges[i], edges[i + 1]); a trailing zero is the "sample"
    # every bucket past the audio's end starts at, so those read 0.
    edges = np.arange(buckets + 1, dtype=np.int64) * total // buckets
    starts = np.minimum(edges[:-1], len(loudness))
    padded = np.append(loudness, np.float32(0.0))
    peaks = np.maximum.reduceat(padded, starts)
    peaks[edges[1:] == edges[:-1]] = 0.0  # reduceat gives an empty slice its first sample
    loudest = float(peaks.max())
    if loudest > 0:
        peaks = peaks / loudest
    return tuple(np.round(peaks.astype(np.float64), DECIMALS).tolist())
