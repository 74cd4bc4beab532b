"""The studio player in a real JupyterLab, in headless Debian Chromium, on the explainer.

The template notebook itself is opened and run, as a designer would, and everything is
measured in the page: the soundtrack's own clock, the canvas's pixels (identified
against frames this test composes itself, see `studio_page`), what the timeline shows,
what keys do to the notebook.
"""

from __future__ import annotations

import itertools
import shutil

import nbformat
import numpy as np
import pytest
import srt

from neuroshorts import captions
from support.lab import run_all
from support.studio_page import (
    FPS,
    FRAME_EPSILON,
    IN_A_PAGE,
    TEMPLATE,
    Frames,
    audio_state,
    focus_player,
    play_and_measure,
    player_page,
    seek,
    settle,
    soundtrack_reaches,
    studio_lab,
)

pytestmark = IN_A_PAGE

NOTEBOOK = "explainer.ipynb"
OLD_TITLE = '"Three hearts, one octopus"'
NEW_TITLE = "Ocho brazos, tres corazones"


def cells(page) -> list[str]:
    return page.evaluate(
        "() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')]"
        ".map(c => c.querySelector('.jp-InputArea-editor')?.textContent ?? '')"
    )


def parameters_source() -> str:
    notebook = nbformat.read(TEMPLATE, as_version=4)
    return next(c.source for c in notebook.cells if "parameters" in c.metadata.get("tags", []))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with studio_lab(tmp_path_factory.mktemp("jupyterlab")) as server:
        shutil.copy(TEMPLATE, server.root / NOTEBOOK)
        yield server


@pytest.fixture(scope="module")
def frames():
    return Frames({})


@pytest.fixture(scope="module")
def page(lab, tmp_path_factory):
    with player_page(lab, NOTEBOOK, tmp_path_factory.mktemp("failure")) as page:
        yield page


def test_running_the_template_ends_in_the_player_on_its_short(page, frames):
    player = page.locator(".ns-player")
    assert player.count() == 1
    player.scroll_into_view_if_needed()
    size = page.locator(".ns-player canvas.ns-frame").evaluate("c => [c.width, c.height]")
    assert size == [540, 960]
    found, error = settle(page, frames, 0.0)
    assert found == 0 and error < 2.5, (found, error)


def test_playing_keeps_the_picture_on_the_soundtracks_clock(page, frames):
    figures = play_and_measure(page, frames)
    print(f"playback: {figures}")
    assert figures["wall"] >= 2.9
    drift = figures["heard"] - figures["wall"]
    assert abs(drift) <= 0.1, (
        f"the soundtrack moved {figures['heard']:.3f} s in {figures['wall']:.3f} s"
    )
    assert figures["drawn_per_second"] >= 24, figures
    assert figures["worst_match"] < 3, f"a sample matched no frame near the audio's: {figures}"
    assert figures["median_offset"] <= 1, figures["offsets"]
    assert figures["worst_offset"] <= 2, figures["offsets"]
    assert audio_state(page)["paused"]


def test_the_timeline_shows_every_layer_caption_page_and_the_waveform(page, frames):
    rows = page.locator(".ns-lanes .ns-lane.ns-layer")
    assert rows.count() == len(frames.short.layers)
    for i in range(rows.count()):
        assert rows.nth(i).locator(".ns-bar").first.bounding_box()["width"] > 0
    kinds = page.locator(".ns-labels .ns-layer .ns-kind").all_text_contents()
    assert kinds == [type(layer).__name__ for layer in frames.short.layers]

    pages = frames.namespace["pages"]
    cues = [" ".join(cue.content.split()) for cue in srt.parse(captions.to_srt(pages))]
    chips = [" ".join(t.split()) for t in page.locator(".ns-chip").all_text_contents()]
    assert chips == cues

    ink = page.locator(".ns-wave canvas").evaluate(
        "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let n = 0; for (let i = 3; i < d.length; i += 4) n += d[i] > 0;"
        " return n / (d.length / 4); }"
    )
    assert 0.05 < ink < 0.95, f"the waveform covers {ink:.0%} of its lane"

    lanes = page.locator(".ns-lanes").bounding_box()
    duration = frames.short.frame_count / FPS
    for t in (2.5, 5.5):
        page.mouse.click(lanes["x"] + lanes["width"] * t / duration, lanes["y"] + 30)
        heard = audio_state(page)["t"]
        assert abs(heard - t) <= 1 / FPS + 0.02, f"clicked at {t} s, audio at {heard:.3f} s"
        found, _ = settle(page, frames, heard)
        assert abs(found - t * FPS) <= 1, f"clicked at {t} s, the canvas shows frame {found}"


def test_keys_drive_the_player_and_never_the_notebook(page, frames):
    focus_player(page)
    before = cells(page)
    page.keyboard.press("Home")
    assert audio_state(page)["t"] == 0
    seek(page, 2.0)  # mid-zoom: neighbouring frames differ (the Ken Burns eases in at 0)
    focus_player(page)
    page.keyboard.press("Space")
    page.wait_for_function(
        "() => { const a = document.querySelector('.ns-player audio');"
        " return !a.paused && a.currentTime > 2.1; }"
    )
    page.keyboard.press("Space")
    state = audio_state(page)
    assert state["paused"] and state["t"] > 2.0
    index = int(state["t"] * FPS + FRAME_EPSILON)
    page.keyboard.press("ArrowRight")
    found, _ = settle(page, frames, (index + 1) / FPS)
    assert found == index + 1
    for key in ("d", "d", "a", "b", "d", "d"):
        page.keyboard.press(key)
    page.wait_for_timeout(300)  # a command JupyterLab would run is run by now
    assert cells(page) == before, "notebook cells changed while the player had focus"


def box_inside(inner: dict, outer: dict) -> bool:
    return (
        inner["x"] >= outer["x"] - 0.5
        and inner["y"] >= outer["y"] - 0.5
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5
    )


def apart(a: dict, b: dict) -> bool:
    return (
        a["x"] + a["width"] <= b["x"] + 0.5
        or b["x"] + b["width"] <= a["x"] + 0.5
        or a["y"] + a["height"] <= b["y"] + 0.5
        or b["y"] + b["height"] <= a["y"] + 0.5
    )


def test_screens_at_common_widths_have_nothing_overlapping_or_cut_off(page, tmp_path):
    for width in (1280, 1920):
        page.set_viewport_size({"width": width, "height": 1000})
        page.wait_for_timeout(300)
        player = page.locator(".ns-player")
        player.scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / f"page-{width}.png"))
        player.screenshot(path=str(tmp_path / f"player-{width}.png"))
        outer = player.bounding_box()
        output = page.locator(".jp-OutputArea-output").filter(has=player).bounding_box()
        assert box_inside(outer, output), f"the player spills out of its output at {width} px"
        parts = [page.locator(f".ns-player {p}").bounding_box() for p in
                 (".ns-stage", ".ns-transport", ".ns-timeline")]  # fmt: skip
        for part in parts:
            assert box_inside(part, outer), (width, part, outer)
        for above, below in itertools.pairwise(parts):
            assert above["y"] + above["height"] <= below["y"] + 1, (width, above, below)
        controls = page.locator(".ns-transport > *")
        rects = [controls.nth(i).bounding_box() for i in range(controls.count())]
        for i, a in enumerate(rects):
            assert box_inside(a, parts[1]), f"control {i} is cut off at {width} px"
            for b in rects[i + 1 :]:
                assert apart(a, b), f"transport controls overlap at {width} px: {a} {b}"
        labels = page.locator(".ns-labels > *")
        lanes = page.locator(".ns-lanes > .ns-lane")
        assert labels.count() == lanes.count()
        for i in range(labels.count()):
            label, lane = labels.nth(i).bounding_box(), lanes.nth(i).bounding_box()
            assert abs(label["y"] - lane["y"]) < 1 and abs(label["height"] - lane["height"]) < 1
    print(f"screenshots: {tmp_path}")
    page.set_viewport_size({"width": 1280, "height": 1000})


def test_a_parameter_changed_and_run_again_shows_the_new_short_at_the_same_place(page, frames):
    focus_player(page)
    seek(page, 5)
    settle(page, frames, 5.0)
    source = parameters_source()
    assert OLD_TITLE in source
    cell = page.locator(".jp-Notebook .jp-CodeCell").filter(has_text="title: str =")
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(source.replace(OLD_TITLE, f'"{NEW_TITLE}"'))
    run_all(page)
    page.locator(".ns-player canvas.ns-frame").wait_for()

    changed = Frames({"title": NEW_TITLE})
    assert soundtrack_reaches(page, 5.0), f"the playhead did not stay at 5 s: {audio_state(page)}"
    found, error = settle(page, changed, 5.0)
    assert found == 150 and error < 2.5, (found, error)
    labels = page.locator(".ns-labels .ns-layer .ns-detail").all_text_contents()
    assert NEW_TITLE in labels
    # The explainer's title card holds the first 3 s: the new title is drawn at 1.5 s.
    focus_player(page)
    seek(page, 1.5)
    found, error = settle(page, changed, 1.5)
    assert found == 45 and error < 2.5, (found, error)
    assert np.abs(changed.at(45) - frames.at(45)).mean() > 3 * error + 1
