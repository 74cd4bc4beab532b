"""The studio: live preview of a short, and a parameter form for a template, in JupyterLab.

The preview shows `Short.frame(t)`, the very pixels the encoder gets, so what a designer
sees while scrubbing is what production renders. Frames go to the browser as JPEG at
preview size: encoding one costs a few ms where PNG costs hundreds (see FIELD-NOTES,
"Preview latency"), and scrubbing must keep up with the slider.

Templates run headlessly under papermill with the same cells a designer runs in the lab,
so every call here first asks whether a person is looking. Under papermill, nbclient or
nbval (and in plain Python) `preview` and `studio` return None at once, render nothing
and open no widget comms: a production render pays nothing for the studio.
"""

from __future__ import annotations

import html
import io
import itertools
import logging
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import nbformat

from neuroshorts import templates
from neuroshorts.render import preview as preview_image
from neuroshorts.render import render
from neuroshorts.scene import Short

log = logging.getLogger(__name__)

#: Frame width of the preview; 360x640 keeps a frame and its JPEG well under 20 ms.
PREVIEW_WIDTH = 360
JPEG_QUALITY = 85
#: Frames kept per studio: enough to scrub back and forth over a few seconds for free.
FRAME_CACHE = 96
#: Shorts kept per studio, by parameters: flipping a setting back costs nothing.
SHORT_CACHE = 4
#: Set to 1 to force headless behaviour (e.g. a CI run of notebooks in a real kernel).
HEADLESS_ENV = "NEUROSHORTS_HEADLESS"

_keys = itertools.count()


def is_interactive() -> bool:
    """Whether a person with a notebook frontend is running this code.

    papermill, nbclient and nbval execute cells with `allow_stdin=False`, while JupyterLab,
    Notebook and VS Code allow stdin (so `input()` works there). The kernel records that
    flag for the request it is executing, so it tells a headless run from a person without
    any help from the runner. papermill itself exposes no environment variable to the kernel.
    Outside a kernel (plain Python, terminal IPython) there is no widget frontend either.
    """
    if os.environ.get(HEADLESS_ENV, "").lower() in {"1", "true", "yes"}:
        return False
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return False
    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    if kernel is None:
        return False
    return bool(getattr(kernel, "_allow_stdin", False))


def _wants_ui(interactive: bool | None) -> bool:
    return is_interactive() if interactive is None else interactive


def jpeg(image: Any, quality: int = JPEG_QUALITY) -> bytes:
    """JPEG bytes of a PIL image: fast enough to send on every slider step."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def caption_layer(short: Short) -> Any | None:
    """The layer that knows the caption on screen (`page_at(t)`), if the short has one."""
    return next((layer for layer in short.layers if hasattr(layer, "page_at")), None)


class Preview(widgets.VBox):
    """Frame viewer, time slider with Play, caption text, audio and a draft render button.

    Everything happens in Python callbacks (`observe`), not in browser-side links, so the
    same widgets are driven by tests in plain pytest and by a person in JupyterLab.
    """

    def __init__(
        self,
        short: Short,
        *,
        width: int = PREVIEW_WIDTH,
        t: float = 0.0,
        key: Hashable | None = None,
    ) -> None:
        self.width = width
        self._frames: OrderedDict[tuple[Hashable, float], bytes] = OrderedDict()
        # The studio's debounce timer swaps shorts from its own thread while the kernel
        # thread may be drawing a frame for the slider: one at a time.
        self._lock = threading.RLock()
        self._workdir = tempfile.TemporaryDirectory(prefix="neuroshorts-studio-")
        self.short = short
        self._key: Hashable = next(_keys)
        self.image = widgets.Image(format="jpeg", width=width)
        self.slider = widgets.FloatSlider(
            description="t (s)", readout_format=".2f", continuous_update=True
        )
        self.play = widgets.Play(description="play", show_repeat=False)
        self.caption = widgets.Label()
        self.audio = widgets.Audio(autoplay=False, loop=False, controls=True)
        self.button = widgets.Button(description="Render draft", icon="film")
        self.status = widgets.Label()
        self.video = widgets.Video(autoplay=False, loop=False, controls=True, width=width)
        self.video.layout.display = "none"
        self.slider.observe(self._on_slider, names="value")
        self.play.observe(self._on_play, names="value")
        self.button.on_click(lambda _: self.render_draft())
        super().__init__(
            [
                self.image,
                widgets.HBox([self.play, self.slider]),
                self.caption,
                self.audio,
                widgets.HBox([self.button, self.status]),
                self.video,
            ]
        )
        self.set_short(short, key=key, t=t)

    # -- the short on show -------------------------------------------------------------

    def set_short(
        self, short: Short, *, key: Hashable | None = None, t: float | None = None
    ) -> None:
        """Show another short (a template rebuilt with new parameters) at the current t.

        `key` names the short for the frame cache (the studio passes its parameters), so
        returning to earlier parameters finds their frames still cached.
        """
        with self._lock:
            self._set_short(short, key, self.slider.value if t is None else t)

    def _set_short(self, short: Short, key: Hashable | None, t: float) -> None:
        self.short = short
        self._key = next(_keys) if key is None else key
        fps = short.canvas.fps
        last = short.frame_count - 1
        # The aspect may change with the parameters (9:16, 1:1, 16:9).
        self.image.height = str(
            2 * round(self.width * short.canvas.height / short.canvas.width / 2)
        )
        with self.hold_trait_notifications(), self.slider.hold_trait_notifications():
            self.slider.step = 1 / fps
            self.slider.max = last / fps
            self.play.max = last
            self.play.interval = round(1000 / fps)
        if short.audio is not None and Path(short.audio.path).is_file():
            path = Path(short.audio.path)
            self.audio.format = path.suffix.lstrip(".").lower() or "wav"
            self.audio.value = path.read_bytes()  # sent only when the bytes differ
        else:
            self.audio.value = b""
        self.video.layout.display = "none"
        self.status.value = ""
        self.show(min(max(t, 0.0), last / fps))

    def _snap(self, t: float) -> float:
        """`t` moved to the start of its frame: the times a render actually encodes."""
        fps = self.short.canvas.fps
        index = min(max(round(t * fps), 0), self.short.frame_count - 1)
        return index / fps

    def frame_jpeg(self, t: float) -> bytes:
        """The JPEG of the frame at `t` at preview size, from the cache when seen before."""
        t = self._snap(t)
        key = (self._key, t)
        data = self._frames.get(key)
        if data is None:
            data = jpeg(preview_image(self.short, t, self.width))
            self._frames[key] = data
            while len(self._frames) > FRAME_CACHE:
                self._frames.popitem(last=False)
        else:
            self._frames.move_to_end(key)
        return data

    def caption_at(self, t: float) -> str:
        layer = caption_layer(self.short)
        page = layer.page_at(self._snap(t)) if layer is not None else None
        return page.text if page is not None else ""

    def show(self, t: float) -> None:
        """Move every view to `t`: slider, Play, frame and caption."""
        t = self._snap(t)
        if self.slider.value != t:
            self.slider.value = t  # observed: comes back here through _on_slider
            return
        with self._lock:
            index = round(t * self.short.canvas.fps)
            if self.play.value != index:
                self.play.value = index
            try:
                image = self.frame_jpeg(t)
            except Exception as error:
                # Raised inside a widget callback it would only reach the kernel's log.
                log.exception("studio: the frame at %.3f s failed", t)
                self.status.value = f"frame at {t:.2f} s failed: {type(error).__name__}: {error}"
                return
            self.image.value = image
            self.caption.value = self.caption_at(t)

    def _on_slider(self, change: Mapping[str, Any]) -> None:
        self.show(change["new"])

    def _on_play(self, change: Mapping[str, Any]) -> None:
        t = change["new"] / self.short.canvas.fps
        if self._snap(self.slider.value) != self._snap(t):
            self.slider.value = self._snap(t)

    # -- draft render ------------------------------------------------------------------

    def render_draft(self) -> Path | None:
        """Render a draft MP4 of the short on show and play it in the video widget.

        The render runs in the kernel's own thread on purpose: the kernel shows busy while
        it works, and no preview frame is drawn from the same layers at the same time.
        """
        output = Path(self._workdir.name) / f"draft-{next(_keys)}.mp4"
        self.button.disabled = True
        self.status.value = "rendering draft…"
        try:
            with self._lock:
                manifest = render(self.short, output, quality="draft", progress=False)
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


def preview(
    short: Short, *, t: float = 0.0, width: int = PREVIEW_WIDTH, interactive: bool | None = None
) -> Preview | None:
    """The preview UI of `short`, or None (at no cost) when no person is looking.

    `interactive=None` asks the kernel (see `is_interactive`); True forces the widgets
    (tests, or a frontend that does not allow stdin), False forces headless.
    """
    if not _wants_ui(interactive):
        log.debug("studio.preview: headless, nothing to show")
        return None
    return Preview(short, width=width, t=t)


# -- templates -------------------------------------------------------------------------


def _no_display(*_args: Any, **_kwargs: Any) -> None:
    """`display` while the studio builds a short: the studio shows the frame itself."""


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
    """A template's parameter form beside the preview of the short it builds.

    A change waits `debounce` seconds for the next one (typing a title changes the value
    on every key) before the template is rebuilt, and shorts are cached by parameters.
    """

    def __init__(
        self,
        template: str | Path,
        values: Mapping[str, Any] | None = None,
        *,
        t: float = 1.5,
        width: int = PREVIEW_WIDTH,
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
        self.preview = Preview(short, width=width, t=t, key=self._cache_key(self.values()))
        form = widgets.VBox(
            [widgets.HTML(f"<b>{self.template.stem}</b>"), *self.controls.values(), self.message],
            layout=widgets.Layout(width="28em", overflow="auto"),
        )
        super().__init__([form, self.preview])

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
            self.preview.set_short(short, key=self._cache_key(values))


def studio(
    template: str | Path,
    values: Mapping[str, Any] | None = None,
    *,
    t: float = 1.5,
    width: int = PREVIEW_WIDTH,
    debounce: float = 0.3,
    interactive: bool | None = None,
) -> Studio | None:
    """A parameter form for `template` with a live preview, or None when headless.

    `values` start the form somewhere other than the template's defaults (a short script
    builds in a moment where the default narration takes seconds).

    Headless (papermill, nbval, plain Python) it returns at once without reading or
    running the template; `interactive` overrides the detection as in `preview`.
    """
    if not _wants_ui(interactive):
        log.debug("studio.studio: headless, nothing to show")
        return None
    return Studio(template, values, t=t, width=width, debounce=debounce)
