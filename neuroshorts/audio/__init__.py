"""The audio engine: narration with word timings, a music bed ducked under it, loudness.

`narrate` speaks a script with any voice (Piper, espeak-ng, edge-tts or a recording the
user brings) and times each of the script's words; `mix` lays a music bed and sound
effects under the narration, ducks the music while the voice speaks and masters the
result to a platform loudness. Everything but edge-tts runs offline.
"""

from neuroshorts.audio.mastering import Loudness, measure
from neuroshorts.audio.mixing import Effect, mix
from neuroshorts.audio.music import bed_names
from neuroshorts.audio.narration import Narration, narrate
from neuroshorts.audio.voices import DEFAULT_VOICE
from neuroshorts.audio.words import MIN_WORD_SECONDS, fill_and_order
from neuroshorts.errors import AudioFileError, VoiceError

__all__ = [
    "DEFAULT_VOICE",
    "MIN_WORD_SECONDS",
    "AudioFileError",
    "Effect",
    "Loudness",
    "Narration",
    "VoiceError",
    "bed_names",
    "fill_and_order",
    "measure",
    "mix",
    "narrate",
]
