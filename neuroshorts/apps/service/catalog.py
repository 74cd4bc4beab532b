"""Templates as the API shows and checks them: JSON Schema, request validation.

Reading a template's parameters cell parses the notebook (milliseconds each time), and
the API checks every request against it, so schemas are cached per notebook file and
modification time: an edited template is seen at the next request.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from neuroshorts import templates

_JSON_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}


@functools.lru_cache(maxsize=128)
def _schema(path: str, mtime_ns: int) -> dict[str, templates.Parameter]:
    return templates.parameters(Path(path))


def schema(name: str) -> tuple[Path, dict[str, templates.Parameter]]:
    """The template's notebook and parameters; raises TemplateError."""
    path = templates.find_by_name(name)
    return path, _schema(str(path), path.stat().st_mtime_ns)


def json_schema(name: str) -> dict[str, Any]:
    """The template's parameters as a JSON Schema object (what a form builder needs)."""
    _, parameters = schema(name)
    properties: dict[str, Any] = {}
    for parameter in parameters.values():
        if parameter.name in templates.RESERVED:  # a request names its video apart
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
    """The values typed and checked against the template; raises ParameterError."""
    _, parameters = schema(name)
    return templates.check(name, parameters, values, instead="set the request's `output`")
