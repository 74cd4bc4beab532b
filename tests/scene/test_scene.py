"""The scene model with tiny synthetic layers: timing, layer order and the alpha blend."""

import math

import numpy as np
import pytest

from neuroshorts.scene import AudioTrack, Canvas, Layer, Patch, Short, Span, blend
from neuroshorts.scene.planes import Planes

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


def close(pixel, expected, tolerance=2):
    """YUV 4:2:0 with 8-bit limited range round-trips RGB within a couple of levels."""
    return all(abs(int(a) - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


def black(width=16, height=12):
    """A frame big enough that chroma (one sample per 2x2) has an interior to check."""
    return Planes.blank(width, height)


def test_layers_draw_bottom_to_top_only_during_their_span():
    red, blue = Fill(solid((255, 0, 0))), Fill(solid((0, 0, 255)), Span(1.0, 2.0))
    short = Short(TINY, layers=[red, blue], duration=3.0)
    assert close(short.frame(0.5)[0, 0], (255, 0, 0))
    assert close(short.frame(1.5)[0, 0], (0, 0, 255))
    assert close(short.frame(2.0)[0, 0], (255, 0, 0))
    assert short.frame(0.5).shape == (6, 8, 3) and short.frame(0.5).dtype == np.uint8


def test_frame_is_the_encoders_yuv_frame_shown_as_rgb():
    short = Short(TINY, layers=[Fill(solid((10, 200, 90)))], duration=1.0)
    planes = short.planes(0.0)
    assert planes.buffer.size == 8 * 6 * 3 // 2  # one contiguous yuv420p frame
    assert (short.frame(0.0) == planes.to_rgb()).all()


def test_rgb_round_trips_through_yuv_within_two_levels():
    rng = np.random.default_rng(5)
    colours = rng.integers(0, 256, size=(20, 3))
    for colour in colours:
        back = Planes.from_rgb(solid(tuple(int(c) for c in colour))).to_rgb()
        assert close(back[2, 2], colour), colour


def test_rgba_patch_blends_with_straight_alpha_inside_its_box_only():
    frame = black()
    white_half = solid((255, 255, 255, 128), height=2, width=3)
    blend(frame, Patch(white_half, x=3, y=1))  # odd position: padded to even, same box
    rgb = frame.to_rgb()
    assert close(rgb[1, 3], (128, 128, 128)) and close(rgb[2, 5], (128, 128, 128))
    assert close(rgb[0, 0], (0, 0, 0)) and close(rgb[3, 3], (0, 0, 0))
    assert close(rgb[1, 2], (0, 0, 0)) and close(rgb[1, 6], (0, 0, 0))


def test_patch_opacity_scales_alpha():
    frame = black()
    blend(frame, Patch(solid((200, 100, 0)), opacity=0.5))
    assert close(frame.to_rgb()[0, 0], (100, 50, 0), tolerance=3)


def test_patch_partly_outside_the_canvas_is_clipped():
    frame = black()
    blend(frame, Patch(solid((255, 0, 0), height=8, width=8), x=-4, y=6))
    rgb = frame.to_rgb()
    assert close(rgb[9, 1], (255, 0, 0)) and close(rgb[11, 2], (255, 0, 0))
    assert close(rgb[3, 0], (0, 0, 0)) and close(rgb[9, 7], (0, 0, 0))
    blend(frame, Patch(solid((0, 255, 0)), x=100, y=100))  # entirely outside: no error


def test_yuv_patches_copy_and_mix():
    frame = black()
    green = Planes.from_rgb(solid((0, 255, 0), height=8, width=8))
    blend(frame, Patch(green, x=4, y=2))
    rgb = frame.to_rgb()
    assert close(rgb[6, 8], (0, 255, 0)) and close(rgb[0, 0], (0, 0, 0))
    white = Planes.from_rgb(solid((255, 255, 255), height=12, width=16))
    blend(frame, Patch(white, opacity=0.25))
    assert close(frame.to_rgb()[0, 0], (64, 64, 64))
    before = frame.to_rgb()
    blend(frame, Patch(green, x=100, y=100))  # entirely outside: nothing drawn, no error
    assert np.array_equal(frame.to_rgb(), before)


class Fresh(Layer):
    """A background drawn anew for every frame, as Ken Burns and video layers are."""

    def __init__(self, color):
        self.color, self.handed = color, []

    def patch(self, t, canvas):
        planes = Planes.from_rgb(solid(self.color, canvas.height, canvas.width))
        self.handed.append(planes)
        return Patch(planes, changing=True)


def test_fresh_full_frame_planes_become_the_frame_and_shared_ones_are_never_drawn_on():
    canvas, white = Canvas(16, 12), (255, 255, 255)
    dot = Fill(solid((*white, 255), height=6, width=6), x=4, y=4)
    fresh = Fresh((255, 0, 0))
    frame = Short(canvas, layers=[fresh, dot], duration=1.0).planes(0.0)
    assert frame is fresh.handed[0], "drawn on in place: no 3 MB copy a frame"
    assert close(frame.to_rgb()[0, 0], (255, 0, 0)) and close(frame.to_rgb()[7, 7], white)

    shared = Planes.from_rgb(solid((0, 0, 255), height=12, width=16))  # a still's cached planes
    before = shared.buffer.copy()
    for _ in range(2):
        frame = Short(canvas, layers=[Fill(shared), dot], duration=1.0).planes(0.0)
        assert frame is not shared and close(frame.to_rgb()[7, 7], white)
    assert (shared.buffer == before).all(), "planes the layer keeps are left as they were"


def test_canvas_aspect_presets_scale_design_pixels_by_the_short_side():
    landscape, square = Canvas.for_aspect("16:9"), Canvas.for_aspect("1:1")
    assert (landscape.width, landscape.height) == (1920, 1080) and landscape.px(100) == 100
    assert (square.width, square.height) == (1080, 1080)
    assert Canvas.for_aspect("9:16").scaled(0.5).px(100) == 50
    with pytest.raises(ValueError, match="aspect: '4:5' is not one of"):
        Canvas.for_aspect("4:5")


def test_resized_short_keeps_timing_and_lays_out_on_new_canvas():
    short = Short(Canvas(), layers=[Fill(solid((9, 9, 9), 4, 4))], duration=1.0)
    small = short.resized(TINY)
    assert small.duration == 1.0 and small.frame(0).shape == (6, 8, 3)
