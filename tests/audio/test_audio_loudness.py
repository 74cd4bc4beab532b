"""The engine's own BS.1770-4 meter, true peak, limiter and resampler, against references.

pyloudnorm and scipy are references here only: the package must import neither, since
scipy.signal alone costs about 1.6 s at the start of every render's kernel.
"""

from __future__ import annotations

import subprocess
import sys
import tracemalloc

import numpy as np
import pyloudnorm
import pytest
from scipy.signal import butter, lfilter, resample_poly, sosfiltfilt

from neuroshorts.audio import loudness, truepeak
from neuroshorts.audio.loudness import integrated_loudness, k_weighted
from neuroshorts.audio.mastering import (
    _limit,
    _moving_average,
    _running_minimum,
    master,
)
from neuroshorts.audio.mixing import _resample
from neuroshorts.audio.music import BEDS, generate_pad


def speech_like(rate: int, seconds: float = 12.0) -> np.ndarray:
    """Mono: a gliding voiced buzz with hiss, in syllables, with pauses between phrases."""
    t = np.arange(round(seconds * rate)) / rate
    phase = 2 * np.pi * np.cumsum(140 + 30 * np.sin(2 * np.pi * 0.3 * t)) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 30))
    hiss = 0.3 * np.random.default_rng(1).standard_normal(len(t))
    syllables = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 2
    phrases = np.sin(2 * np.pi * 0.25 * t) > -0.5
    return (0.2 * (voiced + hiss) * syllables * phrases).astype(np.float32)


def sine(rate: int, hz: float, seconds: float = 10.0, dbfs: float = -20.0) -> np.ndarray:
    """Stereo, the same sine in both channels, each peaking at `dbfs`."""
    t = np.arange(round(seconds * rate)) / rate
    mono = (10 ** (dbfs / 20) * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    return np.stack([mono, mono], axis=1)


def signal(kind: str, rate: int) -> np.ndarray:
    if kind == "speech":
        return speech_like(rate)
    if kind == "music":
        return generate_pad(BEDS["dawn"], rate)
    return sine(rate, float(kind.removeprefix("sine ")))


@pytest.mark.parametrize("rate", [48000, 44100])
@pytest.mark.parametrize("kind", ["speech", "music", "sine 100", "sine 997", "sine 12000"])
def test_integrated_loudness_agrees_with_pyloudnorm(kind: str, rate: int) -> None:
    samples = signal(kind, rate)
    reference = pyloudnorm.Meter(rate).integrated_loudness(samples.astype(np.float64))
    # pyloudnorm normalises the RLB high-pass to unity gain; BS.1770-4's coefficients
    # (b = 1, -2, 1) have +0.043 dB, so it reads 0.04 to 0.047 LU under the standard.
    assert integrated_loudness(samples, rate) == pytest.approx(reference, abs=0.05)


@pytest.mark.parametrize("hz", [997, 1000])
def test_ebu_tech_3341_stereo_sine_at_minus_23_dbfs_reads_minus_23_lufs(hz: int) -> None:
    assert integrated_loudness(sine(48000, hz, seconds=20, dbfs=-23), 48000) == pytest.approx(
        -23.0, abs=0.1
    )


def test_at_48_khz_the_filters_are_the_standards() -> None:
    pre_b, pre_a = loudness._pre_filter(48000)
    high_b, high_a = loudness._high_pass(48000)
    np.testing.assert_allclose(pre_b, [1.53512485958697, -2.69169618940638, 1.19839281085285])
    np.testing.assert_allclose(pre_a, [1.0, -1.69065929318241, 0.73248077421585])
    np.testing.assert_allclose(high_b, [1.0, -2.0, 1.0])
    np.testing.assert_allclose(high_a, [1.0, -1.99004745483398, 0.99007225036621])


@pytest.mark.parametrize("rate", [48000, 44100, 22050, 8000])
def test_k_weighting_equals_a_sample_by_sample_iir(rate: int) -> None:
    # A loud burst, then a quiet tail: the filter's state must carry across its rows.
    samples = speech_like(rate, seconds=3.0)
    samples[rate:] *= 0.001
    pre, high = loudness._pre_filter(rate), loudness._high_pass(rate)
    expected = lfilter(*high, lfilter(*pre, samples.astype(np.float64)))
    ours = k_weighted(samples, rate)
    assert ours.shape == samples.shape and ours.dtype == np.float32
    # float32 products: 1e-5 of the level, -100 dB, a 1e-9 LU error in loudness.
    np.testing.assert_allclose(ours, expected, rtol=0, atol=2e-5 * np.abs(expected).max())
    tail = slice(rate + rate // 10, None)  # the quiet part keeps its own precision
    quiet = np.abs(expected[tail]).max()
    np.testing.assert_allclose(ours[tail], expected[tail], rtol=0, atol=2e-5 * quiet)


def test_silence_reads_minus_infinity_and_a_too_short_signal_is_refused() -> None:
    assert integrated_loudness(np.zeros((48000, 2), np.float32), 48000) == -np.inf
    with pytest.raises(ValueError, match=r"too short to measure loudness"):
        integrated_loudness(np.ones(19000, np.float32), 48000)


def test_gates_leave_out_silence_and_passages_10_lu_under_the_rest() -> None:
    tone = sine(48000, 1000, seconds=20)
    alone = integrated_loudness(tone, 48000)
    # The few blocks across the edge still count (as BS.1770 has it): 0.03 LU lower.
    with_silence = np.concatenate([tone, np.zeros_like(tone)])
    with_murmur = np.concatenate([tone, tone * np.float32(10 ** (-30 / 20))])
    assert integrated_loudness(with_silence, 48000) == pytest.approx(alone, abs=0.05)
    assert integrated_loudness(with_murmur, 48000) == pytest.approx(alone, abs=0.05)
    # Above the relative gate, a quieter passage counts: the mean of the two powers.
    with_quieter = np.concatenate([tone, tone * np.float32(10 ** (-6 / 20))])
    expected = alone + 10 * np.log10((1 + 10 ** (-6 / 10)) / 2)
    assert integrated_loudness(with_quieter, 48000) == pytest.approx(expected, abs=0.01)


def test_measuring_two_minutes_needs_memory_in_proportion() -> None:
    # About 1.6x the samples' own size (a channel filtered, then summed in float64).
    samples = np.tile(speech_like(48000, seconds=4.0)[:, None], (30, 2))  # 120 s stereo
    tracemalloc.start()
    try:
        integrated_loudness(samples, 48000)
        truepeak.highest(samples)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * samples.nbytes


def mastered_like(rate: int = 48000) -> np.ndarray:
    """Stereo speech pushed 10 dB hot: many oversampled peaks near and over 0 dBFS."""
    mono = speech_like(rate, seconds=6.0) * np.float32(10 ** (10 / 20))
    return np.stack([mono, np.roll(mono, 7) * np.float32(0.8)], axis=1)


def test_dense_true_peak_is_scipys_4x_resample_poly() -> None:
    samples = mastered_like()
    upsampled = resample_poly(samples, 4, 1, axis=0).reshape(len(samples), 4, 2)
    expected = np.abs(upsampled).max(axis=(1, 2))
    np.testing.assert_allclose(truepeak.per_sample(samples), expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("threshold", [0.5, 0.9, 1.5, 3.0])
def test_sparse_true_peak_equals_dense_wherever_it_can_reach_the_threshold(
    threshold: float,
) -> None:
    samples = mastered_like()
    dense = truepeak.per_sample(samples, 0.0)
    sparse = truepeak.per_sample(samples, threshold)
    over = dense >= threshold
    assert over.any() or threshold == 3.0
    np.testing.assert_array_equal(sparse[over], dense[over])
    assert (sparse[~over] < threshold).all()
    assert truepeak.highest(samples) == dense.max()


def test_true_peak_finds_the_peak_between_samples() -> None:
    # A quarter-rate sine at 45 degrees: every sample at 0.707, the waveform at 1.0.
    t = np.arange(48000)
    samples = np.sin(np.pi / 2 * t + np.pi / 4).astype(np.float32)[:, None]
    assert np.abs(samples).max() == pytest.approx(0.7071, abs=1e-3)
    assert 20 * np.log10(truepeak.highest(samples)) == pytest.approx(0.0, abs=0.2)
    assert truepeak.highest(np.zeros((100, 2), np.float32)) == 0.0


@pytest.mark.parametrize("width", [1, 5, 385])
def test_running_minimum_and_moving_average_are_the_centred_windows(width: int) -> None:
    values = np.random.default_rng(3).uniform(0.2, 1.0, 2000).astype(np.float32)
    half = width // 2
    extended = np.pad(values, half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(extended, width)
    np.testing.assert_array_equal(_running_minimum(values, width), windows.min(axis=1))
    mirrored = np.pad(values.astype(np.float64), half, mode="symmetric")
    means = np.lib.stride_tricks.sliding_window_view(mirrored, width).mean(axis=1)
    np.testing.assert_allclose(_moving_average(values, width), means, rtol=0, atol=1e-12)


def test_limiter_only_lowers_the_gain_and_only_around_peaks_over_the_ceiling() -> None:
    samples = mastered_like()
    ceiling = 10 ** (-1.5 / 20)
    limited = _limit(samples.copy(), 48000, ceiling)  # it limits in place
    # Per sample the gain is under ceiling / peak; between samples a gain that moves can
    # leave a few hundredths of a dB, which `master` checks for and takes off.
    assert 20 * np.log10(truepeak.per_sample(limited).max() / ceiling) < 0.05
    assert (np.abs(limited) <= np.abs(samples)).all()
    over = truepeak.per_sample(samples) > ceiling
    near = np.convolve(over, np.ones(2 * 385 + 1), mode="same") > 0  # the look-ahead window
    assert over.any() and not near.all()
    np.testing.assert_array_equal(limited[~near], samples[~near])


@pytest.mark.parametrize("target", [-23.0, -14.0, -9.0])  # the last one limited hard
def test_master_reaches_the_target_under_the_ceiling(target: float) -> None:
    voice = speech_like(48000)
    bed = generate_pad(BEDS["dawn"], 48000)[: len(voice)]
    level = integrated_loudness(voice, 48000) - 18 - integrated_loudness(bed, 48000)
    mix = voice[:, None] + bed * np.float32(10 ** (level / 20))
    mastered, measured = master(mix, 48000, loudness=target, true_peak=-1.0)
    assert measured.integrated == pytest.approx(target, abs=0.1)
    assert measured.integrated == integrated_loudness(mastered, 48000)
    assert 20 * np.log10(truepeak.per_sample(mastered).max()) <= -1.0


@pytest.mark.parametrize("rate", [22050, 24000, 44100])
def test_narration_is_resampled_to_48_khz_without_audible_change(rate: int) -> None:
    voice = speech_like(rate, seconds=5.0)
    voice[: rate // 2] = 0  # a recording's lead-in and tail of silence
    voice[-rate // 2 :] = 0
    ours = _resample(voice, rate)
    reference = resample_poly(voice.astype(np.float64), 48000, rate)
    assert len(ours) == len(reference)
    assert integrated_loudness(ours, 48000) == pytest.approx(
        integrated_loudness(reference.astype(np.float32), 48000), abs=0.1
    )
    # The same signal wherever resample_poly's filter is flat; over 80 % of the old
    # Nyquist its slope and the FFT's brick wall differ, as two good resamplers do.
    difference = np.abs(np.fft.rfft(ours - reference)) ** 2
    power = np.abs(np.fft.rfft(reference)) ** 2
    flat = np.fft.rfftfreq(len(reference), 1 / 48000) < 0.8 * rate / 2
    assert 10 * np.log10(difference[flat].sum() / power[flat].sum()) < -60
    ends = np.concatenate([ours[:4800], ours[-4800:]])
    assert np.abs(ends).max() < 1e-3  # no click: nothing wraps from one end to the other


def test_a_narration_cut_mid_sound_does_not_wrap_around() -> None:
    # FFT resampling treats the signal as periodic: a loud end must not leak into a
    # silent start, and under the band edge the cut is what resample_poly makes of it.
    voice = speech_like(22050, seconds=3.0)[:39966]  # stops mid-syllable
    voice[:11025] = 0  # after half a second of silence
    assert np.abs(voice[-50:]).max() > 0.1
    ours = _resample(voice, 22050)
    reference = resample_poly(voice.astype(np.float64), 320, 147)
    assert np.abs(ours[:4800]).max() < 1e-3
    under_edge = butter(8, 0.8 * 22050 / 2, fs=48000, output="sos")
    ours, reference = sosfiltfilt(under_edge, ours), sosfiltfilt(under_edge, reference)
    peak = np.abs(reference).max()
    np.testing.assert_allclose(ours[-960:], reference[-960:], rtol=0, atol=0.01 * peak)


def test_importing_the_audio_engine_loads_neither_scipy_nor_pyloudnorm() -> None:
    code = (
        "import sys, neuroshorts.audio\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('scipy', 'pyloudnorm')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
