"""The same script rendered end to end with each offline voice and with a brought recording.

Word timing accuracy per voice is measured in the audio tests; here each voice goes
through the template, papermill and the encoder, and the captions written beside the
video (WebVTT, with a time tag per word) are checked against the words they must carry.
"""

import re

import numpy as np
import pytest

from neuroshorts import audio, templates
from support.media import probe

pytestmark = pytest.mark.render

TAG = re.compile(r"<(\d\d:\d\d:\d\d\.\d\d\d)>")
CUE = re.compile(r"^(\d\d:\d\d:\d\d\.\d\d\d) --> ", re.MULTILINE)


def seconds(stamp):
    hours, minutes, rest = stamp.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(rest)


def vtt_words(path):
    """(word, start) for every word of a WebVTT file with per-word time tags.

    A cue's first word starts with the cue; each later word follows its `<hh:mm:ss.mmm>` tag.
    """
    words = []
    for block in path.read_text(encoding="utf-8").split("\n\n")[1:]:
        first, *rest = TAG.split(block.splitlines()[-1])
        words.append((first.strip(), seconds(CUE.search(block).group(1))))
        words += [
            (word.strip(), seconds(stamp))
            for stamp, word in zip(rest[::2], rest[1::2], strict=True)
        ]
    return words


def render(tmp_path, script, voice):
    output = tmp_path / "short.mp4"
    manifest = templates.run(
        "explainer",
        {"script": script, "voice": voice, "quality": "draft", "music": "none"},
        output,
        progress=False,
    )
    return manifest, vtt_words(output.with_suffix(".vtt"))


@pytest.mark.parametrize(
    ("voice", "script"),
    [
        ("piper:en_US-joe-medium", "Octopuses have three hearts. Two pump blood."),
        ("espeak:en", "Octopuses have three hearts. Two pump blood."),
        ("espeak:es", "Hola, esto es una prueba. ¿Funciona bien? Son las 3 y 25."),
    ],
)
def test_each_offline_voice_renders_a_captioned_short(tmp_path, voice, script):
    manifest, words = render(tmp_path, script, voice)
    info = probe(manifest.video)
    assert (info.video_codec, info.audio_codec, info.width) == ("h264", "aac", 540)
    assert [word for word, _ in words] == script.split()
    starts = [start for _, start in words]
    assert starts == sorted(starts) and starts[-1] < manifest.narration_duration


def test_a_brought_recording_is_captioned_at_its_own_word_times(tmp_path):
    script = "Octopuses have three hearts. Two pump blood through the gills, and one sends it on."
    recording = audio.narrate(script, tmp_path / "recording.wav", "piper")
    _, words = render(tmp_path, script, f"file:{recording.path}")
    assert [word for word, _ in words] == script.split()
    errors = np.abs([start - w.start for (_, start), w in zip(words, recording.words, strict=True)])
    assert np.median(errors) <= 0.040 and np.percentile(errors, 95) <= 0.100
