"""NeuroShorts: vertical short videos from a script, designed as Jupyter notebooks.

The public face is what a template author needs: the scene types, the three engines
(`audio`, `captions`, `visuals`), `render` and `preview`, `run_template`, `resolve` for
media, the studio and the stage timer. Names load on first use (PEP 562 `__getattr__`),
not at import: `neuroshorts --help` and the service import this package too, and an
eager face would make each of them load numpy, OpenCV and the widget stack.
"""

from importlib import import_module
from typing import Any

#: Public name -> (module, attribute); attribute None means the module itself.
_FACE = {
    "Canvas": ("neuroshorts.scene", "Canvas"),
    "Layer": ("neuroshorts.scene", "Layer"),
    "Short": ("neuroshorts.scene", "Short"),
    "Sound": ("neuroshorts.scene", "Sound"),
    "Span": ("neuroshorts.scene", "Span"),
    "Word": ("neuroshorts.scene", "Word"),
    "audio": ("neuroshorts.audio", None),
    "captions": ("neuroshorts.captions", None),
    "visuals": ("neuroshorts.visuals", None),
    "studio": ("neuroshorts.studio", None),
    "templates": ("neuroshorts.templates", None),
    "render": ("neuroshorts.output.encode", "render"),
    "preview": ("neuroshorts.output.encode", "preview"),
    "run_template": ("neuroshorts.templates", "run"),
    "Stages": ("neuroshorts.output.timing", "Stages"),
    "resolve": ("neuroshorts.media.assets", "resolve"),
}

__all__ = ["__version__", *_FACE]


def __getattr__(name: str) -> Any:
    if name == "__version__":  # importlib.metadata: 12 ms of every command's start
        return _version()
    try:
        module, attribute = _FACE[name]
    except KeyError:
        raise AttributeError(f"module 'neuroshorts' has no attribute {name!r}") from None
    value = import_module(module)
    return value if attribute is None else getattr(value, attribute)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("neuroshorts")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0"


def __dir__() -> list[str]:
    return sorted(__all__)
