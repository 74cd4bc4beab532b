"""A real JupyterLab on loopback and headless Debian Chromium driving it, for studio tests.

`jupyter_lab` starts `jupyter lab` with throwaway config, data and runtime dirs whose
kernel is this very interpreter (so it imports this editable neuroshorts); `chromium`
launches the Debian package through Playwright: no browser is downloaded and nothing
leaves the machine. `bench/studio.py` uses the same pieces for the browser figures.
"""

from __future__ import annotations

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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat

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


class LabError(RuntimeError):
    """JupyterLab did not start or did not do what was asked in time."""


@dataclass(frozen=True)
class Lab:
    url: str
    token: str
    root: Path
    log: Path

    def notebook_url(self, name: str) -> str:
        """The notebook alone in a reset workspace (else the last one opened comes back
        beside it, and Run All runs whichever tab is active)."""
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def jupyter_lab(base: Path, env: dict[str, str] | None = None) -> Iterator[Lab]:
    """A JupyterLab server on loopback rooted at `base/root`, stopped on exit."""
    root = base / "root"
    root.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ if env is None else env)
    for name in ("config", "data", "runtime"):
        (base / name).mkdir(exist_ok=True)
        env[f"JUPYTER_{name.upper()}_DIR"] = str(base / name)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    # No "get notified about Jupyter news?" toast over the page (nor a fetch for it).
    news = base / "config/lab/user-settings/@jupyterlab/apputils-extension"
    news.mkdir(parents=True, exist_ok=True)
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    port, token = free_port(), secrets.token_hex(16)
    log_path = base / "lab.log"
    log = log_path.open("wb")
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
    lab = Lab(f"http://127.0.0.1:{port}", token, root, log_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise LabError(f"jupyter lab exited: {log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{lab.url}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise LabError(f"jupyter lab did not answer: {log_path.read_text()}") from None
                time.sleep(0.2)  # polling the port: there is nothing to wait on
        yield lab
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


@contextlib.contextmanager
def chromium(playwright, width: int = 1280, height: int = 1000):
    """A page of headless Debian Chromium at `width` x `height` CSS pixels."""
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )
    try:
        context = browser.new_context(
            viewport={"width": width, "height": height}, device_scale_factor=1
        )
        page = context.new_page()
        page.set_default_timeout(60_000)
        yield page
    finally:
        browser.close()


def write_notebook(path: Path, cells: Sequence[str]) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nbformat.write(notebook, path)


def kernels(lab: Lab) -> list[dict]:
    with urllib.request.urlopen(f"{lab.url}/api/kernels?token={lab.token}", timeout=5) as r:
        return json.load(r)


def notebook_kernels(lab: Lab, name: str) -> list[dict]:
    """The kernels of the sessions open on notebook `name` (another may run beside it)."""
    with urllib.request.urlopen(f"{lab.url}/api/sessions?token={lab.token}", timeout=5) as r:
        sessions = json.load(r)
    return [s["kernel"] for s in sessions if s.get("path") == name and s.get("kernel")]


def open_notebook(page, lab: Lab, name: str, timeout: float = 60) -> None:
    """Open `name` and wait until its kernel is connected and idle."""
    page.goto(lab.notebook_url(name))
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    # The execution indicator reads "idle" for a moment before the notebook has a kernel
    # at all, and Run All then runs nothing: wait for the kernel's websocket first.
    deadline = time.monotonic() + timeout
    while not any(
        k.get("connections", 0) > 0 and k.get("execution_state") == "idle"
        for k in notebook_kernels(lab, name)
    ):
        if time.monotonic() > deadline:
            raise LabError(f"no kernel of {name} with a browser connection: {kernels(lab)}")
        time.sleep(0.2)  # polling the server: there is nothing to wait on
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()


_COUNTS = (
    "() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]"
    ".map(p => Number((/\\[(\\d+)\\]/.exec(p.textContent) || [0, 0])[1]))"
)


def run_all(page, timeout_ms: float = 240_000) -> None:
    """Run All Cells from the menu and wait until every code cell has run again."""
    before = max(page.evaluate(_COUNTS), default=0)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    page.wait_for_function(
        f"before => ({_COUNTS})().every(n => n > before)", arg=before, timeout=timeout_ms
    )
