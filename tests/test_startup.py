"""The `neuroshorts` command starts without loading what it never uses, and the API loads
what its first request needs before it answers."""

import os
import subprocess
import sys
from importlib.metadata import entry_points


def imported_modules(*arguments: str) -> set[str]:
    """Modules a `python -m neuroshorts ARGUMENTS` run imported, from `-X importtime`."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "neuroshorts", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = [line for line in result.stderr.splitlines() if line.startswith("import time:")]
    return {line.rsplit("|", 1)[1].strip() for line in lines}


def test_the_command_skips_the_iri_grammar_that_jsonschema_would_build():
    modules = imported_modules("templates")
    assert "nbformat" in modules and "jsonschema" in modules
    assert "rfc3987_syntax.syntax_helpers" not in modules


def test_the_installed_command_goes_through_the_start_up_module():
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "neuroshorts"]
    assert script.value == "neuroshorts.__main__:run"


FIRST_SUBMIT = """
import gc
import sys
from fastapi.testclient import TestClient
from neuroshorts.service.api import create_app

with TestClient(create_app(sweep=False)) as client:
    before = set(sys.modules)
    answer = client.post(
        "/v1/renders", json={"template": "explainer", "parameters": {"script": "Hi."}}
    )
    assert answer.status_code == 202, answer.text
    print(gc.get_freeze_count(), len(gc.get_objects()))
    print(" ".join(sorted(set(sys.modules) - before)))
"""


def test_the_api_loads_what_a_submit_needs_before_it_answers_anyone(tmp_path):
    """Celery imports its protocol, backend and transport on first use (0.2 s): a burst
    of clients arriving just after a start all waited behind that first request. And the
    start-up heap is frozen out of garbage collection (a full pass took 0.2 s)."""
    environment = {
        "NEUROSHORTS_HOME": str(tmp_path / "home"),
        "NEUROSHORTS_DATA_DIR": str(tmp_path / "data"),
    }
    result = subprocess.run(
        [sys.executable, "-c", FIRST_SUBMIT],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | environment,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    counts, new_modules = (result.stdout + "\n").split("\n", 1)
    assert new_modules.split() == []
    frozen, collected = map(int, counts.split())
    assert frozen > 100_000 and collected < frozen / 5, "a full collection walks the start-up"
