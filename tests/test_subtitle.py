"""Caption paging from word timings, caption placement in the safe area, SRT output."""

import itertools

import numpy as np
import pytest

from neuroshorts.engines.subtitle import SAFE_9_16, CaptionLayer, paginate, to_srt, write_srt
from neuroshorts.scene import Canvas, Word


def words_at(text, start=0.0, step=0.4, length=0.3):
    return [
        Word(w, start + i * step, start + i * step + length) for i, w in enumerate(text.split())
    ]


def texts(pages):
    return [page.text for page in pages]


def test_pages_hold_one_to_three_words_and_keep_every_word_in_order():
    words = words_at("one two three four five six seven")
    pages = paginate(words)
    assert texts(pages) == ["one two three", "four five six", "seven"]
    assert [w for page in pages for w in page.words] == words


def test_page_breaks_after_clause_punctuation():
    pages = paginate(words_at("Hola, esto es una prueba. ¿Vale?"))
    assert texts(pages) == ["Hola,", "esto es una", "prueba.", "¿Vale?"]


def test_page_breaks_on_a_long_pause_and_clears_during_it():
    words = words_at("before the pause") + words_at("after it", start=5.0)
    pages = paginate(words, linger=0.4)
    assert texts(pages) == ["before the pause", "after it"]
    assert pages[0].end == pytest.approx(words[2].end + 0.4)
    assert pages[1].start == 5.0


def test_consecutive_pages_touch_so_captions_do_not_flicker():
    pages = paginate(words_at("a b c d e f g h"))
    for current, following in itertools.pairwise(pages):
        assert current.end == following.start
        assert current.words[-1].end <= current.end


def test_long_words_get_their_own_page_by_character_budget():
    pages = paginate(words_at("internationalization is extraordinarily long"), max_chars=18)
    assert texts(pages) == ["internationalization", "is extraordinarily", "long"]


def test_caption_layer_shows_the_page_whose_span_contains_t():
    layer = CaptionLayer(paginate(words_at("one two three four five six")))
    assert layer.page_at(0.0).text == "one two three"
    assert layer.page_at(1.25).text == "four five six"
    assert layer.page_at(10.0) is None and layer.patch(10.0, Canvas()) is None


@pytest.mark.parametrize("canvas", [Canvas(), Canvas(540, 960)])
@pytest.mark.parametrize(
    "text", ["Hi", "Pequeñas señales", "Supercalifragilisticexpialidocious extraordinarily"]
)
def test_caption_ink_stays_inside_the_safe_area(canvas, text):
    layer = CaptionLayer(paginate(words_at(text), max_words=3, max_chars=60))
    patch = layer.patch(0.0, canvas)
    ys, xs = np.nonzero(patch.pixels[..., 3])
    x0, y0, x1, y1 = SAFE_9_16.box(canvas)
    assert xs.size > 0
    assert patch.x + xs.min() >= x0 and patch.x + xs.max() < x1
    assert patch.y + ys.min() >= y0 and patch.y + ys.max() < y1


def test_caption_is_white_text_with_a_dark_outline():
    patch = CaptionLayer(paginate(words_at("HOLA"))).patch(0.0, Canvas())
    opaque = patch.pixels[patch.pixels[..., 3] == 255][:, :3]
    brightness = opaque.mean(axis=1)
    assert (brightness > 240).mean() > 0.2  # fill
    assert (brightness < 15).mean() > 0.2  # outline


def test_caption_pages_are_rasterised_once():
    layer = CaptionLayer(paginate(words_at("one two three")))
    assert layer.patch(0.1, Canvas()) is layer.patch(0.9, Canvas())


def test_srt_has_one_cue_per_page_with_millisecond_times(tmp_path):
    pages = paginate(words_at("Hola, esto es una prueba.", start=3661.0))
    srt = to_srt(pages)
    assert srt.startswith("1\n01:01:01,000 --> 01:01:01,400\nHola,\n")
    assert "\n3\n01:01:02,600 --> 01:01:03,300\nprueba.\n" in srt
    path = write_srt(pages, tmp_path / "c.srt")
    assert path.read_text(encoding="utf-8") == srt
