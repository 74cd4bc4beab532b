"""The `neuroshorts` command and the template kernels start without loading what they never
use."""

import os
import subprocess
import sys
from importlib.metadata import entry_points

from neuroshorts.kernels.prestart import PRELOAD


def imported_modules(*arguments: str) -> set[str]:
    """Modules a `python ARGUMENTS` run imported, from `-X importtime`."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = [line for line in result.stderr.splitlines() if line.startswith("import time:")]
    return {line.rsplit("|", 1)[1].strip() for line in lines}


def test_the_command_skips_the_iri_grammar_that_jsonschema_would_build():
    modules = imported_modules("-m", "neuroshorts", "templates")
    assert "nbformat" in modules and "jsonschema" in modules
    assert "rfc3987_syntax.syntax_helpers" not in modules


def test_commands_that_run_no_notebook_start_without_papermill():
    """papermill loads every fsspec filesystem installed (gcsfs, boto3, aiohttp): about a
    second of each start that only a render needs."""
    modules = imported_modules("-m", "neuroshorts", "templates")
    assert "neuroshorts.templates.presets" in modules, "the command ran"
    assert not {name for name in modules if name.split(".")[0] in {"papermill", "gcsfs"}}


def test_the_installed_command_goes_through_the_start_up_module():
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "neuroshorts"]
    assert script.value == "neuroshorts.__main__:run"


def test_a_kernel_preloads_only_what_every_render_uses():
    """Every render's kernel runs PRELOAD before its first cell: jsonschema alone (with the
    IRI grammar a kernel cannot skip) cost 1-2 s of each kernel's start; fsspec is for
    media behind a URL only, num2words for scripts with numbers."""
    modules = imported_modules("-c", f"import ipykernel.kernelapp; {PRELOAD}")
    assert "neuroshorts.media.content" in modules and "neuroshorts.output.encode" in modules
    assert not {"nbformat", "jsonschema", "papermill", "fsspec", "num2words"} & modules


def test_the_render_command_launches_its_kernel_before_loading_the_templates():
    """`neuroshorts render` launches its kernel first: what that needs is jupyter_client,
    not papermill, nbformat, the engine or the settings (pydantic), which load on the
    other core meanwhile."""
    modules = imported_modules(
        "-c", "from neuroshorts.kernels import prestart; import jupyter_client.manager"
    )
    assert "neuroshorts.kernels.prestart" in modules
    assert not {"neuroshorts.templates", "nbformat", "papermill", "numpy", "pydantic"} & modules


def test_a_run_loads_papermill_without_gcsfs_which_stays_importable():
    """papermill's own gs:// handler is never used (a run hands it local paths), and its
    gcsfs import was half of papermill's; a gs:// output still gets gcsfs through fsspec."""
    code = (
        "from neuroshorts.templates import load_runner; load_runner(); import sys; "
        "assert 'papermill' in sys.modules and 'gcsfs' not in sys.modules, 'gcsfs loaded'; "
        "import fsspec; fsspec.get_filesystem_class('gs')"
    )
    modules = imported_modules("-c", code)
    assert "papermill.iorw" in modules and "gcsfs.core" in modules


def test_a_command_skipping_the_teardown_keeps_its_output_and_exit_code(tmp_path):
    """The command exits without the interpreter's teardown: what it printed into a pipe
    (block-buffered) still arrives whole, and its exit code is its own."""
    command = [sys.executable, "-m", "neuroshorts"]
    buffered = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    listed = subprocess.run(
        [*command, "templates"], capture_output=True, text=True, timeout=120, env=buffered
    )
    assert listed.returncode == 0
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [
        "explainer",
        "listicle",
        "news",
        "quote",
    ]
    missing = subprocess.run(
        [*command, "render", "nosuch", "-o", str(tmp_path / "x.mp4")],
        capture_output=True,
        text=True,
        timeout=120,
        env=buffered,
    )
    assert missing.returncode == 2 and "template 'nosuch' not found" in missing.stderr
