"""Templates as the API shows and checks them: JSON Schema, request validation, caching.

Reading a template's parameters cell parses the notebook (milliseconds each time), and
the API checks every request against it, so schemas are cached per notebook file and
modification time. Finding the notebook (resolving every template directory, refusing
symlinks out of them) cost a submit more than its database write under load, so a name's
lookup is trusted for `FRESH` seconds: a template added, removed or edited is seen
within that.
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path
from typing import Any

from neuroshorts import templates

_JSON_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}
#: The API places the video itself (see `outputs.resolve`); requests name it apart.
RESERVED = frozenset({"output"})
#: Seconds a template name's lookup is reused.
FRESH = 2.0
#: (name, where templates are looked up) -> (when looked up, notebook, parameters);
#: only names that were found.
_found: dict[tuple[str, ...], tuple[float, Path, dict[str, templates.Parameter]]] = {}


@functools.lru_cache(maxsize=128)
def _schema(path: str, mtime_ns: int) -> dict[str, templates.Parameter]:
    return templates.parameters(Path(path))


def schema(name: str) -> tuple[Path, dict[str, templates.Parameter]]:
    """The template's notebook and parameters; raises templates.TemplateError."""
    moment = time.monotonic()
    key = (name, os.environ.get("NEUROSHORTS_TEMPLATES", ""), os.getcwd())
    if (hit := _found.get(key)) and moment - hit[0] < FRESH:
        return hit[1], hit[2]
    path = templates.find_by_name(name)
    parameters = _schema(str(path), path.stat().st_mtime_ns)
    _found[key] = (moment, path, parameters)
    return path, parameters


def json_schema(name: str) -> dict[str, Any]:
    """The template's parameters as a JSON Schema object (what a form builder needs)."""
    _, parameters = schema(name)
    properties: dict[str, Any] = {}
    for parameter in parameters.values():
        if parameter.name in RESERVED:
            continue
        entry: dict[str, Any] = {
            "type": _JSON_TYPES[parameter.type],
            "default": parameter.default,
            "description": parameter.help,
        }
        if parameter.choices:
            entry["enum"] = list(parameter.choices)
        properties[parameter.name] = entry
    return {"type": "object", "properties": properties, "additionalProperties": False}


def check(name: str, values: dict[str, Any]) -> dict[str, Any]:
    """The values typed and checked against the template; raises templates.ParameterError."""
    _, parameters = schema(name)
    checked = {}
    for key, value in values.items():
        if key in RESERVED:
            raise templates.ParameterError(
                key, value, "no `output` among the parameters: set the request's `output`"
            )
        if key not in parameters:
            names = ", ".join(p for p in parameters if p not in RESERVED)
            raise templates.ParameterError(key, value, f"a parameter of {name}: {names}")
        checked[key] = templates.coerce(parameters[key], value)
    return checked
