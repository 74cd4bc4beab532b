"""The narration cache (issue 3, acceptance 3): same text, voice and settings, no synthesis."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from neuroshorts.audio import narrate
from neuroshorts.output.timing import Stages
from neuroshorts.settings import data_dir

SCRIPT = "A cached narration costs a file copy. Nothing is synthesized twice."


def test_second_narration_of_the_same_text_hits_the_cache(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first_stages, second_stages = Stages(), Stages()
    with caplog.at_level(logging.INFO, logger="neuroshorts"):
        first = narrate(SCRIPT, tmp_path / "first.wav", stages=first_stages)
        second = narrate(SCRIPT, tmp_path / "second.wav", stages=second_stages)
    assert not first.cached and second.cached
    assert "narration.synthesis" in first_stages.seconds
    assert "narration.synthesis" not in second_stages.seconds
    assert second_stages.seconds["narration.cache"] < first_stages.seconds["narration.synthesis"]
    assert any("narration cache hit" in record.message for record in caplog.records)
    assert second.words == first.words and second.duration == first.duration
    assert second.path.read_bytes() == first.path.read_bytes()
    assert len(list((data_dir() / "cache" / "narration").iterdir())) >= 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    "change",
    [{"voice": "piper"}, {"speed": 1.2}, {"sentence_pause": 0.5}, {"script": "Other words."}],
)
def test_any_change_of_text_voice_or_settings_misses(tmp_path: Path, change: dict) -> None:
    base = {"script": "Cache keys cover everything.", "voice": "espeak:en"}
    narrate(**base, out_wav=tmp_path / "base.wav")
    assert narrate(**base, out_wav=tmp_path / "again.wav").cached
    assert not narrate(**{**base, **change}, out_wav=tmp_path / "changed.wav").cached


def test_cache_can_be_bypassed(tmp_path: Path) -> None:
    narrate("Bypass me.", tmp_path / "a.wav", "espeak:en")
    again = narrate("Bypass me.", tmp_path / "b.wav", "espeak:en", use_cache=False)
    assert not again.cached
