"""Saved parameters: one JSON file that `neuroshorts render -f` and `POST /v1/renders` take.

The file is the API's request body, `{"template": NAME, "parameters": {...}}`, so what
a designer saves in the studio is posted by an automation unchanged and rendered by the
CLI unchanged. A plain object of parameters (`examples/demo.json`) is read as well.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from neuroshorts.errors import ParameterError
from neuroshorts.output.files import write_text_atomic

#: Keys of the request body besides `parameters` that a saved file may carry.
_REQUEST_KEYS = {"template", "parameters", "output", "callback_url"}


def save(path: str | Path, template: str, values: Mapping[str, Any]) -> Path:
    """Write `values` for `template` as a render request (atomically: never half a file)."""
    body = {"template": template, "parameters": dict(values)}
    return write_text_atomic(path, json.dumps(body, indent=2, ensure_ascii=False) + "\n")


def load(path: str | Path, template: str | None = None) -> dict[str, Any]:
    """The parameters in a saved file; with `template`, the file must be for that one.

    The field named in an error is the option the file came from, `--parameters-file`.
    """
    field = "--parameters-file"
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ParameterError(field, str(path), f"a readable JSON file ({error})") from None
    if not isinstance(data, dict):
        raise ParameterError(field, str(path), "a JSON object of name: value")
    if not (isinstance(data.get("parameters"), dict) and set(data) <= _REQUEST_KEYS):
        return data
    named = data.get("template")
    if template is not None and named is not None and named != Path(template).stem:
        raise ParameterError(
            f"{field} template", named, f"{Path(template).stem!r}, the template to render"
        )
    return dict(data["parameters"])
