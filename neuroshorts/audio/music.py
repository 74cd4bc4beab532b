"""Music beds: our own procedural pads or a user's file, shaped to the narration.

The bundled beds are generated here (soft detuned pads over a four-chord loop), not
shipped as recordings: no licence questions, and the repository stays small. A bed is
rendered once per machine into the shared cache and read from there after.

Ducking is a sidechain compressor driven by the narration itself: while the voice
speaks, the music's gain glides down by `depth` dB within `attack` seconds (started
`attack` early, so the first syllable is never masked) and back up within `release`
seconds after the voice stops.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np

from neuroshorts.audio.decode import decode, read_wav, write_wav
from neuroshorts.media.assets import resolve
from neuroshorts.media.cache import Cache
from neuroshorts.media.policy import BUILTIN

logger = logging.getLogger(__name__)

#: Chords of each bundled bed as MIDI notes, one chord per `_CHORD_SECONDS`.
BEDS: dict[str, tuple[tuple[int, ...], ...]] = {
    "dawn": ((48, 55, 64, 71), (45, 52, 60, 67), (41, 48, 57, 64), (43, 50, 59, 62)),
    "drift": ((50, 57, 65, 72), (46, 53, 62, 69), (41, 48, 57, 64), (48, 55, 64, 67)),
}
_CHORD_SECONDS = 4.0
_GENERATOR_VERSION = 1
_SPEECH_FRAME = 0.01


def bed_names() -> list[str]:
    return [f"{BUILTIN}{name}" for name in BEDS]


def load_track(reference: str, rate: int) -> np.ndarray:
    """Stereo float32 samples (n, 2) of a bundled bed (`builtin:dawn`) or an audio file."""
    name = reference.removeprefix(BUILTIN)
    if reference.startswith(BUILTIN) and name in BEDS:
        return _bundled(name, rate)
    if reference.startswith(BUILTIN):
        raise FileNotFoundError(
            f"music: no bundled bed {reference!r}; expected one of {', '.join(bed_names())}"
        )
    return decode(resolve(reference, field="music"), rate, channels=2, field="music")


def _bundled(name: str, rate: int) -> np.ndarray:
    """A bundled bed from the shared cache (see cache.py), generated on a miss."""
    cache = Cache.default()
    key = f"{name}-v{_GENERATOR_VERSION}-{rate}"
    with cache.reading("music", key) as entry:
        if entry is not None:
            return read_wav(entry / "bed.wav")[0]
    samples = generate_pad(BEDS[name], rate)
    with cache.building() as folder:
        write_wav(folder / "bed.wav", samples, rate)
        place = cache.commit("music", key, folder)
    cache.evict()
    logger.info("generated music bed %s into %s", name, place)
    return samples


def generate_pad(chords: Sequence[Sequence[int]], rate: int) -> np.ndarray:
    """A seamless loop of soft pad chords, stereo (n, 2), peaking at -6 dBFS.

    Each note is a few detuned saw-like partials (left and right detuned apart for
    width), swelled in and out so chords overlap, then low-passed to keep it warm and
    out of the voice's presence range. The loop's tail is folded onto its head, so
    repeating it has no seam.
    """
    # Imported here, not at the top: scipy.signal costs ~1.6 s at every render's start.
    from scipy.signal import butter, sosfilt

    length = round(len(chords) * _CHORD_SECONDS * rate)
    overlap = round(1.5 * rate)
    t = np.arange(round(_CHORD_SECONDS * rate) + overlap) / rate
    swell = np.minimum(1.0, t / 1.2) * np.minimum(1.0, (t[-1] - t) / 1.5)
    out = np.zeros((length + overlap, 2))
    for index, chord in enumerate(chords):
        start = round(index * _CHORD_SECONDS * rate)
        for note in chord:
            hz = 440.0 * 2 ** ((note - 69) / 12)
            for channel, detune in enumerate((-0.06, 0.06)):
                tone = sum(
                    np.sin(2 * np.pi * hz * (1 + detune / 100 * k) * k * t + k) / k**1.5
                    for k in range(1, 6)
                )
                out[start : start + len(t), channel] += tone * swell
    out = sosfilt(butter(2, 1800, fs=rate, output="sos"), out, axis=0)
    out[:overlap] += out[length:]
    out = out[:length]
    return (out / np.abs(out).max() * 10 ** (-6 / 20)).astype(np.float32)


def build_bed(
    tracks: Sequence[np.ndarray],
    length: int,
    rate: int,
    *,
    crossfade: float = 2.0,
    fade_in: float = 1.0,
    fade_out: float = 2.0,
) -> np.ndarray:
    """The tracks in turn (looping through the list) crossfaded, trimmed to `length`
    samples, with a fade in and out, as float32. Equal-power crossfades keep the level
    steady. Each track is laid into the bed in place: joining them whole and trimming
    after copied every track in full, in float64 once a crossfade had been mixed."""
    overlap = round(crossfade * rate)
    bed = np.zeros((length, 2), dtype=np.float32)
    filled, index = 0, 0
    while filled < length:
        track = tracks[index % len(tracks)]
        index += 1
        fade = min(overlap, filled, len(track) // 2)
        start = filled - fade
        piece = track[: length - start]
        if fade:
            ramp = np.linspace(0, np.pi / 2, fade, dtype=np.float32)[:, None]
            bed[start:filled] = bed[start:filled] * np.cos(ramp) + piece[:fade] * np.sin(ramp)
        bed[filled : start + len(piece)] = piece[fade:]
        filled = start + len(piece)
    for seconds, ramp in ((fade_in, 1), (fade_out, -1)):
        count = min(round(seconds * rate), length)
        if count:
            shape = np.linspace(0, 1, count)[:, None] ** 2
            if ramp == 1:
                bed[:count] *= shape
            else:
                bed[length - count :] *= shape[::-1]
    return bed


def ducking_gain(
    speech: np.ndarray,
    rate: int,
    length: int,
    *,
    depth_db: float,
    attack: float = 0.08,
    release: float = 0.6,
    threshold_db: float = -40.0,
) -> np.ndarray:
    """Per-sample music gain (length,) that dips `depth_db` while `speech` sounds.

    Speech counts as sounding in 10 ms frames within `threshold_db` of its loudest
    frame. The gain follows with a one-pole glide, `attack` seconds down and `release`
    seconds up, and runs `attack` seconds ahead of the speech.
    """
    hop = round(_SPEECH_FRAME * rate)
    frames = math.ceil(length / hop)
    padded = np.zeros(frames * hop, dtype=np.float64)
    mono = speech if speech.ndim == 1 else speech.mean(axis=1)
    padded[: min(len(mono), len(padded))] = mono[: len(padded)]
    level = 10 * np.log10(
        np.mean(np.square(padded, out=padded).reshape(frames, hop), axis=1) + 1e-12
    )
    active = level > level.max() + threshold_db
    ahead = round(attack / _SPEECH_FRAME)
    active = np.concatenate([active[ahead:], np.zeros(ahead, dtype=bool)]) | active
    target = np.where(active, -abs(depth_db), 0.0)
    down = 1 - math.exp(-_SPEECH_FRAME / max(attack / 3, 1e-6))
    up = 1 - math.exp(-_SPEECH_FRAME / max(release / 3, 1e-6))
    gain_db = np.empty(frames)
    current = 0.0
    for index, goal in enumerate(target):
        current += (goal - current) * (down if goal < current else up)
        gain_db[index] = current
    centres = (np.arange(frames) + 0.5) * hop
    gain = np.interp(np.arange(length, dtype=np.float64), centres, gain_db)
    gain /= 20
    return np.power(10.0, gain, out=gain).astype(np.float32)
