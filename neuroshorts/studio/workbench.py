"""The template studio: a template's form beside the player of its short, saved, rendered.

A change entered in the form is checked by the template's own validator at the field;
a valid one rebuilds the short off the kernel's main thread (the page keeps talking to
the player meanwhile) and the player shows it at the same playhead and loop. The
values are saved as a file the CLI and the API take (`presets`), or written back as the
template's defaults; renders are production renders (`renders.Renders`).
"""

from __future__ import annotations

import html
import logging
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from neuroshorts import templates
from neuroshorts.errors import ParameterError
from neuroshorts.scene import Short
from neuroshorts.studio.form import Form, build_short
from neuroshorts.studio.player import Player
from neuroshorts.studio.renders import Renders
from neuroshorts.templates import presets

log = logging.getLogger(__name__)

#: Shorts kept per studio, by parameters: flipping a setting back costs nothing.
SHORT_CACHE = 4


class Studio(widgets.Box):
    """A template's parameter form and its renders beside the player of the short.

    The form sits left of the player and above it when the cell is too narrow for both.
    A change waits `debounce` seconds for the next one before the template is rebuilt.
    Renders go to `renders` (relative to the kernel's working directory, the notebook's).
    """

    def __init__(
        self,
        template: str | Path,
        values: Mapping[str, Any] | None = None,
        *,
        t: float = 1.5,
        size: str = "540x960",
        debounce: float = 0.0,
        renders: str | Path = "renders",
    ) -> None:
        self.template = templates.find(template)
        self.debounce = debounce
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._building = threading.Lock()  # a flush and a firing timer build one at a time
        self._shorts: OrderedDict[Hashable, tuple[Short, dict[str, Any]]] = OrderedDict()
        self.form = Form(templates.parameters(self.template))
        for name, value in templates.validate(self.template, values or {}).items():
            if name in self.form.fields:
                self.form.fields[name].set(value)
        for field in self.form.fields.values():
            field.control.observe(self._on_change, names="value")
        self.message = widgets.HTML()
        self.player = Player(self._short(self.form.values()), t=t, size=size)
        self.save_path = widgets.Text(
            value=f"{self.template.stem}.json",
            description="save as",
            style={"description_width": "4em"},
            layout=widgets.Layout(flex="1 1 auto", width="auto"),
        )
        save = widgets.Button(description="Save", icon="save", tooltip="save the values as JSON")
        save.on_click(lambda _: self.save())
        defaults = widgets.Button(
            description="Make defaults",
            tooltip="write the values into the template's parameters cell",
        )
        defaults.on_click(lambda _: self.make_defaults())
        self.saved = widgets.Label()
        self.renders = Renders(self.template, self.form.values, Path(renders))
        if "quality" in self.form.fields:
            self.form.fields["quality"].control.observe(self._label_render, names="value")
            self._label_render()
        panel = widgets.VBox(
            [
                widgets.HTML(f"<b>{html.escape(self.template.stem)}</b>"),
                self.form,
                self.message,
                widgets.HBox([self.save_path, save, defaults]),
                self.saved,
                self.renders,
            ],
            layout=widgets.Layout(
                flex="1 1 26em", min_width="22em", max_width="40em", margin="0 12px 12px 0"
            ),
        )
        self.player.layout = widgets.Layout(flex="1 1 560px", min_width="0")
        super().__init__(
            [panel, self.player],
            layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start"),
        )

    def values(self) -> dict[str, Any]:
        """The form's values as the validator types them (raises at a refused field)."""
        return self.form.values()

    def _short(self, values: Mapping[str, Any]) -> Short:
        key = tuple(sorted(values.items()))
        entry = self._shorts.get(key)
        if entry is None:
            entry = self._shorts[key] = build_short(self.template, values)
            while len(self._shorts) > SHORT_CACHE:
                self._shorts.popitem(last=False)
        else:
            self._shorts.move_to_end(key)
        return entry[0]

    def _on_change(self, change: Mapping[str, Any]) -> None:
        field = next(f for f in self.form.fields.values() if f.control is change["owner"])
        try:
            field.check()
        except ParameterError:
            return  # its message shows at the field; the last good short stays
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
        """Rebuild the short from the form and show it at the current playhead.

        A build error (a bad colour, an unknown voice) shows at the field it names, else
        under the form, and the last good short stays: a half-typed value never breaks
        the session.
        """
        with self._building:
            try:
                values = self.form.values()
            except ParameterError:
                return
            if tuple(sorted(values.items())) not in self._shorts:
                self.message.value = "<i>building the short (new narration takes a while)…</i>"
            try:
                short = self._short(values)
            except Exception as error:
                log.warning("studio: %s did not build: %s", self.template.stem, error)
                shown = self.form.show_error(error)
                text = html.escape(f"{type(error).__name__}: {error}")
                self.message.value = "" if shown else f"<span style='color:#c62828'>{text}</span>"
                return
            self.message.value = ""
            if short is not self.player.short:
                self.player.set_short(short)

    def save(self, path: str | Path | None = None) -> Path | None:
        """Save the values as a render request (`neuroshorts render -f`, `POST /v1/renders`)."""
        try:
            values = self.form.values()
        except ParameterError as error:
            self.saved.value = f"not saved: {error.name} is refused"
            return None
        target = presets.save(path or self.save_path.value, self.template.stem, values)
        self.saved.value = f"saved {target}"
        return target

    def make_defaults(self) -> dict[str, Any] | None:
        """Write the values into the template's parameters cell as its new defaults."""
        try:
            values = templates.set_defaults(self.template, self.form.values())
        except ParameterError as error:
            self.saved.value = f"defaults not written: {error.name} is refused"
            return None
        self.saved.value = f"defaults written to {self.template.name}"
        return values

    def _label_render(self, _change: Any = None) -> None:
        self.renders.button.description = f"Render {self.form.fields['quality'].control.value}"
