"""The studio in a real JupyterLab: headless Chromium runs a notebook and sees the frame.

The other studio tests drive the widgets in plain pytest; this one checks the part they
cannot: that JupyterLab (whose kernel requests allow stdin, see `studio.is_interactive`)
gets the widgets, and that ipywidgets renders the frame viewer as an image with the very
pixels of the short. It starts `jupyter lab` on loopback with throwaway config, data and
runtime dirs, and drives the Debian `chromium` package through Playwright: no browser is
downloaded and nothing leaves the machine.
"""

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import numpy as np
import pytest
from PIL import Image

from neuroshorts import studio

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NOTEBOOK = "studio_preview.ipynb"
CELLS = [
    "from neuroshorts import studio\n"
    "from neuroshorts.engines import visuals\n"
    "from neuroshorts.scene import Canvas, Short, Span",
    "layers = [\n"
    '    visuals.background("gradient:#ff0000,#0000ff", Span(0, 2)),\n'
    '    visuals.TitleCard("Studio", Span(0.5, 2)),\n'
    "]\n"
    "short = Short(Canvas(), layers=layers, duration=2.0)",
    "studio.preview(short)",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt install chromium)",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on loopback whose kernel is this interpreter; yields its URL parts."""
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "root"
    root.mkdir()
    env = dict(os.environ)
    env.pop(studio.HEADLESS_ENV, None)  # the lab must get the widgets
    for name in ("config", "data", "runtime"):
        (base / name).mkdir()
        env[f"JUPYTER_{name.upper()}_DIR"] = str(base / name)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    port, token = free_port(), secrets.token_hex(16)
    log = (base / "lab.log").open("wb")
    # `sys.executable -m jupyter`: the server's native python3 kernel is its own
    # interpreter, so the kernel imports this very (editable) neuroshorts.
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
            *(["--allow-root"] if os.geteuid() == 0 else []),
        ],
        env=env,
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"jupyter lab exited: {(base / 'lab.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not answer: {(base / 'lab.log').read_text()}")
                time.sleep(0.2)  # polling the port: there is nothing to wait on
        yield {"url": url, "token": token, "root": root, "log": base / "lab.log"}
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


def wait_for_connected_kernel(lab, timeout: float = 45) -> None:
    """Until the server has a kernel with a browser connected to it."""
    deadline = time.monotonic() + timeout
    url = f"{lab['url']}/api/kernels?token={lab['token']}"
    while True:
        with urllib.request.urlopen(url, timeout=5) as response:
            kernels = json.load(response)
        if any(k.get("connections", 0) > 0 and k.get("execution_state") == "idle" for k in kernels):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"no kernel with a browser connection: {kernels}")
        time.sleep(0.2)  # polling the server: there is nothing to wait on


def write_notebook(path: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nbformat.write(notebook, path)


def test_jupyterlab_shows_the_frame_viewer_with_a_rendered_frame(lab, tmp_path):
    # CI installs playwright with the test extra: missing, this fails rather than skips.
    from playwright.sync_api import sync_playwright

    write_notebook(lab["root"] / NOTEBOOK)
    shot = tmp_path / "studio.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = browser.new_context(
                viewport={"width": 1280, "height": 1400}, device_scale_factor=1
            )
            page = context.new_page()
            page.set_default_timeout(45_000)
            page.goto(f"{lab['url']}/lab/tree/{NOTEBOOK}?token={lab['token']}")
            page.locator(".jp-Notebook .jp-Cell").first.wait_for()
            # The execution indicator reads "idle" for a moment before the notebook has a
            # kernel at all, and Run All then runs nothing: wait for the kernel's
            # websocket, then for the frontend to see that kernel idle.
            wait_for_connected_kernel(lab)
            page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()

            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            page.wait_for_function(
                "n => [...document.querySelectorAll('.jp-Notebook .jp-InputPrompt')]"
                "  .filter(p => /\\[\\d+\\]/.test(p.textContent)).length === n",
                arg=len(CELLS),
            )

            image = page.locator(".jp-OutputArea img.widget-image").first
            image.wait_for()
            page.wait_for_function(
                # ipywidgets 8 hands the JPEG bytes to the img as a blob: URL
                "el => el.src !== '' && el.complete && el.naturalWidth > 0",
                arg=image.element_handle(),
            )
            image.scroll_into_view_if_needed()
            box = image.bounding_box()
            page.screenshot(path=str(shot))
        except Exception:
            with contextlib.suppress(Exception):  # what the page showed, for the CI log
                page.screenshot(path=str(tmp_path / "failure.png"))
                (tmp_path / "failure.html").write_text(page.content())
            print(f"screenshot: {tmp_path / 'failure.png'}, server log: {lab['log']}")
            raise
        finally:
            browser.close()

    assert box is not None and box["width"] > 100 and box["height"] > 200, box
    screen = Image.open(shot).convert("RGB")
    left, top = round(box["x"]), round(box["y"])
    viewer = np.asarray(
        screen.crop((left, top, left + round(box["width"]), top + round(box["height"])))
    ).astype(int)
    height = viewer.shape[0]
    band = max(4, height // 12)
    # The first frame (t=0, before the title fades in) is the red-to-blue gradient.
    red, _, blue = viewer[2:band].reshape(-1, 3).mean(axis=0)
    assert red > 180 and blue < 90, f"top of the frame viewer is not red: {red=} {blue=} ({shot})"
    red, _, blue = viewer[height - band : height - 2].reshape(-1, 3).mean(axis=0)
    assert blue > 180 and red < 90, (
        f"bottom of the frame viewer is not blue: {red=} {blue=} ({shot})"
    )
