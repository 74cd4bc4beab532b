"""Narration the user brings (`file:`): the script timed on their recording by DTW.

The recordings are built with known word times (issue 3, acceptance 1): phrases of the
script, or single words, each synthesized alone with its word times, joined with pauses
of 0.1-0.6 s, so phrasing and pauses (and with another voice, the timbre) differ from
our reference reading.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from neuroshorts.audio import Narration, narrate
from neuroshorts.audio.decode import read_wav, write_wav
from neuroshorts.audio.textnorm import spoken_forms
from neuroshorts.audio.voices import resolve_voice
from support.audio_timing import onset_errors_ms, phrases

pytestmark = pytest.mark.slow

ENGLISH = (
    "Octopuses have three hearts. Two pump blood through the gills, and one sends it to "
    "the rest of the body. In 2024, divers counted 300 of them near one reef!"
)
SPANISH = (
    "Los pulpos tienen tres corazones. Dos bombean sangre a las branquias, y uno la envía "
    "al resto del cuerpo. En 2024, unos buzos contaron 300 cerca de un arrecife."
)


def recording(
    voice: str, script: str, language: str, path: Path, *, seed: int = 0, longest: int = 4
) -> np.ndarray:
    """Write `script` read by `voice` in phrases of up to `longest` words (each phrase
    synthesized alone), with random pauses between them; return the known onsets."""
    words = script.split()
    spoken = spoken_forms(words, language)
    speaker = resolve_voice(voice)
    random = np.random.default_rng(seed)
    pieces: list[np.ndarray] = []
    onsets = np.zeros(len(words))
    position, rate = 0, 22050
    for group in phrases(words, longest):
        speech = speaker.speak([spoken[i] for i in group], speed=1.0, pause=0.3)
        rate = speech.rate
        pause = np.zeros(round(random.uniform(0.1, 0.6) * rate), dtype=np.float32)
        position += len(pause)
        for index, span in zip(group, speech.spans, strict=True):
            assert span is not None
            onsets[index] = position / rate + span[0]
        pieces += [pause, speech.samples]
        position += len(speech.samples)
    write_wav(path, np.concatenate(pieces), rate)
    return onsets


def starts(narration: Narration) -> Sequence[float]:
    return [word.start for word in narration.words]


@pytest.mark.parametrize("longest", [4, 1], ids=["phrases", "single words"])
@pytest.mark.parametrize(
    ("voice", "script", "language"),
    [("piper", ENGLISH, "en"), ("espeak:es", SPANISH, "es")],
    ids=["english", "spanish"],
)
def test_brought_recording_is_timed_within_40_ms_median(
    voice: str, script: str, language: str, longest: int, tmp_path: Path
) -> None:
    onsets = recording(voice, script, language, tmp_path / "brought.wav", longest=longest)
    # No language given: the script tells English from Spanish.
    narration = narrate(script, tmp_path / "out.wav", f"file:{tmp_path / 'brought.wav'}")
    assert [word.text for word in narration.words] == script.split()
    errors = onset_errors_ms(starts(narration), onsets)
    assert np.median(errors) <= 40 and np.percentile(errors, 95) <= 100, errors
    # No word a pause away: a word ending a phrase ("sends it |"), or one whose sounds
    # resemble the end of the phrase before ("trescientos | cerca"), once took the other
    # side of the pause: 300-860 ms off in 4-8 of 30 English readings and 16 of 20
    # Spanish pause patterns, measured (docs/decisions/audio-figures.md).
    assert errors.max() <= 200, errors


def test_another_voice_than_the_reference_is_timed_roughly(tmp_path: Path) -> None:
    # espeak-ng against the Piper reading: measured 41-50 ms median, 88-139 ms p95 over
    # six seeds; part of it is the engines' different idea of where a word starts
    # (espeak marks words ~40 ms earlier than Piper). A guard, not the 40 ms target.
    onsets = recording("espeak:en", ENGLISH, "en", tmp_path / "other.wav")
    narration = narrate(ENGLISH, tmp_path / "out.wav", f"file:{tmp_path / 'other.wav'}")
    errors = onset_errors_ms(starts(narration), onsets)
    assert np.median(errors) <= 60 and np.percentile(errors, 95) <= 200, errors
    assert errors.max() <= 250, errors


@pytest.mark.parametrize("suffix", [".mp3", ".m4a"])
def test_compressed_recordings_are_decoded_by_the_bundled_ffmpeg(
    suffix: str, tmp_path: Path
) -> None:
    script = "Alpha bravo. Charlie delta."
    recording("espeak:en", script, "en", tmp_path / "source.wav")
    compressed = tmp_path / f"source{suffix}"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", tmp_path / "source.wav", compressed],
        check=True,
    )
    original = narrate(script, tmp_path / "a.wav", f"file:{tmp_path / 'source.wav'}")
    decoded = narrate(script, tmp_path / "b.wav", f"file:{compressed}")
    samples, rate = read_wav(decoded.path)
    assert rate == 48000 and samples.ndim == 1
    assert decoded.duration == pytest.approx(original.duration, abs=0.08)  # codec padding
    assert np.median(onset_errors_ms(starts(decoded), starts(original))) <= 30 + 1e-9


def test_unreadable_recording_is_rejected_by_name(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.wav"
    bogus.write_text("this is not audio")
    with pytest.raises(ValueError) as raised:
        narrate("Hello there.", tmp_path / "out.wav", f"file:{bogus}")
    message = str(raised.value)
    assert message.startswith("voice:") and str(bogus) in message and "MP3, WAV" in message
    assert not (tmp_path / "out.wav").exists()


def test_missing_recording_is_rejected_by_name(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"voice: file '.*gone\.wav' does not exist"):
        narrate("Hello there.", tmp_path / "out.wav", f"file:{tmp_path / 'gone.wav'}")
    assert not (tmp_path / "out.wav").exists()


def test_empty_script_with_a_recording_is_rejected_first(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"script: nothing to narrate in ''"):
        narrate("", tmp_path / "out.wav", f"file:{tmp_path / 'gone.wav'}")
    assert not (tmp_path / "out.wav").exists()
