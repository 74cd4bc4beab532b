"""The scene model with tiny synthetic layers: timing, layer order and the alpha blend."""

import math

import numpy as np
import pytest

from neuroshorts.scene import AudioTrack, Canvas, Layer, Patch, Short, Span, blend

TINY = Canvas(8, 6, fps=10)


class Fill(Layer):
    """A synthetic layer: a constant patch during its span."""

    def __init__(self, pixels, span=Span(), x=0, y=0, opacity=1.0):
        self.pixels, self.span, self.x, self.y, self.opacity = pixels, span, x, y, opacity

    def patch(self, t, canvas):
        return Patch(self.pixels, self.x, self.y, self.opacity)


def solid(color, height=TINY.height, width=TINY.width):
    return np.full((height, width, len(color)), color, dtype=np.uint8)


def test_span_is_half_open_and_validated():
    span = Span(1.0, 2.0)
    assert span.contains(1.0) and span.contains(1.999) and not span.contains(2.0)
    assert span.duration == 1.0
    assert Span().end == math.inf
    with pytest.raises(ValueError, match="start < end"):
        Span(2.0, 2.0)
    with pytest.raises(ValueError):
        Span(-1.0, 1.0)


def test_canvas_rejects_odd_sizes_and_scales_to_even():
    with pytest.raises(ValueError, match="even"):
        Canvas(1081, 1920)
    draft = Canvas().scaled(0.5)
    assert (draft.width, draft.height, draft.fps) == (540, 960, 30)
    assert draft.px(100) == 50


def test_duration_comes_from_narration_plus_tail():
    short = Short(TINY, AudioTrack("voice.wav", 2.34), tail=0.5)
    assert short.duration == pytest.approx(2.84)
    assert short.frame_count == 28
    times = list(short.times())
    assert times[0] == 0.0 and times[1] == pytest.approx(0.1) and len(times) == 28


def test_short_without_audio_needs_duration():
    with pytest.raises(ValueError, match="explicit duration"):
        Short(TINY)
    assert Short(TINY, duration=1.0).frame_count == 10


def test_layers_draw_bottom_to_top_only_during_their_span():
    red, blue = Fill(solid((255, 0, 0))), Fill(solid((0, 0, 255)), Span(1.0, 2.0))
    short = Short(TINY, layers=[red, blue], duration=3.0)
    assert short.frame(0.5)[0, 0].tolist() == [255, 0, 0]
    assert short.frame(1.5)[0, 0].tolist() == [0, 0, 255]
    assert short.frame(2.0)[0, 0].tolist() == [255, 0, 0]
    assert short.frame(0.5).shape == (6, 8, 3) and short.frame(0.5).dtype == np.uint8


def test_rgba_patch_blends_with_straight_alpha_inside_its_box_only():
    frame = solid((0, 0, 0))
    white_half = solid((255, 255, 255, 128), height=2, width=3)
    blend(frame, Patch(white_half, x=2, y=1))
    assert frame[1, 2].tolist() == [128, 128, 128]
    assert frame[2, 4].tolist() == [128, 128, 128]
    assert frame[0, 0].tolist() == [0, 0, 0] and frame[3, 2].tolist() == [0, 0, 0]


def test_patch_opacity_scales_alpha():
    frame = solid((0, 0, 0))
    blend(frame, Patch(solid((200, 100, 0)), opacity=0.5))
    assert frame[0, 0].tolist() == [100, 50, 0]


def test_patch_partly_outside_the_canvas_is_clipped():
    frame = solid((0, 0, 0))
    blend(frame, Patch(solid((255, 0, 0), height=4, width=4), x=-2, y=4))
    assert frame[4:, :2, 0].tolist() == [[255, 255], [255, 255]]
    assert frame[3, 0].tolist() == [0, 0, 0] and frame[4, 2].tolist() == [0, 0, 0]
    blend(frame, Patch(solid((0, 255, 0)), x=100, y=100))  # entirely outside: no error


def test_resized_short_keeps_timing_and_lays_out_on_new_canvas():
    short = Short(Canvas(), layers=[Fill(solid((9, 9, 9), 4, 4))], duration=1.0)
    small = short.resized(TINY)
    assert small.duration == 1.0 and small.frame(0).shape == (6, 8, 3)
