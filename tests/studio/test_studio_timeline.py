"""The studio's timeline model: layers, caption pages, scene cuts and waveform of tiny shorts."""

import importlib
import json
import math

import numpy as np
import pytest

from neuroshorts import captions, visuals
from neuroshorts.audio.decode import write_wav
from neuroshorts.media.assets import resolve
from neuroshorts.scene import AudioTrack, Canvas, Short, Span, Word
from neuroshorts.studio.timeline import timeline, waveform
from support.media import tone_short

SMALL = Canvas(64, 112, fps=10)
RATE = 8000


def words(*texts, step=0.5):
    return [Word(text, i * step, i * step + 0.4) for i, text in enumerate(texts)]


def hand_built(**options):
    pages = captions.paginate(words("Octopuses", "have", "three", "hearts."), max_words=2)
    layers = [
        visuals.background("solid:#ff0000", Span(0, 2)),
        visuals.TitleCard("Hello", Span(0.5, 1.5)),
        visuals.ProgressBar(Span(0.0)),  # runs "for ever": ends with the short
        visuals.TitleCard("Too late", Span(5, 6)),
        captions.CaptionLayer(pages),
    ]
    return Short(SMALL, layers=layers, duration=2.5, **options)


def envelope_wav(path, levels, seconds_each=1.0, channels=1):
    """A WAV of 440 Hz tone at each of `levels` in turn (0 is silence), `seconds_each` long."""
    n = round(seconds_each * RATE)
    tone = np.sin(np.arange(n) * 2 * np.pi * 440 / RATE)
    samples = np.concatenate([level * tone for level in levels]).astype(np.float32)
    if channels == 2:  # the loud channel is the right one: peaks take either channel
        samples = np.stack([samples * 0.1, samples], axis=1)
    return write_wav(path, samples, RATE)


def test_one_entry_per_layer_bottom_to_top_with_kind_label_and_clamped_span():
    model = timeline(hand_built())
    assert model["duration"] == 2.5 and model["fps"] == 10
    layers = [(layer["kind"], layer["label"]) for layer in model["layers"]]
    assert layers == [
        ("SolidBackground", "#ff0000"),
        ("TitleCard", "Hello"),
        ("ProgressBar", ""),
        ("TitleCard", "Too late"),
        ("CaptionLayer", "plain, 2 pages"),
    ]
    spans = [(layer["start"], layer["end"]) for layer in model["layers"]]
    assert spans[:4] == [(0.0, 2.0), (0.5, 1.5), (0.0, 2.5), (2.5, 2.5)]
    assert all("parts" not in layer for layer in model["layers"])


def test_duration_is_the_encoded_length_in_whole_frames():
    short = Short(SMALL, layers=[visuals.background("solid:#000000", Span())], duration=1.01)
    model = timeline(short)
    assert model["duration"] == short.frame_count / SMALL.fps == 1.0
    assert model["layers"][0]["end"] == 1.0


def test_caption_pages_and_word_times_are_the_layers_pages_in_time_order():
    early = captions.CaptionLayer(captions.paginate(words("one", "two", "three"), max_words=2))
    late_words = [Word("later", 1.6, 1.9)]
    late = captions.CaptionLayer(captions.paginate(late_words))
    short = Short(SMALL, layers=[late, early], duration=2.5)
    chips = timeline(short)["captions"]
    expected = sorted([*early.pages, *late.pages], key=lambda page: page.start)
    assert [c["text"] for c in chips] == ["one two", "three", "later"]
    assert [(c["start"], c["end"]) for c in chips] == [
        (round(p.start, 4), round(p.end, 4)) for p in expected
    ]
    for caption, page in zip(chips, expected, strict=True):
        assert caption["words"] == [
            {"text": w.text, "start": round(w.start, 4), "end": round(w.end, 4)} for w in page.words
        ]


def test_word_style_captions_list_the_styles_one_word_pages():
    layer = captions.CaptionLayer(captions.paginate(words("a", "b", "c")), style="word")
    chips = timeline(Short(SMALL, layers=[layer], duration=2))["captions"]
    assert [c["text"] for c in chips] == ["a", "b", "c"] == [p.text for p in layer.pages]


def test_scenes_are_the_starts_of_the_later_segments_with_each_segment_as_a_part():
    segments = visuals.Segments(
        [
            visuals.background("solid:#ff0000", Span(0, 1.2)),
            visuals.background("gradient:#000000,#ffffff", Span(1.2, 2.5)),
            visuals.background("animated:#00ff00,#0000ff", Span(2.5, 9)),
        ],
        transition="slide",
    )
    model = timeline(Short(SMALL, layers=[segments], duration=3))
    assert model["scenes"] == [1.2, 2.5]
    (layer,) = model["layers"]
    assert layer["kind"] == "Segments" and layer["label"] == "3 scenes, slide"
    assert (layer["start"], layer["end"]) == (0.0, 3.0)
    assert layer["parts"] == [
        {"label": "#ff0000", "start": 0.0, "end": 1.2},
        {"label": "#000000 → #ffffff", "start": 1.2, "end": 2.5},
        {"label": "#00ff00 → #0000ff", "start": 2.5, "end": 3.0},
    ]


def test_scenes_of_a_sequence_are_its_sentence_cuts_sorted_and_unique():
    spoken = [Word("One.", 0.0, 0.4), Word("Two.", 1.0, 1.4), Word("Three.", 2.0, 2.4)]
    scenes = [visuals.Shot("solid:#111111"), visuals.Shot("solid:#222222", "Two")]
    layers = visuals.sequence(scenes, spoken, 3.0, visuals.background)
    twice = [*layers, *visuals.sequence(scenes, spoken, 3.0, visuals.background)]
    model = timeline(Short(SMALL, layers=twice, duration=3.0))
    assert model["scenes"] == [layers[0].segments[1].span.start] == [1.0]


def test_waveform_follows_a_known_envelope(tmp_path):
    wav = envelope_wav(tmp_path / "steps.wav", [0.0, 0.5, 1.0])
    peaks = waveform(wav, 3.0, buckets=30)
    assert len(peaks) == 30
    assert max(peaks[:10]) == 0.0
    assert all(abs(p - 0.5) < 0.01 for p in peaks[10:20])
    assert max(peaks[20:]) == 1.0 and min(peaks[20:]) > 0.99


def test_waveform_takes_the_louder_channel_of_a_stereo_file(tmp_path):
    wav = envelope_wav(tmp_path / "stereo.wav", [0.5, 1.0], channels=2)
    peaks = waveform(wav, 2.0, buckets=4)
    assert [round(p, 2) for p in peaks] == [0.5, 0.5, 1.0, 1.0]


def test_waveform_ignores_audio_past_the_duration_and_is_zero_past_the_audio(tmp_path):
    wav = envelope_wav(tmp_path / "steps.wav", [0.5, 1.0])
    cut = waveform(wav, 1.0, buckets=4)  # only the quiet second counts: it is the loudest
    assert all(p > 0.99 for p in cut)
    longer = waveform(wav, 4.0, buckets=8)  # two seconds of audio, then nothing
    assert [round(p, 2) for p in longer] == [0.5, 0.5, 1.0, 1.0, 0, 0, 0, 0]


def test_silent_soundtrack_gives_zeros_and_no_soundtrack_gives_no_waveform(tmp_path):
    silent = envelope_wav(tmp_path / "silent.wav", [0.0, 0.0])
    short = Short(SMALL, AudioTrack(str(silent), 2.0), [], tail=0.0)
    assert timeline(short, peaks=50)["waveform"] == [0.0] * 50
    assert timeline(hand_built())["waveform"] == []
    missing = Short(SMALL, AudioTrack(str(tmp_path / "gone.wav"), 2.0), [], tail=0.0)
    assert timeline(missing)["waveform"] == []


def test_waveform_is_computed_once_per_file_version(tmp_path, monkeypatch):
    module = importlib.import_module("neuroshorts.studio.timeline")
    wav = envelope_wav(tmp_path / "once.wav", [1.0])
    reads = []
    real = module.read_wav
    monkeypatch.setattr(module, "read_wav", lambda path: reads.append(path) or real(path))
    first = waveform(wav, 1.0, buckets=10)
    assert waveform(str(wav), 1.0, buckets=10) == first and len(reads) == 1
    envelope_wav(wav, [0.0, 1.0])  # rewritten: another size and mtime
    assert waveform(wav, 1.0, buckets=10) == [0.0] * 10 and len(reads) == 2


def test_the_model_of_a_real_short_is_plain_json_that_round_trips(tmp_path):
    short = tone_short(tmp_path, "builtin:aurora")
    model = timeline(short, peaks=200)
    assert json.loads(json.dumps(model, allow_nan=False)) == model
    assert [layer["kind"] for layer in model["layers"]] == ["KenBurns", "TitleCard", "CaptionLayer"]
    assert [c["text"] for c in model["captions"]] == ["uno", "dos", "tres", "cuatro"]
    assert len(model["waveform"]) == 200 and max(model["waveform"]) == 1.0
    assert min(model["waveform"][-40:]) == 0.0  # the tone stops at 2.0 s of 2.5

    def plain(value):
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return type(value) in (str, int, float) and not (
            isinstance(value, float) and math.isinf(value)
        )

    assert plain(model)


def test_peaks_must_be_at_least_one(tmp_path):
    wav = envelope_wav(tmp_path / "tone.wav", [1.0])
    with pytest.raises(ValueError, match="buckets"):
        waveform(wav, 1.0, buckets=0)


def test_labels_name_the_file_of_image_and_overlay_layers():
    aurora = resolve("builtin:aurora")
    assert visuals.background("builtin:aurora", Span(0, 2)).label == aurora.name
    assert visuals.background("builtin:aurora", Span(0, 2), zoom=1.0).label == aurora.name
    assert visuals.Watermark(aurora).label == aurora.name
    assert aurora.name.startswith("aurora")


def test_text_labels_are_one_line_and_shortened_with_an_ellipsis():
    long = "A title that goes on\nand on   about octopuses, their three hearts and blue blood"
    label = visuals.TitleCard(long).label
    assert "\n" not in label and "  " not in label
    assert label.endswith("…") and len(label) <= 60
    assert label.startswith("A title that goes on and on about octopuses")
    assert visuals.TitleCard("  Short\ttitle ").label == "Short title"


def test_graphics_labels_say_their_own_text():
    assert visuals.HookTitle("Five facts", "TOP 5").label == "Five facts"
    assert visuals.QuoteCard("Be kind.", "Someone").label == "Be kind."
    assert visuals.NumberBadge("3", "Octopus").label == "3 Octopus"
    assert visuals.LowerThird("Storm hits", "More soon", "BREAKING").label == "Storm hits"
    assert visuals.TopStrip("Election night", "LIVE").label == "Election night"
    assert visuals.EndCard("Follow for more", Span(0, 1)).label == "Follow for more"
    assert visuals.TextLayer("{{ n }} tips", visuals.Box(0, 0, 1, 1), context={"n": 3}).label == (
        "3 tips"
    )
