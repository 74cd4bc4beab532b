"""Backgrounds, Ken Burns motion, the title card and sandboxed text."""

import itertools

import numpy as np
import pytest
from PIL import Image

from neuroshorts import visuals
from neuroshorts.scene import Canvas, Span

SMALL = Canvas(108, 192)


def rgb(patch):
    """A background patch as RGB, whichever form the layer hands out."""
    pixels = patch.pixels
    return pixels if isinstance(pixels, np.ndarray) else pixels.to_rgb()


def test_solid_and_gradient_backgrounds_fill_the_canvas():
    solid = rgb(visuals.background("solid:#102030", Span()).patch(0, SMALL)).astype(int)
    assert solid.shape == (192, 108, 3) and (abs(solid - [16, 32, 48]) <= 1).all()
    gradient = rgb(visuals.background("gradient:#000000,#ffffff", Span()).patch(0, SMALL))
    assert gradient[0].max() <= 1 and gradient[-1].min() >= 254
    column = gradient[:, 50, 0].astype(int)
    assert (np.diff(column) >= 0).all()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("gradient:#000", "two colours|TOP,BOTTOM"),
        ("solid:notacolour", "solid:COLOUR"),
        ("missing/photo.jpg", "does not exist"),
        ("builtin:nothing", "bundled backgrounds: builtin:aurora"),
    ],
)
def test_bad_background_names_the_field(spec, message):
    with pytest.raises((ValueError, FileNotFoundError), match=f"background.*({message})"):
        visuals.background(spec, Span(0, 1))


@pytest.fixture
def photo(tmp_path):
    """A smooth 720x1280 test card: red grows rightwards, green downwards, blue waves."""
    y, x = np.mgrid[0:1280, 0:720].astype(np.float32)
    rgb = np.stack([x / 720 * 255, y / 1280 * 255, 128 + 127 * np.sin(x / 40) * np.cos(y / 40)])
    path = tmp_path / "card.png"
    Image.fromarray(rgb.transpose(1, 2, 0).astype(np.uint8)).save(path)
    return path


def test_ken_burns_zooms_in_smoothly_over_its_span(photo):
    layer = visuals.KenBurns(photo, Span(0, 4), zoom=(1.0, 1.5))
    frames = [rgb(layer.patch(t, SMALL)).astype(int) for t in (0, 0.1, 2, 3.9, 4)]
    assert all(f.shape == (192, 108, 3) for f in frames)
    start_to_mid = np.abs(frames[2] - frames[0]).mean()
    first_step = np.abs(frames[1] - frames[0]).mean()
    last_step = np.abs(frames[4] - frames[3]).mean()
    assert start_to_mid > 20  # the picture really moves
    assert first_step < start_to_mid / 5 and last_step < start_to_mid / 5  # eased ends


def test_ken_burns_zoomed_view_is_the_centre_of_the_full_view(photo):
    layer = visuals.KenBurns(photo, Span(0, 1), zoom=(1.0, 2.0))
    wide, close = rgb(layer.patch(0, SMALL)), rgb(layer.patch(1, SMALL))
    centre = Image.fromarray(wide[48:144, 27:81]).resize((108, 192), Image.Resampling.BILINEAR)
    assert np.abs(np.asarray(centre).astype(int) - close.astype(int)).mean() < 3


def test_ken_burns_frames_are_the_same_in_order_as_one_at_a_time(photo):
    """A frame whose crop has not moved reuses the last resample: the pixels must be
    those of a layer asked for that frame alone, even after the compositor has drawn
    on the frame it was handed before."""
    canvas = Canvas(216, 384)
    layer = visuals.KenBurns(photo, Span(0, 4), zoom=(1.0, 1.3))
    times = [i / 30 for i in range(120)]
    frames = []
    for t in times:
        planes = layer.patch(t, canvas).pixels
        frames.append(planes.buffer.copy())
        planes.buffer[:] = 0  # what a caption drawn over the frame does to it, everywhere
    alone = [visuals.KenBurns(photo, Span(0, 4), zoom=(1.0, 1.3)).patch(t, canvas) for t in times]
    assert all((f == a.pixels.buffer).all() for f, a in zip(frames, alone, strict=True))
    held = sum((a == b).all() for a, b in itertools.pairwise(frames))
    assert 10 < held < len(frames) - 10  # the crop stayed put often, and moved often


def test_title_card_sits_in_the_upper_safe_area_and_fades():
    card = visuals.TitleCard("Tres corazones", Span(0, 3), fade=0.5)
    canvas = Canvas()
    full = card.patch(1.5, canvas)
    assert full.opacity == 1.0
    assert card.patch(0.25, canvas).opacity == pytest.approx(0.5)
    assert card.patch(2.9, canvas).opacity == pytest.approx(0.2)
    height, width = full.pixels.shape[:2]
    assert full.y >= canvas.height * 0.10 and full.y + height < canvas.height * 0.5
    assert full.x > 0 and full.x + width < canvas.width


def test_text_templates_fill_values_but_cannot_reach_python_internals():
    assert visuals.render_text("Top {{ n }} datos", {"n": 5}) == "Top 5 datos"
    with pytest.raises(ValueError, match="title.*unsafe"):
        visuals.render_text("{{ ''.__class__.__mro__ }}", field="title")
    with pytest.raises(ValueError, match="title.*not a valid"):
        visuals.render_text("{{ missing }}", field="title")


def test_animated_gradient_drifts_between_its_colours():
    layer = visuals.background("animated:#000000,#ffffff", Span(0, 8))
    first, later = rgb(layer.patch(0, SMALL)), rgb(layer.patch(2, SMALL))
    assert first[0, 0].max() <= 2 and first[-1, 0].min() >= 250
    assert np.abs(first.astype(int) - later.astype(int)).mean() > 10
    assert (first == first[:, :1]).all()  # rows are uniform: a vertical gradient


def test_fast_ken_burns_stays_within_half_a_pixel_of_the_exact_one(photo):
    fast = visuals.KenBurns(photo, Span(0, 4), zoom=(1.0, 1.3))
    exact = visuals.KenBurns(photo, Span(0, 4), zoom=(1.0, 1.3), exact=True)
    for t in (0.3, 1.7, 2.9):
        a, b = rgb(fast.patch(t, SMALL)).astype(int), rgb(exact.patch(t, SMALL)).astype(int)
        # red and green ramp ~2 levels a pixel here: half a pixel off is ~1 level
        assert np.abs(a - b)[..., :2].mean() < 1.5, t
