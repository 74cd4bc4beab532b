"""Free shapes and text boxes: placed by fractions of the frame, the same in every aspect."""

import numpy as np
import pytest

from neuroshorts import visuals
from neuroshorts.scene import Canvas, Short, Span

BLACK = "solid:#000000"


def frame(canvas, *layers, t=0.5):
    return Short(canvas, layers=[visuals.background(BLACK, Span()), *layers], duration=1).frame(t)


def lit(rgb, channel=0):
    """Bounding box (x0, y0, x1, y1) of pixels bright in `channel`."""
    ys, xs = np.nonzero(rgb[..., channel] > 128)
    return xs.min(), ys.min(), xs.max() + 1, ys.max() + 1


@pytest.mark.parametrize("canvas", [Canvas(216, 384), Canvas(384, 384), Canvas(384, 216)])
def test_a_rectangle_covers_its_box_as_fractions_of_any_canvas(canvas):
    box = visuals.Box(0.25, 0.5, 0.5, 0.25)
    rgb = frame(canvas, visuals.Shape("rectangle", box, fill="#ff0000"))
    x0, y0, x1, y1 = lit(rgb)
    w, h = canvas.width, canvas.height
    assert abs(x0 - w * 0.25) <= 2 and abs(x1 - w * 0.75) <= 2
    assert abs(y0 - h * 0.5) <= 2 and abs(y1 - h * 0.75) <= 2


def test_an_ellipse_leaves_its_corners_empty_and_fills_its_centre():
    canvas = Canvas(200, 200)
    rgb = frame(canvas, visuals.Shape("ellipse", visuals.Box(0, 0, 1, 1), fill="#ff0000"))
    assert rgb[100, 100, 0] > 250
    assert rgb[3, 3, 0] < 10 and rgb[196, 196, 0] < 10
    assert rgb[100, 2, 0] > 200  # the ellipse touches the box's edges


def test_rounded_corners_scale_with_the_canvas():
    box = visuals.Box(0, 0, 1, 1)
    small, big = Canvas(270, 480), Canvas(540, 960)
    layer = visuals.Shape("rounded", box, fill="#ff0000", radius=200)
    # The empty corner's area grows with the square of the canvas size.
    corner = lambda rgb: int((rgb[:100, :100, 0] < 128).sum())  # noqa: E731
    empty_small, empty_big = corner(frame(small, layer)), corner(frame(big, layer))
    assert empty_small > 100 and 3.6 <= empty_big / empty_small <= 4.4


def test_shape_opacity_and_fade_blend_over_the_background():
    canvas = Canvas(64, 64)
    half = visuals.Shape("rectangle", visuals.Box(0, 0, 1, 1), fill="#ffffff", opacity=0.5)
    assert abs(int(frame(canvas, half)[32, 32, 0]) - 128) <= 3
    fading = visuals.Shape("rectangle", visuals.Box(0, 0, 1, 1), Span(0, 1), fade=0.5)
    assert frame(canvas, fading, t=0.0)[32, 32, 0] < 5
    assert frame(canvas, fading, t=0.5)[32, 32, 0] > 250


def test_text_is_centred_in_its_box_and_stays_inside_it():
    canvas = Canvas(540, 960)
    box = visuals.Box(0.1, 0.6, 0.8, 0.15)
    layer = visuals.TextLayer(
        "Top {{ n }} datos sobre el océano", box, context={"n": 5}, style=visuals.TEXT_STYLE
    )
    assert layer.text == "Top 5 datos sobre el océano"
    rgb = frame(canvas, layer)
    x0, y0, x1, y1 = lit(rgb, channel=1)
    bx, by, bw, bh = box.pixels(canvas)
    assert bx <= x0 and x1 <= bx + bw and by <= y0 and y1 <= by + bh
    assert abs((x0 + x1) / 2 - (bx + bw / 2)) <= 0.05 * bw


def test_long_text_shrinks_to_fit_its_box():
    canvas = Canvas(540, 960)
    box = visuals.Box(0.2, 0.1, 0.6, 0.1)
    text = "Una frase bastante larga que no cabe en una caja tan pequeña sin encoger"
    rgb = frame(canvas, visuals.TextLayer(text, box))
    x0, y0, x1, y1 = lit(rgb, channel=1)
    bx, by, bw, bh = box.pixels(canvas)
    assert bx <= x0 and x1 <= bx + bw and by <= y0 and y1 <= by + bh


def test_text_templates_stay_in_the_sandbox():
    with pytest.raises(ValueError, match="label: .* unsafe"):
        visuals.TextLayer(
            "{{ ''.__class__.__mro__[1].__subclasses__() }}", visuals.Box(0, 0, 1, 1), field="label"
        )


def test_emoji_in_text_are_drawn_in_colour_and_undrawable_characters_name_the_field():
    canvas = Canvas(540, 960)
    box = visuals.Box(0.1, 0.1, 0.8, 0.2)
    rgb = frame(canvas, visuals.TextLayer("❤", box)).astype(int)
    red = (rgb[..., 0] > 150) & (rgb[..., 1] < 90) & (rgb[..., 2] < 110)
    assert red.sum() > 500  # a red heart, not a white tofu box
    with pytest.raises(ValueError, match=r"label: no font can draw '漢'"):
        visuals.TextLayer("漢字", box, field="label")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: visuals.Shape("star", visuals.Box(0, 0, 1, 1)), "shape: 'star' is not one of"),
        (lambda: visuals.Shape("rectangle", visuals.Box(0, 0, 0, 1)), "box: .* no area"),
        (lambda: visuals.Shape("rectangle", visuals.Box(0, 0, 1, 1), fill="nope"), "'nope'"),
        (lambda: visuals.Shape("ellipse", visuals.Box(0, 0, 1, 1), opacity=2), "opacity: 2"),
    ],
)
def test_bad_shapes_name_what_is_wrong(make, message):
    with pytest.raises(ValueError, match=message):
        make()
