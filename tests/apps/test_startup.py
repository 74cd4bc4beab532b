"""The `neuroshorts` command starts without loading what it never uses."""

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
