"""User-written text filled in a jinja2 sandbox: titles and captions are data, not code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import SandboxedEnvironment

_TEXT_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def render_text(
    template: str, context: Mapping[str, Any] | None = None, *, field: str = "text"
) -> str:
    """Fill a user-written jinja2 text (`"Top {{ n }} tips"`) in a sandbox.

    Titles come from API requests and automations, so they are data: the sandbox
    refuses attribute tricks that would reach Python internals.
    """
    try:
        return _TEXT_ENV.from_string(template).render(**(context or {}))
    except SecurityError as error:
        raise ValueError(f"{field}: {template!r} tries something unsafe: {error}") from error
    except TemplateError as error:
        raise ValueError(f"{field}: {template!r} is not a valid text template: {error}") from error
