"""Renders from the studio: the template run as production runs it, followed to the end.

A render is `templates.run`, papermill in a fresh kernel with the executed notebook kept
beside the video, so what the studio renders is what the CLI, the service and a batch
render. It runs in a thread of its own, so the player keeps playing meanwhile. The
progress bar is the render's own (the notebook's sections, then frames encoded). Every
render of the session is listed with the parameters it changed and its files.
"""

from __future__ import annotations

import contextlib
import html
import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from neuroshorts import templates
from neuroshorts.errors import ParameterError
from neuroshorts.output.bundle import VIDEO
from neuroshorts.output.manifest import Manifest
from neuroshorts.output.progress import Progress

log = logging.getLogger(__name__)

_numbers = itertools.count(1)


class Renders(widgets.VBox):
    """A Render button with the render's progress bar, its video and this session's list.

    `values()` gives the form's values, validated (it raises `ParameterError`, shown at
    the field, and then no render starts); the quality is the form's `quality`.
    """

    def __init__(
        self, template: Path, values: Callable[[], dict[str, Any]], directory: Path
    ) -> None:
        self.template, self.directory = template, directory
        self._values = values
        self.button = widgets.Button(description="Render", icon="film", button_style="primary")
        self.button.on_click(lambda _: self.start())
        self.bar = widgets.FloatProgress(
            value=0.0, min=0.0, max=1.0, layout=widgets.Layout(width="12em", visibility="hidden")
        )
        self.status = widgets.HTML()  # wraps, where a Label would cut a long message off
        self.video = widgets.Video(autoplay=False, loop=False, controls=True, width=270)
        self.video.layout.display = "none"
        self.listing = widgets.HTML()
        self.done: list[Manifest] = []
        self._thread: threading.Thread | None = None
        super().__init__(
            [widgets.HBox([self.button, self.bar]), self.status, self.video, self.listing]
        )

    def start(self) -> threading.Thread | None:
        """Render the form's values in the background; None when a field is refused."""
        if self._thread is not None and self._thread.is_alive():
            self.status.value = "a render is running"
            return None
        try:
            values = self._values()
        except ParameterError as error:
            self.status.value = f"not rendered: {error.name} is refused"
            return None
        self._thread = threading.Thread(
            target=self.render, args=(values,), name="neuroshorts-studio-render", daemon=True
        )
        self._thread.start()
        return self._thread

    def render(self, values: Mapping[str, Any]) -> Manifest | None:
        """Render `values` to a new MP4 in the directory, reporting progress as it goes."""
        quality = values.get("quality", "final")
        number = next(_numbers)
        output = self.directory / f"{self.template.stem}-{number}-{quality}{VIDEO}"
        self.button.disabled = True
        self.bar.value, self.bar.bar_style = 0.0, ""
        self.bar.layout.visibility = "visible"
        self.status.value = f"{quality}: starting"
        started = time.perf_counter()
        try:
            manifest = templates.run(
                self.template, values, output, progress=False, on_progress=self._progress
            )
        except Exception as error:
            log.warning("studio render of %s failed: %s", self.template.stem, error)
            self.bar.bar_style = "danger"
            self.status.value = html.escape(f"{quality} failed: {error}")
            return None
        finally:
            self.button.disabled = False
        seconds = time.perf_counter() - started
        self.video.format = "mp4"
        self.video.value = output.read_bytes()
        self.video.layout.display = None
        self.done.append(manifest)
        self.listing.value = self._listing()
        # 100% last: whoever sees it finds the video and its row already in place.
        self.bar.value, self.bar.bar_style = 1.0, "success"
        self.status.value = (
            f"{quality} 100%: {manifest.width}x{manifest.height}, "
            f"{manifest.duration:.1f} s, rendered in {seconds:.0f} s"
        )
        log.info("studio render: %s", output)
        return manifest

    def _progress(self, progress: Progress) -> None:
        self.bar.value = progress.fraction
        self.status.value = f"{progress.stage} {progress.fraction:.0%}"

    def _listing(self) -> str:
        """This session's renders, newest first: what changed from the defaults, the files."""
        defaults = {name: p.default for name, p in templates.parameters(self.template).items()}
        rows = []
        for manifest in reversed(self.done):
            changed = ", ".join(
                f"{name}={value!r}"
                for name, value in manifest.parameters.items()
                if name not in templates.RESERVED and defaults.get(name) != value
            )
            video = Path(manifest.video)
            folder = video.parent
            with contextlib.suppress(ValueError):  # shown from the notebook's folder
                folder = folder.relative_to(Path.cwd())
            files = [video.name, *(Path(f).name for f in (manifest.notebook,) if f)]
            rows.append(
                "<tr>"
                f"<td>{html.escape(video.name)}</td>"
                f"<td>{manifest.width}x{manifest.height}, {manifest.duration:.1f} s</td>"
                f"<td>{html.escape(changed or 'the defaults')}</td>"
                f"<td>{html.escape(f'{folder}/')}: {html.escape(', '.join(files))}</td>"
                "</tr>"
            )
        return (
            "<table class='ns-renders'><tr><th>render</th><th>video</th>"
            "<th>parameters changed</th><th>files</th></tr>" + "".join(rows) + "</table>"
        )
