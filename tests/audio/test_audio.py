"""Narration with real Piper: the WAV it writes and word times checked against that audio.

Piper's synthesis is stochastic (durations vary a little from run to run), so the timing
checks compare energies with wide margins rather than fixed timestamps.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from neuroshorts.audio import DEFAULT_VOICE, MIN_WORD_SECONDS, Narration, fill_and_order, narrate
from neuroshorts.errors import VoiceError
from neuroshorts.scene import AudioTrack

HELLO = "Hello world. In 2024, we shipped 3 things: fast, small, and free!"
ALPHA = "Alpha bravo. Charlie delta."
PAUSE = 0.35


@pytest.fixture(scope="module")
def hello(tmp_path_factory: pytest.TempPathFactory) -> Narration:
    # Module-scoped so Piper is loaded (about a second) and run once for many checks.
    return narrate(HELLO, tmp_path_factory.mktemp("hello") / "nested" / "hello.wav")


@pytest.fixture(scope="module")
def alpha(tmp_path_factory: pytest.TempPathFactory) -> Narration:
    return narrate(ALPHA, tmp_path_factory.mktemp("alpha") / "alpha.wav", sentence_pause=PAUSE)


def samples(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2"), wav.getframerate()


def rms(audio: np.ndarray, rate: int, start: float, end: float) -> float:
    part = audio[round(start * rate) : round(end * rate)].astype(np.float64)
    return float(np.sqrt(np.mean(part**2)))


def longest_zero_run(audio: np.ndarray, rate: int) -> tuple[float, float]:
    """Where the longest stretch of digital silence (the inserted pause) lies, in seconds."""
    edges = np.diff(np.concatenate([[0], (audio == 0).astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    longest = int(np.argmax(ends - starts))
    return starts[longest] / rate, ends[longest] / rate


def by_text(narration: Narration, text: str):
    return next(word for word in narration.words if word.text == text)


def test_words_are_the_script_as_written(hello: Narration) -> None:
    assert [word.text for word in hello.words] == HELLO.split()


def test_wav_matches_reported_duration_and_rate(hello: Narration) -> None:
    audio, rate = samples(hello.path)
    assert rate == hello.sample_rate == 22050
    assert hello.duration == pytest.approx(len(audio) / rate, abs=1e-9)
    assert hello.path.parent.name == "nested"  # parent directories were created
    assert [p.name for p in hello.path.parent.iterdir()] == ["hello.wav"]  # no temp left
    assert hello.track() == AudioTrack(str(hello.path), hello.duration, hello.words)


def test_times_are_ordered_non_empty_and_inside_the_audio(hello: Narration) -> None:
    previous_end = 0.0
    for word in hello.words:
        assert previous_end <= word.start < word.end <= hello.duration, word
        previous_end = word.end
    # Piper's BOS/EOS lead-in and tail are silence, not part of the first or last word.
    assert hello.words[0].start > 0 and hello.words[-1].end < hello.duration


def test_crowded_times_still_get_a_frame_each_in_order() -> None:
    # Alignment resolution is ~12 ms, under a 30 fps frame; pure function, so no Piper.
    spans = [(0.0, 0.01), (0.01, 0.02), None, (0.02, 0.03), (0.49, 0.5)]
    times = fill_and_order(spans, ["a", "b", "-", "c", "d"], duration=0.5)
    previous_end = 0.0
    for start, end in times:
        assert previous_end <= start and end - start >= MIN_WORD_SECONDS - 1e-12
        previous_end = end
    assert previous_end <= 0.5


def test_a_number_gets_the_time_of_its_spoken_form(hello: Narration) -> None:
    # "2024," is spoken as "twenty twenty-four": far longer than its five characters
    # would suggest next to "we" (which character-proportional timing would give 2.5x).
    number, we = by_text(hello, "2024,"), by_text(hello, "we")
    assert number.end - number.start > 4 * (we.end - we.start)


def test_sentence_pause_falls_between_the_sentences(alpha: Narration) -> None:
    audio, rate = samples(alpha.path)
    bravo, charlie = by_text(alpha, "bravo."), by_text(alpha, "Charlie")
    assert charlie.start - bravo.end >= PAUSE
    pause_start, pause_end = longest_zero_run(audio, rate)
    assert pause_end - pause_start == pytest.approx(PAUSE, abs=0.02)
    assert bravo.end <= pause_start and pause_end <= charlie.start


@pytest.mark.parametrize(
    ("script", "before", "after"), [("alpha", "bravo.", "Charlie"), ("hello", "world.", "In")]
)
def test_every_word_is_louder_than_the_pause_between_sentences(
    request: pytest.FixtureRequest, script: str, before: str, after: str
) -> None:
    narration: Narration = request.getfixturevalue(script)
    audio, rate = samples(narration.path)
    silence = rms(audio, rate, by_text(narration, before).end, by_text(narration, after).start)
    for word in narration.words:
        assert rms(audio, rate, word.start, word.end) > 5 * silence, word


def test_a_longer_pause_is_inserted_and_reflected_in_the_times(tmp_path: Path) -> None:
    narration = narrate(ALPHA, tmp_path / "slow.wav", "piper", sentence_pause=0.8)
    audio, rate = samples(narration.path)
    pause_start, pause_end = longest_zero_run(audio, rate)
    assert pause_end - pause_start == pytest.approx(0.8, abs=0.02)
    assert by_text(narration, "Charlie").start - by_text(narration, "bravo.").end >= 0.8


def test_words_without_phonemes_of_their_own_sit_between_neighbours(tmp_path: Path) -> None:
    # "-" has no phonemes at all and espeak merges "at a": both need interpolated times.
    script = "Look at a cat - it is fine."
    narration = narrate(script, tmp_path / "dash.wav")
    assert [word.text for word in narration.words] == script.split()
    words = narration.words
    for before, word, after in zip(words, words[1:], words[2:], strict=False):
        assert before.end <= word.start < word.end <= after.start, word


@pytest.mark.parametrize(
    "voice",
    ["", "joe", "en_US-joe-medium", "piper:", "polly:Joanna", "edge", "PIPER"],
)
def test_unknown_voices_are_rejected_by_name(voice: str, tmp_path: Path) -> None:
    with pytest.raises(VoiceError) as raised:
        narrate("Hello.", tmp_path / "x.wav", voice)
    message = str(raised.value)
    assert "voice" in message and repr(voice) in message and DEFAULT_VOICE in message
    assert not (tmp_path / "x.wav").exists()


@pytest.mark.parametrize("script", ["", "   \n\t "])
def test_blank_script_is_rejected_by_name(script: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"script") as raised:
        narrate(script, tmp_path / "x.wav")
    assert repr(script) in str(raised.value)


def test_negative_pause_is_rejected_by_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"sentence_pause.*-0\.1"):
        narrate(ALPHA, tmp_path / "x.wav", sentence_pause=-0.1)
