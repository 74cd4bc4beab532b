"""The short's soundtrack: narration over a ducked music bed and effects, mastered.

`mix` is what a template calls after `narrate`; it returns the scene model's
`AudioTrack` (the mastered WAV with the narration's words), so the compositor muxes it
as it would the bare narration. Everything runs at 48 kHz stereo, the rate the
compositor encodes AAC at, so no second resampling happens there.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from neuroshorts.audio.decode import decode, read_wav, write_wav
from neuroshorts.audio.loudness import integrated_loudness
from neuroshorts.audio.mastering import Loudness, master
from neuroshorts.audio.music import build_bed, ducking_gain, load_track
from neuroshorts.audio.narration import Narration
from neuroshorts.media.assets import resolve
from neuroshorts.scene import AudioTrack, Sound

logger = logging.getLogger(__name__)

RATE = 48_000
#: Silence laid on both sides of the narration before resampling it through the FFT, so
#: the periodic signal that the FFT assumes does not run its end into its start.
_RESAMPLE_GUARD = 0.1  # seconds


@dataclass(frozen=True)
class Stems:
    """The parts of a mix before mastering, each (n, 2) at `rate`, all the same length."""

    speech: np.ndarray
    music: np.ndarray
    effects: np.ndarray
    rate: int

    def sum(self) -> np.ndarray:
        total = self.speech + self.music
        total += self.effects
        return total


@dataclass(frozen=True)
class Effect:
    """A sound effect file played once from `at` seconds, `level_db` relative to as recorded."""

    source: str
    at: float
    level_db: float = 0.0


def stems(
    narration: Narration,
    *,
    music: str | Sequence[str] = (),
    music_level_db: float = -18.0,
    ducking_db: float = 12.0,
    attack: float = 0.08,
    release: float = 0.6,
    crossfade: float = 2.0,
    effects: Sequence[Effect] = (),
    clip_sounds: Sequence[Sound] = (),
    tail: float = 0.6,
) -> Stems:
    """Speech, ducked music and effects, lined up on the narration's timeline.

    `music` is one reference or several to play in turn (`builtin:dawn`, a file path;
    in one string, joined by "|"), crossfading `crossfade` seconds; "" or "none" means
    no music. Its loudness is set `music_level_db` relative to the speech before ducking,
    so the bed sits the same way under any voice. `ducking_db` is how far it dips under
    speech, gliding down in `attack` and back up in `release` seconds. `clip_sounds` are
    media files' own sound (`VideoBackground.sound()`), levelled against the voice and
    ducked with the music unless they say otherwise.
    """
    speech_mono, rate = read_wav(narration.path)
    speech_mono = _resample(speech_mono, rate)
    length = len(speech_mono) + round(tail * RATE)
    speech = np.zeros((length, 2), dtype=np.float32)
    speech[: len(speech_mono)] = speech_mono[:, None]
    references = music.split("|") if isinstance(music, str) else list(music)
    references = [ref.strip() for ref in references if ref.strip() not in ("", "none")]
    voice = integrated_loudness(speech, RATE)
    bed = np.zeros_like(speech)
    if references:
        tracks = [load_track(reference, RATE) for reference in references]
        bed = _at_level(build_bed(tracks, length, RATE, crossfade=crossfade), voice, music_level_db)
        if bed is None:
            raise ValueError(f"music: {music!r} is silent; expected audible music")
    sounds = np.zeros_like(speech)
    for sound in clip_sounds:
        placed = _at_level(place(sound, length), voice, sound.level_db)
        if placed is None:
            raise ValueError(f"sounds: {sound.source!r} is silent; expected a clip with sound")
        if sound.duck:
            bed += placed
        else:
            sounds += placed
    if references or any(sound.duck for sound in clip_sounds):
        gain = ducking_gain(
            speech_mono, RATE, length, depth_db=ducking_db, attack=attack, release=release
        )
        bed = bed * gain[:, None]
    for effect in effects:
        clip = decode(resolve(effect.source, field="effects"), RATE, channels=2, field="effects")
        start = round(effect.at * RATE)
        if not 0 <= start < length:
            raise ValueError(
                f"effects: {effect.source!r} at {effect.at!r} s is outside the mix; "
                f"expected 0 to {length / RATE:.2f} s"
            )
        end = min(length, start + len(clip))
        sounds[start:end] += clip[: end - start] * 10 ** (effect.level_db / 20)
    return Stems(speech, np.asarray(bed, dtype=np.float32), sounds, RATE)


#: Mastered mixes this process keeps, by what went into them (see `_mix_key`).
MIXES_KEPT = 4
_mastered: OrderedDict[str, tuple[np.ndarray, Loudness]] = OrderedDict()


def _mix_key(narration: Narration, sources: Sequence[str], settings: dict[str, object]) -> str:
    """What a mix is made of: the narration's sound and words, the settings, and the time
    and size of each local file among `sources`. The studio runs a template's cells again
    on every change, and mixing and mastering an unchanged soundtrack was most of that."""
    digest = hashlib.blake2b(Path(narration.path).read_bytes(), digest_size=16)
    digest.update(repr((narration.words, sorted(settings.items()))).encode())
    for name in (part for source in sources for part in source.split("|")):
        with contextlib.suppress(OSError):
            stat = Path(name).stat()
            digest.update(f"{name}:{stat.st_mtime_ns}:{stat.st_size}".encode())
    return digest.hexdigest()


def mix(
    narration: Narration,
    out_wav: str | Path,
    *,
    music: str | Sequence[str] = (),
    music_level_db: float = -18.0,
    ducking_db: float = 12.0,
    attack: float = 0.08,
    release: float = 0.6,
    crossfade: float = 2.0,
    effects: Sequence[Effect] = (),
    clip_sounds: Sequence[Sound] = (),
    loudness: float = -14.0,
    true_peak: float = -1.0,
    tail: float = 0.6,
) -> AudioTrack:
    """Mix and master the soundtrack into `out_wav` (16-bit 48 kHz stereo).

    The result has `loudness` LUFS integrated (-14 suits YouTube, TikTok and Instagram)
    and true peaks at or under `true_peak` dBTP; both are measured on the result and
    logged. The track is `tail` seconds longer than the narration so the music can
    fade out under the short's last frame. The music arguments are those of `stems`.
    """
    if not -40.0 <= loudness <= -5.0:
        raise ValueError(f"loudness: {loudness!r} LUFS is out of range; expected -40 to -5")
    if not -12.0 <= true_peak <= 0.0:
        raise ValueError(f"true_peak: {true_peak!r} dBTP is out of range; expected -12 to 0")
    settings = {
        "music": music,
        "music_level_db": music_level_db,
        "ducking_db": ducking_db,
        "attack": attack,
        "release": release,
        "crossfade": crossfade,
        "effects": tuple(effects),
        "clip_sounds": tuple(clip_sounds),
        "tail": tail,
    }
    sources = [music] if isinstance(music, str) else list(music)
    sources += [effect.source for effect in effects] + [sound.source for sound in clip_sounds]
    key = _mix_key(narration, sources, {**settings, "loudness": loudness, "true_peak": true_peak})
    kept = _mastered.pop(key, None)  # pop and put back: the newest is kept longest
    if kept is None:  # the stems are let go once summed: mastering needs their memory
        mixed = stems(narration, **settings).sum()
        kept = master(mixed, RATE, loudness=loudness, true_peak=true_peak)
    _mastered[key] = kept
    while len(_mastered) > MIXES_KEPT:
        _mastered.popitem(last=False)
    mastered, measured = kept
    path = write_wav(out_wav, mastered, RATE)
    _log(path, measured, music)
    return AudioTrack(str(path), len(mastered) / RATE, narration.words)


def place(sound: Sound, length: int) -> np.ndarray:
    """`sound` laid on a silent (length, 2) timeline at RATE, trimmed and looped."""
    with av.open(sound.source) as container:
        if not container.streams.audio:
            raise ValueError(
                f"sounds: {sound.source!r} has no audio track; expected a clip with sound "
                "(or leave the clip muted)"
            )
    source = decode(sound.source, RATE, channels=2, field="sounds")
    first = round(sound.offset * RATE)
    segment = source[first : first + round(sound.clip * RATE)] if sound.clip else source[first:]
    begin = min(round(sound.start * RATE), length)
    end = length if sound.duration is None else min(length, begin + round(sound.duration * RATE))
    wanted = end - begin
    if sound.loop and len(segment):
        segment = np.tile(segment, (math.ceil(wanted / len(segment)), 1))
    timeline = np.zeros((length, 2), dtype=np.float32)
    played = segment[:wanted]
    timeline[begin : begin + len(played)] = played
    return timeline


def _at_level(samples: np.ndarray, voice: float, level_db: float) -> np.ndarray | None:
    """`samples` scaled to `level_db` LUFS relative to the voice; None when silent."""
    loudness = integrated_loudness(samples, RATE)
    if not np.isfinite(loudness):
        return None
    return np.asarray(samples * 10 ** ((voice + level_db - loudness) / 20), dtype=np.float32)


def _resample(samples: np.ndarray, rate: int) -> np.ndarray:
    """Mono `samples` at `rate` brought to RATE by band-limited (FFT) resampling.

    Both signals are a whole number of periods of the two rates' reduced ratio long, so
    the output grid lines up with the input's exactly, times an even number with no
    prime factor over 5 so the FFTs stay fast; `_RESAMPLE_GUARD` of silence on each side
    keeps the ends apart. The output has resample_poly's length, ceil(n * RATE / rate).
    """
    if rate == RATE:
        return samples
    divisor = math.gcd(rate, RATE)
    up, down = RATE // divisor, rate // divisor
    guard = down * math.ceil(_RESAMPLE_GUARD * rate / down)
    periods = _fast_length(math.ceil((len(samples) + 2 * guard) / down))
    padded = np.zeros(periods * down, dtype=np.float32)  # float32 FFTs: twice as fast
    padded[guard : guard + len(samples)] = samples
    spectrum = _resized_spectrum(np.fft.rfft(padded), periods * down, periods * up)
    out = np.fft.irfft(spectrum, periods * up)
    out *= np.float32(up / down)
    start, count = guard // down * up, -(-len(samples) * up // down)
    return out[start : start + count].astype(np.float32)


def _resized_spectrum(spectrum: np.ndarray, length: int, new_length: int) -> np.ndarray:
    """The rfft `spectrum` of an even `length` signal cut or zero-extended to `new_length`.

    A Nyquist bin is a cosine that both halves of the spectrum share: growing splits it
    between the two, shrinking folds the two into the new one.
    """
    resized = np.zeros(new_length // 2 + 1, dtype=spectrum.dtype)
    shared = min(len(spectrum), len(resized))
    resized[:shared] = spectrum[:shared]
    if new_length > length:
        resized[length // 2] *= 0.5
    else:
        resized[-1] = 2 * resized[-1].real
    return resized


def _fast_length(minimum: int) -> int:
    """The smallest even number >= `minimum` with no prime factor over 5 (fast FFTs)."""
    best = 2 * max(minimum, 1)
    fives = 1
    while fives < best:
        threes = fives
        while threes < best:
            length = 2 * threes
            while length < minimum:
                length *= 2
            best = min(best, length)
            threes *= 3
        fives *= 5
    return best


def _log(path: Path, measured: Loudness, music: str | Sequence[str]) -> None:
    logger.info(
        "mixed %s (music %s): %.2f LUFS integrated, %.2f dBTP true peak",
        path,
        music or "none",
        measured.integrated,
        measured.true_peak,
    )
