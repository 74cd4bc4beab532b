"""The studio's parameter form, and the short a template builds from its values.

The form is built from the template's parameters cell, the same schema and validator
the CLI and the API use, grouped by the cell's section headings. `build_short` runs the
template's building cells in this kernel (not papermill: a rebuild must take the time of
the changed work, not of a kernel start).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import nbformat

from neuroshorts import templates
from neuroshorts.errors import ParameterError, TemplateError
from neuroshorts.scene import Short


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
        raise TemplateError(f"{path.name}: no code cells")
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
        raise TemplateError(
            f"{path.name}: the cells before the last one define no `short` (a Short)"
        )
    return short, namespace


#: An error message that names its field: `name: ...` or `parameter 'name': ...`.
_NAMED = re.compile(r"^(?:parameter )?'?([A-Za-z_]\w*)'?:")


def _control_for(parameter: templates.Parameter) -> widgets.ValueWidget:
    """The input that fits a parameter's type, choices and default.

    Numbers are typed as text, so a value such as `big` reaches the validator and its
    message shows at the field (a number input would silently refuse the keystrokes).
    Nothing updates while typing: a change is a value entered (Enter, leaving the field).
    """
    common: dict[str, Any] = {
        "description": parameter.name,
        "tooltip": parameter.help,
        "style": {"description_width": "11em"},
        "layout": widgets.Layout(width="100%"),
    }
    default = parameter.default
    if parameter.choices:
        return widgets.Dropdown(options=list(parameter.choices), value=default, **common)
    if parameter.type == "bool":
        return widgets.Checkbox(value=default, indent=False, **common)
    if parameter.type == "float" and "from 0 to 1" in parameter.help and 0 <= default <= 1:
        return widgets.FloatSlider(
            value=default, min=0, max=1, step=0.05, continuous_update=False, **common
        )
    if parameter.type in ("int", "float"):
        return widgets.Text(value=str(default), continuous_update=False, **common)
    if parameter.name == "script":
        common["layout"] = widgets.Layout(width="100%", height="7em")
        return widgets.Textarea(value=default, continuous_update=False, **common)
    if isinstance(default, str) and default.startswith("#") and len(default) in (4, 7):
        return widgets.ColorPicker(value=default, concise=False, **common)
    return widgets.Text(value=default, continuous_update=False, **common)


class Field(widgets.VBox):
    """One parameter's input, with the validator's message under it when it is refused."""

    def __init__(self, parameter: templates.Parameter) -> None:
        self.parameter = parameter
        self.control = _control_for(parameter)
        self.error = widgets.HTML(layout=widgets.Layout(margin="0 0 0 11em"))
        self.error.add_class("ns-field-error")
        super().__init__([self.control, self.error])

    def set(self, value: Any) -> None:
        self.control.value = str(value) if isinstance(self.control, widgets.Text) else value

    def check(self) -> Any:
        """The value as the template's validator types it; shows its message if refused."""
        try:
            value = templates.coerce(self.parameter, self.control.value)
        except ParameterError as error:
            self.show_error(str(error))
            raise
        self.show_error("")
        return value

    def show_error(self, message: str) -> None:
        self.error.value = (
            f"<span style='color:#c62828'>{html.escape(message)}</span>" if message else ""
        )


class Form(widgets.Tab):
    """A template's parameters as fields, one tab per section of its parameters cell.

    A comment on a line of its own in the parameters cell heads a section (`# Captions`);
    parameters above the first heading are under "Parameters".
    """

    def __init__(self, schema: Mapping[str, templates.Parameter]) -> None:
        # Reserved parameters are the run's (the studio names its own videos), not the form's.
        self.fields = {
            name: Field(p) for name, p in schema.items() if name not in templates.RESERVED
        }
        sections: dict[str, list[Field]] = {}
        for field in self.fields.values():
            sections.setdefault(field.parameter.section or "Parameters", []).append(field)
        self._tabs = {name: i for i, name in enumerate(sections)}
        super().__init__(
            [widgets.VBox(fields) for fields in sections.values()], titles=list(sections)
        )

    def values(self) -> dict[str, Any]:
        """Every field's value, validated; raises the first field's ParameterError."""
        values, first = {}, None
        for name, field in self.fields.items():
            try:
                values[name] = field.check()
            except ParameterError as error:
                first = first or error
        if first is not None:
            raise first
        return values

    def show_error(self, error: Exception) -> bool:
        """Show an error at the field it names (and bring its tab up); whether one did."""
        match = _NAMED.match(str(error))
        field = self.fields.get(match.group(1)) if match else None
        if field is None:
            return False
        field.show_error(str(error))
        self.selected_index = self._tabs[field.parameter.section or "Parameters"]
        return True
