"""The template studio (form, player, renders) in a real JupyterLab and headless Chromium.

A notebook calls `studio.studio("explainer")` as a designer would; the form is used
through its page controls, and what the page shows is checked: the canvas's pixels
against frames this test composes itself (`studio_page.Frames`), the progress bar's
values, the rendered video in its `<video>` element, the boxes of the layout.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest

from support.lab import write_notebook
from support.media import probe
from support.studio_page import (
    IN_A_PAGE,
    Frames,
    field,
    focus_player,
    player_page,
    seek,
    settle,
    studio_lab,
    tab,
    time_to_new_frame,
)

pytestmark = IN_A_PAGE

NOTEBOOK = "studio.ipynb"
VALUES = {"quality": "draft"}
AT = 3.0
#: caption_style values in an order that rebuilds every time (the studio keeps 4 shorts).
STYLES = ["plain", "highlight", "pop", "word", "karaoke"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with studio_lab(tmp_path_factory.mktemp("jupyterlab")) as server:
        write_notebook(
            server.root / NOTEBOOK,
            [
                "from neuroshorts import studio",
                f"ui = studio.studio('explainer', {VALUES!r}, t={AT})\nui",
            ],
        )
        yield server


@pytest.fixture(scope="module")
def frames():
    """The default short's frames (composing it also caches its narration)."""
    return Frames(VALUES)


@pytest.fixture(scope="module")
def page(lab, frames, tmp_path_factory):
    with player_page(lab, NOTEBOOK, tmp_path_factory.mktemp("failure")) as page:
        yield page


def loop_marks(page) -> list[bool]:
    return page.locator(".ns-mark").evaluate_all(
        "marks => marks.map(m => m.classList.contains('ns-active'))"
    )


def test_a_caption_style_change_shows_the_new_frame_at_the_same_playhead_fast(page, frames):
    found, error = settle(page, frames, AT)
    assert found == round(AT * 30) and error < 2.5, (found, error)
    focus_player(page)
    seek(page, 2.0)
    page.keyboard.press("i")
    seek(page, 4.0)
    page.keyboard.press("o")
    seek(page, AT)
    settle(page, frames, AT)
    assert loop_marks(page) == [True, True]
    tab(page, "Captions")
    select = field(page, "caption_style").locator("select")
    latencies = []
    for style in STYLES:
        expected = Frames({**VALUES, "caption_style": style})
        latencies.append(
            time_to_new_frame(page, select, lambda style=style: select.select_option(style))
        )
        found, error = settle(page, expected, AT)
        assert found == round(AT * 30) and error < 2.5, (style, found, error)
        assert loop_marks(page) == [True, True], f"the loop marks went with {style}"
    print(f"caption_style change to new frame on screen, s: {latencies}")
    assert statistics.median(latencies) <= 0.3, latencies


def test_a_refused_value_shows_at_its_field_and_no_render_starts(page, lab):
    tab(page, "Visuals")
    zoom = field(page, "zoom").locator("input")
    zoom.fill("big")
    zoom.press("Enter")
    message = page.locator(".ns-field-error", has_text="'zoom'")
    message.wait_for()
    assert message.inner_text() == "parameter 'zoom': got 'big', expected a float"
    page.get_by_role("button", name="Render draft").click()
    page.get_by_text("not rendered: zoom is refused").wait_for()
    assert not (lab.root / "renders").exists()
    zoom.fill("1.12")
    zoom.press("Enter")
    message.wait_for(state="detached")


def test_a_render_follows_its_frames_to_100_percent_and_plays_in_place(page, lab, frames):
    tab(page, "Output")
    field(page, "quality").locator("select").select_option("final")
    page.get_by_role("button", name="Render final").click()
    status = page.locator(".widget-html").filter(has_text="%")
    seen: list[str] = []
    deadline = time.monotonic() + 300
    while not seen or "100%" not in seen[-1]:
        assert time.monotonic() < deadline, seen
        text = status.first.inner_text() if status.count() else ""
        if text and (not seen or text != seen[-1]):
            seen.append(text)
        time.sleep(0.03)  # sampling what the page shows
    encoding = [text for text in seen if text.startswith("encode")]
    print(f"progress seen: {seen}")
    assert len(set(encoding)) >= 5, seen
    rendered = lab.root / "renders" / "explainer-1-final.mp4"
    assert page.locator("table.ns-renders td:first-child").all_inner_texts() == [rendered.name]
    info = probe(rendered)
    assert (info.video_codec, info.width, info.height) == ("h264", 1080, 1920)
    video = page.locator("video.widget-image")  # ipywidgets draws its Video as that
    video.wait_for()
    duration = video.evaluate(
        "v => new Promise(done => v.readyState >= 1 ? done(v.duration)"
        " : v.addEventListener('loadedmetadata', () => done(v.duration), { once: true }))"
    )
    assert duration == pytest.approx(frames.short.duration, abs=0.1)


def boxes_apart(a: dict, b: dict) -> bool:
    return (
        a["x"] + a["width"] <= b["x"] + 0.5
        or b["x"] + b["width"] <= a["x"] + 0.5
        or a["y"] + a["height"] <= b["y"] + 0.5
        or b["y"] + b["height"] <= a["y"] + 0.5
    )


def test_the_form_and_the_player_never_overlap_at_common_widths(page, tmp_path: Path):
    output = page.locator(".jp-OutputArea-output").filter(has=page.locator(".ns-player"))
    for width in (1280, 1920):
        page.set_viewport_size({"width": width, "height": 1000})
        page.wait_for_timeout(300)
        output.scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / f"studio-{width}.png"))
        area = output.bounding_box()
        form = page.locator(".lm-TabPanel, .widget-tab").first.bounding_box()
        player = page.locator(".ns-player").bounding_box()
        assert boxes_apart(form, player), (width, form, player)
        for box in (form, player):
            assert (
                box["x"] >= area["x"] - 0.5
                and box["x"] + box["width"] <= area["x"] + area["width"] + 0.5
            ), (width, box, area)
        inputs = page.locator(".widget-tab .widget-inline-hbox:visible")
        for i in range(inputs.count()):
            row = inputs.nth(i).bounding_box()
            assert row["x"] + row["width"] <= form["x"] + form["width"] + 0.5, (width, i, row)
    print(f"screenshots: {tmp_path}")
    page.set_viewport_size({"width": 1280, "height": 1000})
