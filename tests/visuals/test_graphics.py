"""The gallery's broadcast graphics: placement in the safe area, fades, text that fits."""

import numpy as np
import pytest

from neuroshorts import visuals
from neuroshorts.captions import safe_area_for
from neuroshorts.scene import Canvas, Short, Span
from neuroshorts.scene.typography import TextStyle
from neuroshorts.visuals.graphics import balanced, line_image, text_line

FINAL, DRAFT = Canvas(), Canvas(540, 960)


def box(patch):
    height, width = patch.pixels.shape[:2]
    return patch.x, patch.y, patch.x + width, patch.y + height


def test_artwork_is_drawn_once_per_canvas_and_fades_over_the_span():
    card = visuals.QuoteCard("Now.", "Proverb", Span(1, 3), fade=0.5)
    first, later = card.patch(1.25, FINAL), card.patch(2.0, FINAL)
    assert first.pixels is later.pixels
    assert first.opacity == pytest.approx(0.5) and later.opacity == 1.0
    assert card.patch(2.0, DRAFT).pixels.shape[1] < first.pixels.shape[1]


def test_quote_card_is_centred_on_its_height_and_inside_the_frame():
    patch = visuals.QuoteCard("word " * 60, "Someone", center_y=0.4).patch(0, FINAL)
    x0, y0, x1, y1 = box(patch)
    assert abs((x0 + x1) / 2 - 540) <= 1 and abs((y0 + y1) / 2 - 0.4 * 1920) <= 1
    assert x0 >= 0 and x1 <= 1080 and y0 >= 0 and y1 <= 1920  # long quotes shrink


@pytest.mark.parametrize("canvas", [FINAL, DRAFT, Canvas(1080, 1080)])
def test_lower_third_sits_on_the_bottom_of_the_safe_area(canvas):
    third = visuals.LowerThird("Auroras over Madrid", "Strongest storm in decades", "BREAKING")
    x0, _, x1, y1 = box(third.patch(0, canvas))
    left, _, right, bottom = safe_area_for(canvas).box(canvas)
    assert (x0, x1) == (left, right)
    assert bottom - canvas.px(40) <= y1 <= bottom


def test_lower_third_chip_is_red_and_the_headline_bar_white():
    third = visuals.LowerThird("Headline", "", "LIVE", color="#ff0000")
    frame = Short(FINAL, layers=[third], duration=1).frame(0.5).astype(int)
    x0, y0, x1, y1 = box(third.patch(0, FINAL))
    chip = frame[y0 + 4, x0 + 20]
    bar = frame[y1 - 6, x1 - 20]
    assert chip[0] > 200 and chip[1] < 60 and bar.min() > 230


def test_top_strip_sits_on_the_top_of_the_safe_area():
    x0, y0, x1, _ = box(visuals.TopStrip("Markets open higher", "LIVE").patch(0, FINAL))
    left, top, right, _ = safe_area_for(FINAL).box(FINAL)
    assert (x0, y0, x1) == (left, top, right)


def test_number_badge_disc_is_centred_on_its_height_with_the_number_in_it():
    badge = visuals.NumberBadge("3", "", center_y=0.3, color="#ffd60a", number_color="#000000")
    frame = Short(FINAL, layers=[badge], duration=1).frame(0.5).astype(int)
    row = frame[round(0.3 * 1920)]
    yellow = np.flatnonzero((row[:, 0] > 200) & (row[:, 2] < 80))
    assert abs((yellow.min() + yellow.max()) / 2 - 540) <= 2
    assert 280 <= yellow.max() - yellow.min() <= 300  # the 300 px disc, less the digit
    assert (row[500:580, 0] < 60).any()  # the dark digit across the middle


def test_number_badge_with_an_item_shows_its_label_on_a_dark_box_under_the_disc():
    bare = visuals.NumberBadge("3", "", center_y=0.3).patch(0.5, FINAL)
    badge = visuals.NumberBadge("3", "Octopuses have three hearts", center_y=0.3)
    frame = Short(FINAL, layers=[badge], duration=1).frame(0.5).astype(int)
    _, _, _, disc_bottom = box(bare)
    label = frame[disc_bottom + 60 :]
    white = np.argwhere(label.min(axis=2) > 200)  # the label's type
    assert len(white) > 500 and abs(white[:, 1].mean() - 540) < 60, "centred under the disc"
    dark = (label.max(axis=2) < 40) & (label.max(axis=2) > 5)  # its box, not the black frame
    assert dark.sum() > 10_000


def test_accented_capitals_keep_their_accents():
    alpha = np.asarray(line_image("ÚLTIMA HORA", TextStyle(size=80)))[..., 3]
    assert alpha[0].max() == 0 and alpha.max() == 255  # ink starts below the first row


def test_a_line_too_long_for_its_box_shrinks_a_little_then_is_cut():
    style = TextStyle(size=40)
    fitted = text_line("a fairly short line", style, 2000)
    cut = text_line("a very long ticker line " * 10, style, 300)
    assert cut.width <= 300 and cut.height >= 0.8 * fitted.height


def test_hook_titles_wrap_into_even_lines_not_a_lone_last_word():
    style = TextStyle(size=124)  # greedy wrapping in 886 px: "Habits for laser" / "focus"
    assert balanced("Habits for laser focus", style, 886) == ["Habits for", "laser focus"]
    assert balanced("Short", style, 886) == ["Short"]


def test_a_hook_without_a_title_still_shows_its_chip():
    patch = visuals.HookTitle("", "Top 5").patch(0.5, FINAL)
    assert patch.pixels[..., 3].max() == 255
