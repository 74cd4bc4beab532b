"""The template studio: a template's parameter form beside the player of its short.

The form is built from the template's parameters cell, the same schema the CLI and the
API validate against; a change rebuilds the short by running the template's building
cells in this kernel (not papermill: a rebuild must take the time of the changed work,
not of a kernel start) and the player shows it at the same playhead.
"""

from __future__ import annotations

import html
import itertools
import logging
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import nbformat

from neuroshorts import templates
from neuroshorts.render import render
from neuroshorts.scene import Short
from neuroshorts.studio.player import Player

log = logging.getLogger(__name__)

#: Shorts kept per studio, by parameters: flipping a setting back costs nothing.
SHORT_CACHE = 4

_drafts = itertools.count()


def _no_display(*_args: Any, **_kwargs: Any) -> None:
    """`display` while the studio builds a short: the player shows it."""


def _code_cells(path: Path) -> list[str]:
    """Code of the template's cells that build the short: all but parameters and the last.

    The last cell renders or previews; the studio does that itself. The parameters cell
    is replaced by values bound in the namespace.
    """
    notebook = nbformat.read(path, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    if not code:
        raise templates.TemplateError(f"{path.name}: no code cells")
    cells = [c for c in code[:-1] if "parameters" not in c.metadata.get("tags", [])]
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return [c.source for c in cells]
    transform = TransformerManager().transform_cell  # %magics become plain Python
    return [transform(c.source) for c in cells]


def build_short(template: str | Path, values: Mapping[str, Any]) -> tuple[Short, dict[str, Any]]:
    """Run a template's building cells with `values` and return its `short` and namespace.

    Keep the namespace as long as the short: templates write narration into a
    `TemporaryDirectory` held there, and the audio file goes when it is collected.
    """
    path = templates.find(template)
    schema = templates.parameters(path)
    checked = templates.validate(path, values)
    namespace: dict[str, Any] = {"__name__": "__neuroshorts_studio__", "display": _no_display}
    namespace.update({name: p.default for name, p in schema.items()})
    namespace.update(checked)
    namespace["output"] = ""  # the studio never writes the template's output
    for index, source in enumerate(_code_cells(path)):
        exec(compile(source, f"<{path.stem} cell {index + 1}>", "exec"), namespace)
        namespace["display"] = _no_display
    short = namespace.get("short")
    if not isinstance(short, Short):
        raise templates.TemplateError(
            f"{path.name}: the cells before the last one define no `short` (a Short)"
        )
    return short, namespace


def _widget_for(parameter: templates.Parameter) -> widgets.ValueWidget:
    """The form control that fits a parameter's type, choices and default."""
    common: dict[str, Any] = {
        "description": parameter.name,
        "tooltip": parameter.help,
        "style": {"description_width": "10em"},
        "layout": widgets.Layout(width="100%"),
    }
    default = parameter.default
    if parameter.choices:
        return widgets.Dropdown(options=list(parameter.choices), value=default, **common)
    if parameter.type == "bool":
        return widgets.Checkbox(value=default, indent=False, **common)
    if parameter.type == "int":
        return widgets.IntText(value=default, **common)
    if parameter.type == "float":
        if "from 0 to 1" in parameter.help and 0 <= default <= 1:
            return widgets.FloatSlider(value=default, min=0, max=1, step=0.05, **common)
        return widgets.FloatText(value=default, **common)
    if parameter.name == "script":
        common["layout"] = widgets.Layout(width="100%", height="6em")
        return widgets.Textarea(value=default, **common)
    if isinstance(default, str) and default.startswith("#") and len(default) in (4, 7):
        return widgets.ColorPicker(value=default, concise=False, **common)
    return widgets.Text(value=default, continuous_update=False, **common)


#: Parameters the form leaves out: the studio never writes the template's output.
_NOT_IN_FORM = {"output"}


class Studio(widgets.HBox):
    """A template's parameter form beside the player of the short it builds.

    A change waits `debounce` seconds for the next one (typing a title changes the value
    on every key) before the template is rebuilt, and shorts are cached by parameters.
    """

    def __init__(
        self,
        template: str | Path,
        values: Mapping[str, Any] | None = None,
        *,
        t: float = 1.5,
        size: str = "540x960",
        debounce: float = 0.3,
    ) -> None:
        self.template = templates.find(template)
        self.schema = templates.parameters(self.template)
        self.debounce = debounce
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._building = threading.Lock()  # a flush and a firing timer build one at a time
        self._shorts: OrderedDict[Hashable, tuple[Short, dict[str, Any]]] = OrderedDict()
        self.controls: dict[str, widgets.ValueWidget] = {
            name: _widget_for(p) for name, p in self.schema.items() if name not in _NOT_IN_FORM
        }
        for name, value in templates.validate(self.template, values or {}).items():
            if name in self.controls:
                self.controls[name].value = value
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.message = widgets.HTML()
        short = self._short(self.values())
        self.player = Player(short, t=t, size=size)
        self._workdir = tempfile.TemporaryDirectory(prefix="neuroshorts-studio-")
        self.button = widgets.Button(description="Render draft", icon="film")
        self.button.on_click(lambda _: self.render_draft())
        self.status = widgets.Label()
        self.video = widgets.Video(autoplay=False, loop=False, controls=True, width=360)
        self.video.layout.display = "none"
        form = widgets.VBox(
            [
                widgets.HTML(f"<b>{self.template.stem}</b>"),
                *self.controls.values(),
                self.message,
                widgets.HBox([self.button, self.status]),
                self.video,
            ],
            layout=widgets.Layout(width="28em", min_width="20em", overflow="auto"),
        )
        self.player.layout = widgets.Layout(flex="1 1 auto", min_width="0")
        super().__init__([form, self.player])

    def values(self) -> dict[str, Any]:
        return {name: control.value for name, control in self.controls.items()}

    @staticmethod
    def _cache_key(values: Mapping[str, Any]) -> Hashable:
        return tuple(sorted(values.items()))

    def _short(self, values: Mapping[str, Any]) -> Short:
        key = self._cache_key(values)
        entry = self._shorts.get(key)
        if entry is None:
            entry = self._shorts[key] = build_short(self.template, values)
            while len(self._shorts) > SHORT_CACHE:
                self._shorts.popitem(last=False)
        else:
            self._shorts.move_to_end(key)
        return entry[0]

    def _on_change(self, _change: Mapping[str, Any]) -> None:
        if self.debounce <= 0:
            self.refresh()
            return
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.debounce, self.refresh)
            self._timer.daemon = True
            self._timer.start()

    def flush(self) -> None:
        """Apply a pending change now instead of after the debounce delay."""
        with self._lock:
            pending, self._timer = self._timer, None
        if pending is not None:
            pending.cancel()
            self.refresh()

    def refresh(self) -> None:
        """Rebuild the short from the form and show its frame at the current t.

        A template error (a bad colour, an unknown voice) is shown under the form and the
        last good frame stays, so a half-typed value never breaks the session.
        """
        with self._building:
            values = self.values()
            try:
                short = self._short(values)
            except Exception as error:
                log.warning("studio: %s did not build: %s", self.template.stem, error)
                text = html.escape(f"{type(error).__name__}: {error}")
                self.message.value = f"<span style='color:#c00'>{text}</span>"
                return
            self.message.value = ""
            self.video.layout.display = "none"
            self.player.set_short(short)

    def render_draft(self) -> Path | None:
        """Render a draft MP4 of the short on show and play it under the form.

        The render runs in the kernel's own thread on purpose: the kernel shows busy
        while it works, and the player composes no frame from the same layers meanwhile.
        """
        output = Path(self._workdir.name) / f"draft-{next(_drafts)}.mp4"
        self.button.disabled = True
        self.status.value = "rendering draft…"
        try:
            with self.player.compose_lock:
                manifest = render(self.player.short, output, quality="draft", progress=False)
        except Exception as error:
            log.exception("draft render failed")
            self.status.value = f"draft failed: {error}"
            return None
        finally:
            self.button.disabled = False
        self.video.format = "mp4"
        self.video.value = output.read_bytes()
        self.video.layout.display = None
        self.status.value = f"draft: {manifest.width}x{manifest.height}, {manifest.duration:.1f} s"
        log.info("studio draft rendered: %s", output)
        return output
