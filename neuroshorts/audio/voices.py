"""Voice strings: `engine:name` (or `file:PATH`) to something that can speak.

| string | voice |
|---|---|
| `piper` or `piper:en_US-joe-medium` | the bundled Piper voice (offline) |
| `piper:NAME` | a Piper voice from the voices directory (see `piper_voice.voices_dir`) |
| `espeak:LANG` (`espeak:en`, `espeak:es`) | espeak-ng, the light offline fallback |
| `edge:NAME` (`edge:en-US-GuyNeural`) | edge-tts, online (extra `online`) |
| `file:PATH` | a recording the user brings of the script (WAV, MP3, M4A) |
"""

from __future__ import annotations

from neuroshorts.audio.edge import EdgeNarrator
from neuroshorts.audio.espeak import EspeakNarrator
from neuroshorts.audio.piper_voice import BUNDLED, PiperNarrator
from neuroshorts.audio.recording import BroughtNarration
from neuroshorts.audio.speech import Voice
from neuroshorts.errors import VoiceError

DEFAULT_VOICE = f"piper:{BUNDLED}"
ENGINES = ("piper", "espeak", "edge", "file")


def resolve_voice(voice: str, *, language: str = "en", allow_download: bool = False) -> Voice:
    """The voice a voice string names; `language` is the language of a `file:` recording.

    Raises `VoiceError` naming the string and what is accepted.
    """
    engine, separator, name = voice.partition(":")
    if voice == "piper":
        engine, separator, name = "piper", ":", BUNDLED
    if not separator or engine not in ENGINES or not name:
        raise VoiceError(
            f"voice: unknown voice {voice!r}; expected engine:name with engine one of "
            f"{', '.join(ENGINES)}, e.g. {DEFAULT_VOICE!r}, 'espeak:es' or 'file:narration.wav'"
        )
    if engine == "piper":
        return PiperNarrator(name, allow_download=allow_download)
    if engine == "espeak":
        return EspeakNarrator(name)
    if engine == "edge":
        return EdgeNarrator(name)
    return BroughtNarration(name, language, lambda: reference_voice(language))


def reference_voice(language: str) -> Voice:
    """The voice that reads a script for aligning a brought recording in `language`."""
    if language.split("-")[0].split("_")[0].lower() == "en":
        return PiperNarrator(BUNDLED)
    return EspeakNarrator(language)
