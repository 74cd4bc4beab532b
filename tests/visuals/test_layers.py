"""Transitions, scenes timed to sentences, overlays and the MoviePy layer, on tiny canvases."""

import numpy as np
import pytest
from PIL import Image

from neuroshorts import visuals
from neuroshorts.scene import Canvas, Short, Span, Word

SMALL = Canvas(64, 112)
RED, BLUE = "solid:#ff0000", "solid:#0000ff"


def centre(short, t):
    return short.frame(t)[56, 32].astype(int)


def two_segments(transition):
    layer = visuals.Segments(
        [visuals.background(RED, Span(0, 1)), visuals.background(BLUE, Span(1, 2))],
        transition=transition,
        duration=0.5,
    )
    return Short(SMALL, layers=[layer], duration=2)


def test_crossfade_mixes_the_outgoing_and_incoming_backgrounds():
    short = two_segments("crossfade")
    assert centre(short, 0.9)[0] > 250 and centre(short, 1.6)[2] > 250
    halfway = centre(short, 1.25)  # eased progress is exactly 0.5 halfway through
    assert abs(halfway[0] - 128) <= 3 and abs(halfway[2] - 128) <= 3


def test_slide_pushes_the_outgoing_background_out_to_the_left():
    frame = two_segments("slide").frame(1.25).astype(int)
    assert frame[56, 5, 0] > 250 and frame[56, 5, 2] < 5  # left half still red
    assert frame[56, 60, 2] > 250 and frame[56, 60, 0] < 5  # right half already blue


def test_zoom_magnifies_the_outgoing_picture_while_the_next_fades_in(tmp_path):
    stripes = np.zeros((112, 64, 3), dtype=np.uint8)
    stripes[:, ::8] = 255
    Image.fromarray(stripes).save(tmp_path / "stripes.png")
    out = visuals.ImageBackground(tmp_path / "stripes.png", Span(0, 1))
    layer = visuals.Segments(
        [out, visuals.background(BLUE, Span(1, 2))], transition="zoom", duration=0.5
    )
    before = Short(SMALL, layers=[layer], duration=2).frame(0.9)[56, :, 0].astype(int)
    during = Short(SMALL, layers=[layer], duration=2).frame(1.1)[56, :, 0].astype(int)
    bright = lambda row: np.flatnonzero(row > row.max() / 2)  # noqa: E731
    assert np.diff(bright(during)).max() > np.diff(bright(before)).max()  # stripes spread


def test_bad_transition_names_the_field():
    with pytest.raises(ValueError, match="transition: 'wipe' is not one of"):
        visuals.Segments([visuals.background(RED, Span(0, 1))], transition="wipe")


SCRIPT = ["One", "two.", "Three", "four", "five.", "Six!", "Seven", "eight?"]
WORDS = tuple(Word(text, i * 0.5, i * 0.5 + 0.4) for i, text in enumerate(SCRIPT))


def test_sentences_start_with_their_first_word_and_cover_the_short():
    spans = visuals.sentence_spans(WORDS, 4.5)
    assert [(s.start, s.end) for s in spans] == [(0, 1.0), (1.0, 2.5), (2.5, 3.0), (3.0, 4.5)]


def test_scenes_change_on_sentence_starts():
    scenes = [visuals.Shot(RED, "first"), visuals.Shot(BLUE)]
    layers = visuals.sequence(scenes, WORDS, 4.5, visuals.background, transition="cut")
    segments, card = layers
    assert [s.span.start for s in segments.segments] == [0.0, 2.5]  # nearest to 2.25
    assert card.text == "first" and card.span == Span(0.0, 2.5)
    short = Short(SMALL, layers=layers, duration=4.5)
    assert centre(short, 2.4)[0] > 250 and centre(short, 2.6)[2] > 250


def test_more_scenes_than_sentences_split_the_time_evenly():
    scenes = [visuals.Shot(RED)] * 6
    segments = visuals.sequence(scenes, WORDS, 4.5, visuals.background)[0]
    assert [round(s.span.start, 2) for s in segments.segments] == [0, 0.75, 1.5, 2.25, 3, 3.75]


def test_progress_bar_grows_with_time_along_the_bottom():
    short = Short(SMALL, layers=[visuals.ProgressBar(Span(0, 2), color="#ffffff")], duration=2)
    half = short.frame(1.0)
    assert half[-1, :30].min() > 240 and half[-1, 34:].max() < 15
    assert half[:-8].max() < 15  # nothing above the bar
    assert short.frame(0.0).max() < 15, "an empty bar at its start"


def test_watermark_sits_in_its_corner_semi_transparent(tmp_path):
    Image.new("RGB", (40, 20), "white").save(tmp_path / "logo.png")
    mark = visuals.Watermark(tmp_path / "logo.png", width=0.25, margin=10)
    frame = Short(Canvas(), layers=[mark], duration=1).frame(0).astype(int)
    ys, xs = np.nonzero(frame[..., 0] > 100)
    assert (xs.min(), xs.max() + 1, ys.min()) == (1080 - 10 - 270, 1080 - 10, 10)
    assert xs.max() - xs.min() + 1 == 2 * (ys.max() - ys.min() + 1)  # logo aspect kept
    assert abs(frame[20, 1000, 0] - 204) <= 3  # 80% white over black


def test_end_card_fades_in_at_the_end():
    card = visuals.EndCard("Follow for more", Span(4, 5), fade=0.5)
    assert card.patch(4.25, Canvas()).opacity == pytest.approx(0.5)
    patch = card.patch(4.6, Canvas())
    assert abs(patch.y + patch.pixels.shape[0] / 2 - 0.45 * 1920) <= 1


def test_moviepy_clip_is_a_layer_with_its_mask_and_design_scale():
    from moviepy import ColorClip

    clip = ColorClip((200, 100), color=(0, 255, 0), duration=1.0).with_opacity(0.5)
    layer = visuals.MoviePyLayer(clip, x=100, y=400)
    assert layer.span == Span(0, 1.0)
    frame = Short(Canvas(540, 960), layers=[layer], duration=1).frame(0.5).astype(int)
    ys, xs = np.nonzero(frame[..., 1] > 60)
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (50, 149, 200, 249)  # half size
    assert abs(frame[220, 100, 1] - 128) <= 4  # half-transparent green over black
