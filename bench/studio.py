"""Benchmark: the studio player, from the kernel's frames to what the page shows.

Kernel: frames per second the player serves (compose `Short.frame(t, size)` + JPEG, what
each frame message costs) for the 30 s reference short of `render.py`, at 540x960 (the
player's size) and 1080x1920, in time order as playback asks for them. Baseline,
measured in the same run: the JPEG encode alone of a frame of the same size, the least
a served frame can cost. Printed against the 30 fps a playing player needs.

Page (`--browser`): the acceptance test's figures in a real JupyterLab and headless
Debian Chromium on the explainer with its defaults: how far the soundtrack's clock
moves in 3 s of wall time, frames drawn per second and |frame on the canvas - frame
for the audio's time| at 10 samples. Baseline: the wall clock itself.

Studio form (`--browser`): from a change in `studio.studio("explainer")`'s form to the
new frame drawn on the canvas, for `caption_style` (narration cached; median of 5) and
for a new script (narration spoken anew). Baseline, measured in the same run: the same
rebuild and first frame in this process (`build_short` + `Short.frame`), the work itself
without the comm, the page or the kernel's threads.

Usage: python bench/studio.py [--frames 150] [--browser]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import render as render_bench
from PIL import Image
from preview import median_ms

from neuroshorts.studio.player import jpeg, preview_frame

TESTS = Path(__file__).resolve().parent.parent / "tests"
TEMPLATE_NAME = "explainer"


def kernel(frames: int) -> None:
    with tempfile.TemporaryDirectory(prefix="neuroshorts-bench-") as tmp:
        short, _ = render_bench.build_short(Path(tmp), 30.0)
    start = 300  # ten seconds in: captions, Ken Burns and music all running
    for shape in ((540, 960), (1080, 1920)):
        short.frame(start / 30, shape)  # artwork is rasterised once per canvas
        ours = median_ms(lambda i, shape=shape: preview_frame(short, start + i, shape), frames)
        still = Image.fromarray(short.frame(start / 30, shape))
        floor = median_ms(lambda _, still=still: jpeg(still), frames)
        width, height = shape
        print(
            f"{width}x{height}: serves {1000 / ours:6.1f} frames/s ({ours:5.1f} ms a frame) = "
            f"{ours / floor:4.1f}x a JPEG encode alone ({floor:.2f} ms), "
            f"{1000 / ours / 30:4.1f}x the 30 fps playback needs"
        )


def browser() -> None:
    sys.path.insert(0, str(TESTS))
    from playwright.sync_api import sync_playwright

    from support.lab import chromium, open_notebook, run_all, write_notebook
    from support.studio_page import (
        COUNT_DRAWS,
        TEMPLATE,
        Frames,
        field,
        play_and_measure,
        settle,
        studio_lab,
        tab,
        time_to_new_frame,
    )

    frames = Frames({})
    with (
        tempfile.TemporaryDirectory(prefix="neuroshorts-bench-lab-") as base,
        studio_lab(Path(base)) as lab,
        sync_playwright() as playwright,
        chromium(playwright) as page,
    ):
        (lab.root / TEMPLATE.name).write_bytes(TEMPLATE.read_bytes())
        page.add_init_script(COUNT_DRAWS)
        open_notebook(page, lab, TEMPLATE.name)
        started = time.perf_counter()
        run_all(page)
        page.locator(".ns-player canvas.ns-frame").wait_for()
        opened = time.perf_counter() - started
        figures = play_and_measure(page, frames)

        write_notebook(
            lab.root / "studio.ipynb",
            ["from neuroshorts import studio", "studio.studio('explainer', t=3.0)"],
        )
        open_notebook(page, lab, "studio.ipynb")
        run_all(page)
        settle(page, frames, 3.0)
        tab(page, "Captions")
        select = field(page, "caption_style").locator("select")
        styles = ["plain", "highlight", "pop", "word", "karaoke"]  # each one rebuilds
        cached = [
            time_to_new_frame(page, select, lambda s=s: select.select_option(s)) for s in styles
        ]
        built = [rebuild({"caption_style": style}) for style in styles]
        tab(page, "Narration")
        script = field(page, "script").locator("textarea")
        words = f"A new script at {time.time():.0f} seconds, spoken again."
        spoken = time_to_new_frame(page, script, lambda: (script.fill(words), script.blur()))
        spoken_built = rebuild({"script": f"Another new script at {time.time():.0f} seconds."})
    wall, heard = figures["wall"], figures["heard"]
    print(f"page: template run to player {opened:.1f} s")
    print(
        f"page: soundtrack clock {heard:.3f} s in {wall:.3f} s of wall time = "
        f"{heard / wall:.4f}x the wall clock (drift {1000 * (heard - wall):+.0f} ms)"
    )
    print(
        f"page: {figures['drawn_per_second']:.1f} frames drawn per second = "
        f"{figures['drawn_per_second'] / 30:.2f}x the short's 30 fps"
    )
    print(
        f"page: frame on canvas vs frame for the audio's time, |Δ| frames at 10 samples: "
        f"{figures['offsets']} (median {figures['median_offset']}, worst {figures['worst_offset']})"
    )
    median, floor = statistics.median(cached), statistics.median(built)
    print(
        f"studio: caption_style change to new frame on screen {1000 * median:.0f} ms "
        f"(median of 5: {', '.join(f'{1000 * c:.0f}' for c in cached)}) = "
        f"{median / floor:.1f}x the rebuild and first frame in-process ({1000 * floor:.0f} ms)"
    )
    print(
        f"studio: new script (narration spoken anew) to new frame on screen {spoken:.2f} s = "
        f"{spoken / spoken_built:.2f}x the rebuild in-process ({spoken_built:.2f} s)"
    )


def rebuild(values: dict) -> float:
    """Seconds to build the explainer with `values` and compose its frame at 3 s here."""
    from neuroshorts.studio.form import build_short

    started = time.perf_counter()
    short, _namespace = build_short(TEMPLATE_NAME, values)
    preview_frame(short, 90, (540, 960))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--browser", action="store_true", help="also measure in a real page")
    args = parser.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f} (1-min average), {os.cpu_count()} cores")
    kernel(args.frames)
    if args.browser:
        browser()


if __name__ == "__main__":
    main()
