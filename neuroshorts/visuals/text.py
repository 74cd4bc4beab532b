"""User-written text filled in a jinja2 sandbox: titles and captions are data, not code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import DictLoader, StrictUndefined
from jinja2.exceptions import SecurityError, TemplateError, TemplateNotFound
from jinja2.sandbox import SandboxedEnvironment

#: An empty loader: `{% include %}`, `{% import %}` and `{% extends %}` find nothing, so
#: a user's text can never read a file.
_TEXT_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, loader=DictLoader({}))


def render_text(
    template: str, context: Mapping[str, Any] | None = None, *, field: str = "text"
) -> str:
    """Fill a user-written jinja2 text (`"Top {{ n }} tips"`) in a sandbox.

    Titles come from API requests and automations, so they are data: the sandbox
    refuses attribute tricks that would reach Python internals.
    """
    try:
        return _TEXT_ENV.from_string(template).render(**(context or {}))
    except TemplateNotFound as error:
        raise ValueError(
            f"{field}: {template!r} tries to include another template ({error}); "
            "expected plain text with {{ variables }}"
        ) from error
    except SecurityError as error:
        raise ValueError(f"{field}: {template!r} tries something unsafe: {error}") from error
    except TemplateError as error:
        raise ValueError(f"{field}: {template!r} is not a valid text template: {error}") from error
