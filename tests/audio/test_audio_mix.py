"""Mixing and mastering, measured (issue 3, acceptance 2).

Loudness and true peak are measured twice: with the engine's own BS.1770-4 meter and
independently with ffmpeg's ebur128 filter, on the WAV and on a rendered MP4's AAC.
"""

from __future__ import annotations

import logging
import re
import subprocess
from itertools import pairwise
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from neuroshorts.audio import Effect, Narration, measure, mix, narrate
from neuroshorts.audio.decode import read_wav, write_wav
from neuroshorts.audio.mixing import stems
from neuroshorts.audio.music import build_bed, ducking_gain, load_track
from neuroshorts.output.encode import render
from neuroshorts.scene import Canvas, Short, Span
from neuroshorts.visuals import VideoBackground, background_sound
from support.media import write_circle_video, write_tone

SCRIPT = "Octopuses have three hearts. Two pump blood through the gills."


@pytest.fixture(scope="module")
def narration(tmp_path_factory: pytest.TempPathFactory) -> Narration:
    # A long pause between the sentences, so the music has time to come back up in it.
    folder = tmp_path_factory.mktemp("mix")
    return narrate(SCRIPT, folder / "narration.wav", "espeak:en", sentence_pause=2.0)


def ebur128(path: Path) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) as ffmpeg's ebur128 filter measures."""
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(path)]
    result = subprocess.run(
        [*command, "-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = result.stderr[result.stderr.rindex("Summary:") :]
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary)[1])
    peak = float(re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)[1])
    return integrated, peak


def level_db(samples: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(samples, dtype=np.float64)) + 1e-20))


@pytest.mark.parametrize("music", [(), "builtin:dawn", "builtin:drift|builtin:dawn"])
def test_mastered_mix_hits_the_loudness_target_under_the_peak_ceiling(
    narration: Narration, music: str | tuple[str, ...], tmp_path: Path
) -> None:
    track = mix(narration, tmp_path / "mix.wav", music=music)
    samples, rate = read_wav(track.path)
    assert rate == 48000 and samples.shape[1] == 2
    assert track.duration == pytest.approx(narration.duration + 0.6, abs=1e-3)
    assert track.words == narration.words
    ours = measure(samples, rate)
    assert ours.integrated == pytest.approx(-14.0, abs=0.5) and ours.true_peak <= -1.0
    integrated, peak = ebur128(Path(track.path))
    assert integrated == pytest.approx(-14.0, abs=0.5) and peak <= -1.0


def test_loudness_target_is_configurable(narration: Narration, tmp_path: Path) -> None:
    track = mix(narration, tmp_path / "quiet.wav", music="builtin:dawn", loudness=-23.0)
    integrated, peak = ebur128(Path(track.path))
    assert integrated == pytest.approx(-23.0, abs=0.5) and peak <= -1.0


def test_rendered_short_keeps_loudness_and_peak_through_aac(
    narration: Narration, tmp_path: Path
) -> None:
    track = mix(narration, tmp_path / "mix.wav", music="builtin:dawn")
    short = Short(Canvas(64, 112, 10), track, [], duration=track.duration)
    render(short, tmp_path / "short.mp4", quality="draft", progress=False)
    integrated, peak = ebur128(tmp_path / "short.mp4")
    assert integrated == pytest.approx(-14.0, abs=1.0) and peak <= -1.0


def test_music_is_ducked_at_least_10_db_while_the_voice_speaks(narration: Narration) -> None:
    parts = stems(narration, music="builtin:dawn")
    rate, music = parts.rate, parts.music

    def part(start: float, end: float) -> np.ndarray:
        return music[round(start * rate) : round(end * rate)]

    speaking = np.concatenate([part(word.start, word.end) for word in narration.words])
    first_end = next(word.end for word in narration.words if word.text == "hearts.")
    second_start = next(word.start for word in narration.words if word.text == "Two")
    pause = part(first_end + 0.7, second_start - 0.2)  # after the release, before the attack
    assert len(pause) > 0.5 * rate
    assert level_db(pause) - level_db(speaking) >= 10


def test_ducking_is_down_before_the_first_word_and_back_up_after_the_release() -> None:
    rate = 1000
    speech = np.zeros(5 * rate, dtype=np.float32)
    speech[2 * rate : 3 * rate] = np.sin(np.arange(rate) * 0.3)
    gain_db = 20 * np.log10(ducking_gain(speech, rate, len(speech), depth_db=12, release=0.6))
    assert gain_db[:rate].max() > -0.1  # untouched well before speech
    assert gain_db[2 * rate] < -11  # already down when the voice starts (look-ahead)
    assert gain_db[2 * rate : 3 * rate].max() < -11
    assert gain_db[round(3.7 * rate) :].min() > -1  # back up within the release


def test_a_short_track_is_looped_to_length_with_fades(tmp_path: Path) -> None:
    noise = np.random.default_rng(0).uniform(-0.3, 0.3, (72000, 2)).astype(np.float32)
    track = load_track(str(write_wav(tmp_path / "noise.wav", noise, 48000)), 48000)
    bed = build_bed([track], 6 * 48000, 48000, crossfade=0.5, fade_in=1.0, fade_out=1.0)
    assert bed.shape == (6 * 48000, 2)
    assert abs(bed[0]).max() < 1e-3 and abs(bed[-1]).max() < 1e-3
    windows = bed[48000 : 5 * 48000].reshape(-1, 4800, 2)  # 0.1 s windows, fades excluded
    levels = [level_db(window) for window in windows]
    assert max(levels) - min(levels) < 1.5  # no gaps or bumps at the loop joints


def test_crossfade_blends_one_track_into_the_next(tmp_path: Path) -> None:
    low = load_track(str(write_tone(tmp_path / "low.wav", 3.0, 48000, hz=220)), 48000)
    high = load_track(str(write_tone(tmp_path / "high.wav", 3.0, 48000, hz=660)), 48000)
    bed = build_bed([low, high], 5 * 48000, 48000, crossfade=1.0, fade_in=0, fade_out=0)

    def strength(start: float, hz: float) -> float:
        window = bed[round(start * 48000) : round(start * 48000) + 4800, 0]
        return float(np.abs(np.fft.rfft(window))[round(hz / 10)])

    assert strength(1.0, 660) < 0.01 * strength(1.0, 220)  # first track alone
    assert strength(2.45, 660) > 0.3 * strength(2.45, 220)  # both in the middle
    assert strength(3.5, 220) < 0.01 * strength(3.5, 660)  # second track alone
    joint = [level_db(bed[i : i + 4800]) for i in range(96000, 144000, 4800)]
    assert max(joint) - min(joint) < 1.5  # equal-power: no dip at the crossfade


def test_sound_effects_land_at_their_time(narration: Narration, tmp_path: Path) -> None:
    tone = write_tone(tmp_path / "ding.wav", 0.3, 48000, hz=1200)
    parts = stems(narration, effects=[Effect(str(tone), at=1.0, level_db=-6)])
    loud = np.flatnonzero(np.abs(parts.effects[:, 0]) > 0.01)
    assert loud[0] / parts.rate == pytest.approx(1.0, abs=0.002)
    assert loud[-1] / parts.rate == pytest.approx(1.3, abs=0.002)


def test_bundled_beds_are_generated_once_then_read_from_the_cache(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="neuroshorts"):
        first = load_track("builtin:drift", 44100)
        second = load_track("builtin:drift", 44100)
    assert sum("generated music bed drift" in r.message for r in caplog.records) <= 1
    np.testing.assert_allclose(first, second, atol=1 / 32768)
    assert 1.0 > np.abs(first).max() > 0.4  # peaks near -6 dBFS
    seam = np.abs(first[-1] - first[0]).max()
    assert seam < 0.02  # the loop's end meets its start


@pytest.mark.parametrize(
    ("music", "error", "pattern"),
    [
        ("builtin:nope", FileNotFoundError, r"music: no bundled bed 'builtin:nope'.*builtin:dawn"),
        ("/nowhere/song.mp3", FileNotFoundError, r"music: file '/nowhere/song.mp3' does not"),
    ],
)
def test_bad_music_is_rejected_by_name(
    narration: Narration, music: str, error: type[Exception], pattern: str, tmp_path: Path
) -> None:
    with pytest.raises(error, match=pattern):
        mix(narration, tmp_path / "mix.wav", music=music)
    assert not (tmp_path / "mix.wav").exists()


def test_unreadable_music_file_is_rejected_by_name(narration: Narration, tmp_path: Path) -> None:
    song = tmp_path / "song.mp3"
    song.write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match=r"music: '.*song\.mp3' is not a readable audio file"):
        mix(narration, tmp_path / "mix.wav", music=str(song))
    assert not (tmp_path / "mix.wav").exists()


def test_impossible_loudness_target_is_rejected_by_name(
    narration: Narration, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=r"loudness: 3\.0 LUFS is out of range"):
        mix(narration, tmp_path / "mix.wav", loudness=3.0)
    assert not (tmp_path / "mix.wav").exists()


def clip_with_click(folder: Path, click_at: float = 0.5, seconds: float = 2.0) -> Path:
    """A small MP4 whose sound is silence with one click at `click_at` s of the source."""
    samples = np.zeros(round(seconds * 48_000), dtype=np.float32)
    start = round(click_at * 48_000)
    samples[start : start + 480] = 0.8 * np.sin(np.arange(480) * 2 * np.pi * 1000 / 48_000)
    wav = write_wav(folder / "click.wav", samples, 48_000)
    video = folder / "clip.mp4"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
         f"testsrc=size=64x112:rate=10:duration={seconds}", "-i", str(wav),
         "-c:v", "libx264", "-c:a", "aac", "-shortest", str(video)],
        check=True,
    )  # fmt: skip
    return video


def onsets(samples: np.ndarray, rate: int = 48_000) -> list[float]:
    """Start times (s) of bursts in a mostly silent track, 0.2 s apart at least."""
    loud = np.flatnonzero(np.abs(samples).max(axis=1) > 0.5 * np.abs(samples).max())
    starts = [loud[0]] + [b for a, b in pairwise(loud) if b - a > 0.2 * rate]
    return [s / rate for s in starts]


def test_a_video_clips_own_sound_is_trimmed_and_looped_in_step_with_its_pictures(
    narration: Narration, tmp_path: Path
) -> None:
    layer = VideoBackground(clip_with_click(tmp_path), Span(0.5), trim_start=0.2, trim_end=1.2)
    parts = stems(narration, clip_sounds=[layer.sound(level_db=0.0, duck=False)])
    heard = onsets(parts.effects)
    # The click sits 0.5 s into the source: 0.3 s into the trimmed clip, every 1.0 s loop.
    assert heard[:3] == pytest.approx([0.8, 1.8, 2.8], abs=0.01)
    assert all(layer.source_time(t) == pytest.approx(0.5, abs=0.01) for t in heard)
    assert not parts.effects[: round(0.5 * 48_000)].any()  # nothing before the layer starts
    assert not parts.music.any()  # an undimmed sound stays out of the ducked bed


def test_a_ducked_clip_sound_joins_the_music_bed_under_speech(
    narration: Narration, tmp_path: Path
) -> None:
    sound = VideoBackground(clip_with_click(tmp_path)).sound(level_db=-6.0)
    parts = stems(narration, clip_sounds=[sound])
    assert parts.music.any() and not parts.effects.any()
    clicks = np.arange(0.5, len(parts.music) / 48_000 - 0.1, 2.0)  # a 2 s clip, looped
    peaks = [np.abs(parts.music[round(t * 48_000) :][:4800]).max() for t in clicks]
    assert len(peaks) >= 3 and min(peaks) > 0
    assert max(peaks) / min(peaks) > 2  # clicks under speech are ducked, in the pause not


def test_a_clip_without_sound_names_the_field(narration: Narration, tmp_path: Path) -> None:
    silent = VideoBackground(write_circle_video(tmp_path / "mute.mp4", 64, 112, 20, 10))
    with pytest.raises(ValueError, match=r"sounds: .*mute\.mp4' has no audio track"):
        stems(narration, clip_sounds=[silent.sound()])


def test_a_narration_at_the_mix_rate_is_taken_sample_for_sample(tmp_path: Path) -> None:
    samples = (0.3 * np.sin(np.arange(48_000) * 2 * np.pi * 440 / 48_000)).astype(np.float32)
    wav = write_wav(tmp_path / "48k.wav", samples, 48_000)
    parts = stems(Narration(wav, 1.0, (), 48_000), music="none")
    assert np.array_equal(parts.speech[:48_000, 0], read_wav(wav)[0])
    assert np.array_equal(parts.speech[:48_000, 1], read_wav(wav)[0])


def test_a_video_backgrounds_sound_is_the_clips_own_and_other_backgrounds_are_refused(
    narration: Narration, tmp_path: Path
) -> None:
    clip = clip_with_click(tmp_path)
    parts = stems(narration, clip_sounds=[background_sound(str(clip), level_db=-6.0)])
    click = round(0.5 * 48_000)  # the clip's click, on time (AAC smears it by a few ms)
    peak = np.abs(parts.music[click - 480 : click + 960]).max()
    assert peak > 0 and np.abs(parts.music[: click - 480]).max() < 0.01 * peak
    with pytest.raises(ValueError, match=r"background_sound: .*'solid:#000000' is not a video"):
        background_sound("solid:#000000")
