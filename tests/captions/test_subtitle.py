"""Caption paging, look options, fonts and fallbacks, placement, caching and sidecars."""

import html
import io
import itertools
import re

import numpy as np
import pytest
import srt
import webvtt

from neuroshorts import captions
from neuroshorts.captions import (
    SAFE_9_16,
    CaptionLayer,
    CaptionLook,
    paginate,
    parse_emphasis,
    safe_area_for,
    to_ass,
    to_srt,
    to_vtt,
    write_ass,
    write_srt,
    write_vtt,
)
from neuroshorts.captions.layout import balanced_lines
from neuroshorts.errors import GlyphError
from neuroshorts.scene import Canvas, Word
from neuroshorts.scene.typography import split_runs
from support.caption_fonts import build_cjk_font

SMALL = Canvas(270, 480)


def words_at(text, start=0.0, step=0.4, length=0.3):
    return [
        Word(w, start + i * step, start + i * step + length) for i, w in enumerate(text.split())
    ]


def texts(pages):
    return [page.text for page in pages]


def ink_box(patch):
    ys, xs = np.nonzero(patch.pixels[..., 3])
    return patch.x + xs.min(), patch.y + ys.min(), patch.x + xs.max(), patch.y + ys.max()


# --- paging -------------------------------------------------------------------------


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


def test_page_closes_before_it_would_last_longer_than_max_duration():
    words = words_at("slow words spoken one by one", step=1.0, length=0.9)
    pages = paginate(words, max_words=6, max_chars=60, max_duration=2.0)
    assert texts(pages) == ["slow words", "spoken one", "by one"]
    assert all(page.words[-1].end - page.words[0].start <= 2.0 for page in pages)


def test_consecutive_pages_touch_so_captions_do_not_flicker():
    pages = paginate(words_at("a b c d e f g h"))
    for current, following in itertools.pairwise(pages):
        assert current.end == following.start
        assert current.words[-1].end <= current.end


def test_long_words_get_their_own_page_by_character_budget():
    pages = paginate(words_at("internationalization is extraordinarily long"), max_chars=18)
    assert texts(pages) == ["internationalization", "is extraordinarily", "long"]


@pytest.mark.parametrize("field", ["max_words", "max_chars", "max_duration"])
def test_paging_limits_must_be_positive(field):
    with pytest.raises(ValueError, match=field):
        paginate(words_at("a b"), **{field: 0})


def test_active_word_is_the_one_being_spoken_and_holds_through_gaps():
    page = paginate(words_at("one two three"))[0]
    assert [page.active_index(t) for t in (0.0, 0.35, 0.45, 0.95)] == [0, 0, 1, 2]
    assert page.active_index(page.end) is None


# --- lines and fitting ----------------------------------------------------------------


def test_two_lines_are_balanced_with_the_longer_line_below():
    split = balanced_lines([100, 100, 100], space=10, lines=2)
    assert [list(part) for part in split] == [[0], [1, 2]]
    split = balanced_lines([300, 50, 50, 200], space=10, lines=2)
    assert [list(part) for part in split] == [[0], [1, 2, 3]]


def test_short_page_stays_on_one_line_and_long_page_wraps_to_two():
    layer = CaptionLayer(paginate(words_at("Hi there"), max_chars=80))
    assert layer.layout(0, Canvas())[0].lines == 1
    long = "Pequeñas señales nocturnas"
    layer = CaptionLayer(paginate(words_at(long), max_words=5, max_chars=80))
    layout = layer.layout(0, Canvas())[0]
    assert layout.lines == 2 and layout.size == 96


def test_a_word_too_wide_for_the_safe_area_shrinks_instead_of_overflowing():
    word = "Supercalifragilisticexpialidocious"
    layer = CaptionLayer(paginate(words_at(word), max_chars=60))
    layout, x, _ = layer.layout(0, Canvas())
    x0, _, x1, _ = SAFE_9_16.box(Canvas())
    assert layout.size < 96
    assert x0 <= x and x + layout.width <= x1


@pytest.mark.parametrize("canvas", [Canvas(), Canvas(540, 960)])
@pytest.mark.parametrize(
    "text", ["Hi", "Pequeñas señales", "Supercalifragilisticexpialidocious extraordinarily"]
)
def test_caption_ink_stays_inside_the_safe_area(canvas, text):
    layer = CaptionLayer(paginate(words_at(text), max_words=3, max_chars=60))
    x0, y0, x1, y1 = SAFE_9_16.box(canvas)
    left, top, right, bottom = ink_box(layer.patch(0.0, canvas))
    assert left >= x0 and right < x1
    assert top >= y0 and bottom < y1


@pytest.mark.parametrize(
    ("canvas", "name"),
    [(Canvas(1080, 1920), "9:16"), (Canvas(1080, 1080), "1:1"), (Canvas(1920, 1080), "16:9")],
)
def test_auto_safe_area_follows_the_aspect(canvas, name):
    assert safe_area_for(canvas) is captions.SAFE_AREAS[name]


def test_9_16_safe_area_clears_every_platform():
    for name in ("tiktok", "shorts", "reels"):
        platform = captions.SAFE_AREAS[name]
        for side in ("top", "bottom", "left", "right"):
            assert getattr(SAFE_9_16, side) >= getattr(platform, side)


def test_unknown_safe_area_name_is_refused_with_the_choices():
    with pytest.raises(ValueError, match=r"safe_area: got 'ipad'.*tiktok"):
        CaptionLayer([], safe="ipad")


# --- look -------------------------------------------------------------------------------


def test_caption_is_white_text_with_a_dark_outline():
    patch = CaptionLayer(paginate(words_at("HOLA"))).patch(0.0, Canvas())
    opaque = patch.pixels[patch.pixels[..., 3] == 255][:, :3]
    brightness = opaque.mean(axis=1)
    assert (brightness > 240).mean() > 0.2  # fill
    assert (brightness < 15).mean() > 0.2  # outline


def test_uppercase_option_draws_capitals_and_keeps_the_spoken_text():
    look = CaptionLook(uppercase=True)
    assert look.token("señal") == "SEÑAL"
    layer = CaptionLayer(paginate(words_at("señal")), look=look)
    assert layer.page_at(0.0).text == "señal"


def test_keyword_emphasis_colours_a_word_and_appends_an_emoji():
    look = CaptionLook(emphasis=parse_emphasis("Hearts:#ff0000, octopus:🐙"))
    assert look.fill_for("hearts,") == "#ff0000" and look.fill_for("blood") == "white"
    assert look.token("Octopus!") == "Octopus! 🐙"
    patch = CaptionLayer(paginate(words_at("hearts")), look=look).patch(0.0, Canvas())
    rgb = patch.pixels[patch.pixels[..., 3] == 255][:, :3].astype(int)
    red = (rgb[:, 0] > 200) & (rgb[:, 1] < 40) & (rgb[:, 2] < 40)
    assert red.mean() > 0.2


def test_emphasis_items_must_be_word_colon_value():
    with pytest.raises(ValueError, match=r"caption_keywords: item 'hearts'"):
        parse_emphasis("hearts")


@pytest.mark.parametrize(
    ("field", "value"),
    [("fill", "notacolour"), ("box_opacity", 1.5), ("position", "left"), ("size", 2)],
)
def test_invalid_look_options_name_the_option(field, value):
    with pytest.raises(ValueError, match=f"^{field}: "):
        CaptionLook(**{field: value})


def test_unknown_style_lists_the_styles():
    with pytest.raises(ValueError, match=r"caption_style: got 'fancy'.*karaoke.*highlight"):
        CaptionLayer([], "fancy")


# --- fonts --------------------------------------------------------------------------------


def test_latin_and_spanish_use_the_caption_font_and_emoji_the_emoji_font():
    runs = split_runs("¿Qué? ñandú 🐙!", ("display", "emoji"))
    assert [(run.font, run.text) for run in runs] == [
        ("display", "¿Qué? ñandú "),
        ("emoji", "🐙"),
        ("display", "!"),
    ]


def test_emoji_is_drawn_in_colour():
    patch = CaptionLayer(paginate(words_at("🐙"))).patch(0.0, Canvas())
    rgb = patch.pixels[patch.pixels[..., 3] == 255][:, :3].astype(int)
    saturation = rgb.max(axis=1) - rgb.min(axis=1)
    assert (saturation > 80).mean() > 0.3


def test_a_glyph_no_font_covers_is_an_error_naming_the_character():
    layer = CaptionLayer(paginate(words_at("hola 中文")))
    with pytest.raises(GlyphError, match=r"captions: no font can draw '中' \(U\+4E2D"):
        layer.patch(0.0, SMALL)


def test_cjk_falls_back_to_the_font_the_user_names(tmp_path):
    font = build_cjk_font(tmp_path / "cjk.ttf")
    look = CaptionLook(fallback_fonts=(str(font),))
    runs = split_runs("hola 中文", look.fonts)
    assert [(run.font, run.text) for run in runs] == [("display", "hola "), (str(font), "中文")]
    patch = CaptionLayer(paginate(words_at("hola 中文")), look=look).patch(0.0, SMALL)
    assert (patch.pixels[..., 3] == 255).sum() > 200


# --- layer, states and caching -------------------------------------------------------------


def test_caption_layer_shows_the_page_whose_span_contains_t():
    layer = CaptionLayer(paginate(words_at("one two three four five six")))
    assert layer.page_at(0.0).text == "one two three"
    assert layer.page_at(1.25).text == "four five six"
    assert layer.page_at(10.0) is None and layer.patch(10.0, Canvas()) is None


def test_caption_pages_are_rasterised_once():
    layer = CaptionLayer(paginate(words_at("one two three")))
    assert layer.patch(0.1, Canvas()) is layer.patch(0.9, Canvas())


def test_karaoke_renders_each_active_word_state_once_and_reuses_it(monkeypatch):
    calls = []
    real = captions.PageRenderer.render
    monkeypatch.setattr(captions.PageRenderer, "render", lambda *a: calls.append(1) or real(*a))
    layer = CaptionLayer(paginate(words_at("one two three four five six")), "karaoke")
    frames = [layer.patch(i / 30, SMALL) for i in range(int(2.4 * 30))]
    assert len(calls) == 6  # two pages x three active words
    assert frames[0] is frames[5] and frames[0] is not frames[13]


@pytest.mark.parametrize("active_fill", ["#ffd60a", "#ffd60a80"])
def test_a_page_state_drawn_after_others_is_the_one_a_fresh_layer_draws(active_fill):
    """Tiles and shadows kept from earlier states of a page (the active word's shadow is
    shared by its colours) must not change how a later state looks, even when the active
    colour is translucent and so casts a fainter shadow."""
    words = words_at("one two three")
    look = CaptionLook(active_fill=active_fill)
    walked = CaptionLayer(paginate(words), "karaoke", look)
    for t in (0.1, 0.5):  # word one spoken, then word two
        walked.patch(t, SMALL)
    later = walked.patch(0.9, SMALL).pixels  # word three spoken
    fresh = CaptionLayer(paginate(words), "karaoke", look).patch(0.9, SMALL).pixels
    np.testing.assert_array_equal(later, fresh)


def test_pop_word_grows_then_settles_within_its_animation():
    layer = CaptionLayer(paginate(words_at("one two three")), "pop")
    heights = [layer.patch(0.4 + dt, SMALL).pixels.shape for dt in (0.0, 0.12, 0.3)]
    assert heights[0] == heights[1] == heights[2]  # the image box already holds the pop
    style = layer.style
    assert style.scale_at(style.steps // 2) > 1.2 and style.scale_at(style.steps) == 1.0


def test_word_style_shows_one_word_at_a_time():
    layer = CaptionLayer(paginate(words_at("one two three four")), "word")
    assert [layer.page_at(t).text for t in (0.1, 0.5, 0.9, 1.3)] == ["one", "two", "three", "four"]


# --- sidecars --------------------------------------------------------------------------------


SCRIPT = "Hola, esto es una prueba. ¿Vale? Sí & no <3"


def test_srt_has_one_cue_per_page_with_millisecond_times(tmp_path):
    pages = paginate(words_at("Hola, esto es una prueba.", start=3661.0))
    text = to_srt(pages)
    assert text.startswith("1\n01:01:01,000 --> 01:01:01,400\nHola,\n")
    assert "\n3\n01:01:02,600 --> 01:01:03,300\nprueba.\n" in text
    path = write_srt(pages, tmp_path / "c.srt")
    assert path.read_text(encoding="utf-8") == text


def test_srt_parses_back_with_cues_matching_the_word_timings(tmp_path):
    pages = paginate(words_at(SCRIPT, start=1.0))
    cues = list(srt.parse(write_srt(pages, tmp_path / "c.srt").read_text(encoding="utf-8")))
    assert [cue.content for cue in cues] == texts(pages)
    for cue, page in zip(cues, pages, strict=True):
        assert cue.start.total_seconds() == pytest.approx(page.words[0].start, abs=5e-4)
        assert cue.end.total_seconds() == pytest.approx(page.end, abs=5e-4)
        assert cue.end.total_seconds() >= page.words[-1].end - 5e-4


def seconds(clock):
    hours, minutes, secs = clock.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(secs)


def test_vtt_parses_back_with_page_cues_and_word_timestamps(tmp_path):
    pages = paginate(words_at(SCRIPT, start=1.0))
    cues = webvtt.from_buffer(io.StringIO(write_vtt(pages, tmp_path / "c.vtt").read_text()))
    assert [html.unescape(cue.text) for cue in cues] == texts(pages)
    for cue, page in zip(cues, pages, strict=True):
        assert seconds(cue.start) == pytest.approx(page.start, abs=1e-3)
        assert seconds(cue.end) == pytest.approx(page.end, abs=1e-3)
        stamps = [seconds(s) for s in re.findall(r"<(\d+:\d+:[\d.]+)>", cue.raw_text)]
        assert stamps == pytest.approx([w.start for w in page.words[1:]], abs=1e-3)
    assert to_vtt(pages).startswith("WEBVTT\n")


def test_ass_has_a_caption_style_and_karaoke_timed_dialogue(tmp_path):
    pages = paginate(words_at("one two three"))
    look = CaptionLook(active_fill="#ff0000", uppercase=True)
    text = write_ass(pages, tmp_path / "c.ass", look, Canvas(540, 960)).read_text()
    assert "PlayResX: 540\nPlayResY: 960" in text
    assert "Style: Caption,Lato Black,48,&H000000FF,&H00FFFFFF," in text
    assert (
        "Dialogue: 0,0:00:00.00,0:00:01.50,Caption,,0,0,0,,{\\k40}ONE {\\k40}TWO {\\k30}THREE"
        in text
    )
    assert "{\\k" not in to_ass(pages, look, karaoke=False)


def test_sidecars_are_written_beside_the_video_in_the_layer_look(tmp_path):
    pages = paginate(words_at("one two three"))
    layer = CaptionLayer(pages, "plain", CaptionLook(fill="#00ff00"))
    paths = captions.write_sidecars(pages, tmp_path / "short.mp4", Canvas(540, 960), layer)
    assert {kind: path.name for kind, path in paths.items()} == {
        "srt": "short.srt",
        "vtt": "short.vtt",
        "ass": "short.ass",
    }
    ass = paths["ass"].read_text()
    assert ",&H0000FF00," in ass and "{\\k" not in ass


def test_a_missing_font_file_is_refused_naming_the_option(tmp_path):
    with pytest.raises(ValueError, match=r"^fallback_fonts: font '.*nope.ttf' is neither"):
        CaptionLook(fallback_fonts=(str(tmp_path / "nope.ttf"),))


def test_caption_images_kept_stay_bounded_over_a_long_short():
    layer = CaptionLayer(paginate(words_at(" ".join(["word"] * 100))), "pop")
    for i in range(0, 40 * 30, 3):
        layer.patch(i / 30, SMALL)
    assert len(layer._patches) <= CaptionLayer.MAX_PATCHES
    assert len(layer._renderers) <= CaptionLayer.MAX_RENDERERS


def test_a_space_after_an_emoji_is_set_in_the_text_face():
    runs = split_runs("🔥 Ñandú", ("display", "emoji"))
    assert [(run.font, run.text) for run in runs] == [("emoji", "🔥"), ("display", " Ñandú")]
