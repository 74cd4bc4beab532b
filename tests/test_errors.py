"""The package's exceptions: one module, one documented hierarchy."""

from __future__ import annotations

import ast
import builtins
import inspect
from pathlib import Path

import neuroshorts
from neuroshorts import errors

PACKAGE = Path(neuroshorts.__file__).parent
BUILTIN_EXCEPTIONS = {
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
}
CLASSES = [
    value
    for value in vars(errors).values()
    if inspect.isclass(value) and issubclass(value, BaseException)
]


def _base_names(node: ast.ClassDef) -> set[str]:
    names = set()
    for base in node.bases:
        if isinstance(base, ast.Name):
            names.add(base.id)
        elif isinstance(base, ast.Attribute):
            names.add(base.attr)
    return names


def test_no_module_but_errors_defines_an_exception():
    exceptions = {cls.__name__ for cls in CLASSES} | BUILTIN_EXCEPTIONS
    elsewhere = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and _base_names(node) & exceptions:
                elsewhere.append(f"{path.relative_to(PACKAGE)}: {node.name}")
    assert elsewhere == [], "exceptions belong in neuroshorts/errors.py"


def test_every_error_is_in_the_hierarchy_and_drawn_in_its_docstring():
    assert errors.__doc__ is not None
    for cls in CLASSES:
        assert issubclass(cls, errors.NeuroShortsError), cls
        assert cls.__name__ in errors.__doc__, f"{cls.__name__} is missing from the tree"


def test_bad_input_is_a_value_error_and_a_failed_run_a_runtime_error():
    for cls in CLASSES:
        if issubclass(cls, errors.InputError):
            assert issubclass(cls, ValueError), cls
        if issubclass(cls, errors.RunError):
            assert issubclass(cls, RuntimeError), cls
    assert issubclass(errors.AssetNotFoundError, FileNotFoundError)
    assert issubclass(errors.MissingExtraError, ImportError)


def test_an_api_error_reads_the_same_on_both_sides():
    error = errors.ApiError(422, "expected a float", "parameters.speed", "fast")
    assert (error.status, error.reason, error.field, error.value) == (
        422,
        "expected a float",
        "parameters.speed",
        "fast",
    )
    assert str(error) == "HTTP 422: parameters.speed: expected a float"
    assert str(errors.ApiError(503, "the queue is unreachable")) == (
        "HTTP 503: the queue is unreachable"
    )
