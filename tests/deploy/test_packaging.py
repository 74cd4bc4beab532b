"""The conda environment stays equivalent to pyproject.toml."""

import tomllib

import yaml

from support import REPO


def test_environment_yml_lists_exactly_the_runtime_and_test_requirements():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"]) | set(project["optional-dependencies"]["test"])
    environment = yaml.safe_load((REPO / "environment.yml").read_text())
    pip = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    assert set(pip) - {"-e ."} == wanted
    assert "-e ." in pip
    python = next(d for d in environment["dependencies"] if str(d).startswith("python"))
    assert python == "python" + project["requires-python"]
