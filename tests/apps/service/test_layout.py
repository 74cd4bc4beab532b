"""The service's modules import one another in one direction: no import cycles."""

from __future__ import annotations

import ast
from pathlib import Path

import neuroshorts.apps.service

PACKAGE = Path(neuroshorts.apps.service.__file__).parent
PREFIX = "neuroshorts.apps.service"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parents[2]).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules: set[str]) -> set[str]:
    """The service modules `path` imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PREFIX):
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                found.add(name if name in modules else node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith(PREFIX)}
    return found


def test_no_module_of_the_service_imports_itself_through_others():
    files = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {name: imports(path, set(files)) - {name} for name, path in files.items()}
    cycles, explored = [], set()

    def visit(name: str, path: list[str]) -> None:
        for target in sorted(graph.get(name, ())):
            if target in path:
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target in graph and target not in explored:
                visit(target, [*path, target])
        explored.add(name)

    for name in graph:
        visit(name, [name])
    assert cycles == []
    assert len(graph) > 15 and graph["neuroshorts.apps.service.tasks"], "the graph was read"
