"""The package's folders import one another as docs/architecture.md says: downwards only."""

from __future__ import annotations

import ast
from pathlib import Path

import neuroshorts

PACKAGE = Path(neuroshorts.__file__).parent

#: What each part may import besides itself (docs/architecture.md, "Imports point down").
ALLOWED = {
    "scene": {"media"},  # typography judges a font path by the media policy
    "media": {"output", "settings"},  # atomic writes and stage timings
    "audio": {"scene", "media", "output", "settings"},
    "captions": {"scene", "output"},
    "visuals": {"scene", "media", "captions"},  # graphics keep to the captions' safe areas
    "output": {"scene", "captions", "media", "settings"},
    "kernels": {"output"},  # the file a run reports its progress in
    "templates": {"kernels", "media", "output", "settings"},
    "studio": {"scene", "audio", "captions", "visuals", "media", "output", "settings", "templates"},
    "apps": {"apps.service", "audio", "kernels", "media", "output", "settings", "templates"},
    "apps.service": {"apps", "kernels", "media", "output", "settings", "templates"},
}
#: What every part may import: it imports nothing of the package (the exceptions).
EVERYWHERE = {"errors"}


def part(module: str) -> str | None:
    """The part of the package a dotted module name belongs to."""
    names = module.split(".")
    if names[0] != "neuroshorts" or len(names) < 2 or names[1].startswith("__"):
        return None  # not ours, or the package's version
    if names[1:3] == ["apps", "service"]:
        return "apps.service"
    return names[1]


def imported_parts(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules = [f"{node.module}.{a.name}" for a in node.names]
            found |= {part(m) for m in (modules if node.module == "neuroshorts" else [node.module])}
        elif isinstance(node, ast.Import):
            found |= {part(alias.name) for alias in node.names}
    return found - {None}


def test_each_part_imports_only_the_parts_below_it():
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        owner = part(".".join(relative.parts))
        if owner not in ALLOWED:
            continue
        for target in imported_parts(path) - {owner} - ALLOWED[owner] - EVERYWHERE:
            wrong.append(f"{relative} imports {target}")
    assert wrong == []


def test_every_part_of_the_package_is_in_the_table():
    parts = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert parts == {name for name in ALLOWED if "." not in name}
