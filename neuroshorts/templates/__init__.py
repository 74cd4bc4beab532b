"""Templates: find the notebooks, read their parameter schema, validate, execute.

A template is a notebook whose `parameters` cell declares typed, commented
parameters; that cell is the template's schema. papermill executes the notebook with
values injected as data, but does not validate them (an unknown name is only a
warning and a wrong type surfaces deep in a kernel), so every value is checked here,
before any kernel starts, and the error names the parameter.

At ~540 lines this is the one module over 500: lookup (folders and bucket prefixes),
the schema and its one validator, and the run are the package's front door for every
caller; they split cleanly into `lookup`, `parameters` and `run` modules when next grown.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import io
import json
import logging
import math
import os
import re
import sys
import tempfile
import threading
import time
import tokenize
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbclient.exceptions import DeadKernelError

from neuroshorts.errors import (
    KernelError,
    ParameterError,
    RunCancelled,
    TemplateError,
    TemplateRunError,
)
from neuroshorts.kernels import prestart
from neuroshorts.media import assets, storage
from neuroshorts.output.bundle import NOTEBOOK, VIDEO, Bundle, is_video_name
from neuroshorts.output.cores import running
from neuroshorts.output.files import write_text_atomic
from neuroshorts.output.manifest import Manifest
from neuroshorts.output.progress import Progress
from neuroshorts.settings import settings

log = logging.getLogger(__name__)

#: Types a parameter may declare, and how a command-line string becomes one.
_TYPES: dict[str, type] = {"str": str, "int": int, "float": float, "bool": bool}
_TRUE, _FALSE = {"true", "yes", "1", "on"}, {"false", "no", "0", "off"}
#: A help comment starting with `[a|b|c]` restricts the parameter to those values.
_CHOICES = re.compile(r"^\[([^\]]+)\]\s*")
#: Template names are plain words, so a name can never point outside the template dirs.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
#: Parameters every template declares but no caller sets among the values: the run sets
#: them. `output` is where the video goes, which each front end takes apart from the
#: parameters (`-o`, a request's `output`, the batch's output pattern, a job file's
#: `output`), so that the checks of the place (inside the output directory, an allowed
#: URL) cannot be passed by.
RESERVED = frozenset({"output"})
#: How a caller of `run` names the video, for a refused reserved parameter.
RUN_OUTPUT = "the video is named apart (-o on the command line, run's `output` in Python)"


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    #: The heading of the form section it belongs to: the last comment on a line of its
    #: own above it in the parameters cell ("" before the first one).
    section: str = ""


@dataclass(frozen=True)
class Template:
    name: str
    path: Path
    description: str


def search_path() -> list[Path | str]:
    """Where templates are looked up by name, in order, first match wins.

    `NEUROSHORTS_TEMPLATES` (a path list whose entries may also be bucket prefixes such as
    `s3://bucket/templates/`, so a template published once is found by every machine of
    a fleet), then `./templates`, then the templates that ship beside the package in a
    source checkout. Folders that do not exist are left out.
    """
    configured = settings().templates
    # `s3://x` holds the path separator `:`; one followed by `//` separates nothing.
    entries = [e for e in re.split(rf"{re.escape(os.pathsep)}(?!//)", configured) if e]
    found: list[Path | str] = []
    for entry in entries:
        if storage.is_remote(entry):
            found.append(entry.rstrip("/") + "/")
        else:
            found.append(Path(entry))
    found += [Path.cwd() / "templates", Path(__file__).resolve().parents[2] / "templates"]
    unique: list[Path | str] = []
    for place in found:
        if isinstance(place, Path):
            if not place.is_dir():
                continue
            place = place.resolve()
        if place not in unique:
            unique.append(place)
    return unique


def template_dirs() -> list[Path]:
    """The local folders of the search path (`search_path`)."""
    return [place for place in search_path() if isinstance(place, Path)]


def list_templates() -> list[Template]:
    found: dict[str, Template] = {}
    for place in search_path():
        if isinstance(place, str):
            paths, directory = _remote_templates(place), None
        else:
            paths, directory = sorted(place.glob("*.ipynb")), place
        for path in paths:
            if (directory is None or _inside(path, directory)) and _NAME.fullmatch(path.stem):
                found.setdefault(path.stem, Template(path.stem, path, _description(path)))
    return sorted(found.values(), key=lambda template: template.name)


def _remote_templates(prefix: str) -> list[Path]:
    """The templates under a bucket prefix; one that cannot be used is left out (logged)."""
    paths = []
    try:
        urls = assets.listing(prefix, "*.ipynb", field="template")
    except assets.AssetError as error:
        log.warning("templates under %s are left out: %s", prefix, error)
        return []
    for url in urls:
        try:
            paths.append(_remote(url))
        except (TemplateError, FileNotFoundError) as error:
            log.warning("template left out: %s", error)
    return paths


def _remote(url: str) -> Path:
    """The template at `url` through the asset cache: fetched only when it changed."""
    try:
        return assets.resolve_current(url, field="template")
    except assets.AssetNotFoundError:
        raise
    except assets.AssetError as error:
        raise TemplateError(str(error)) from None


def _inside(path: Path, directory: Path) -> bool:
    """Whether `path`, symlinks followed, is a file in `directory` (not a link out of it)."""
    return path.is_file() and path.resolve().is_relative_to(directory.resolve())


def find(template: str | Path) -> Path:
    """A template notebook by path or by name (`explainer`)."""
    path = Path(template)
    if path.suffix == ".ipynb" and path.is_file():
        return path.resolve()
    return find_by_name(str(template))


def find_by_name(name: str) -> Path:
    """A template by its name only: what the API accepts from a request.

    A name is a plain word, never a path, and a notebook in a template directory that is
    a symlink to somewhere else is not found: a request can run only the notebooks the
    operator put in the template directories.
    """
    if _NAME.fullmatch(name):
        for place in search_path():
            if isinstance(place, str):
                with contextlib.suppress(FileNotFoundError):
                    return _remote(f"{place}{name}.ipynb")
            elif _inside(candidate := place / f"{name}.ipynb", place):
                return candidate
    names = ", ".join(t.name for t in list_templates()) or "none found"
    raise TemplateError(f"template {name!r} not found; available: {names}")


def _description(path: Path) -> str:
    """The first paragraph of the notebook's first markdown cell, minus the heading."""
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            paragraphs = [p for p in cell.source.split("\n\n") if not p.startswith("#")]
            return paragraphs[0].replace("\n", " ").strip() if paragraphs else ""
    return ""


def parameters(template: str | Path) -> dict[str, Parameter]:
    """The template's parameter schema, from its cell tagged `parameters`.

    The cell is read with Python's own parser rather than `papermill.inspect_notebook`,
    whose line-based reader cuts a default at `#` (so `"#ffcc00"` becomes `"`) and drops
    a line whose help comment contains `=`. papermill still injects the values. A comment
    on a line of its own is a section heading for the parameters below it (the studio's
    form groups them so).
    """
    path = find(template)
    schema = {}
    for node, help_text, section in _parameter_lines(path, _parameters_source(path)):
        name, type_name = node.target.id, ast.unparse(node.annotation)
        if type_name not in _TYPES:
            raise TemplateError(
                f"{path.name}: parameter {name!r} is annotated {type_name!r}; "
                f"expected one of {', '.join(_TYPES)}"
            )
        try:
            default = ast.literal_eval(node.value)
        except ValueError:
            raise TemplateError(
                f"{path.name}: parameter {name!r} needs a literal default, "
                f"got {ast.unparse(node.value)!r}"
            ) from None
        choices: tuple[str, ...] = ()
        if match := _CHOICES.match(help_text):
            choices = tuple(choice.strip() for choice in match.group(1).split("|"))
            help_text = help_text[match.end() :]
        parameter = Parameter(name, type_name, default, help_text, choices, section)
        try:
            coerce(parameter, default)
        except ParameterError as error:
            raise TemplateError(f"{path.name}: the default of {error}") from None
        schema[name] = parameter
    return schema


def _parameter_lines(path: Path, source: str) -> list[tuple[ast.AnnAssign, str, str]]:
    """Each `name: type = default  # help` of a parameters cell with its help and section."""
    comments: dict[int, str] = {}
    headings: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            text = token.string.lstrip("#").strip()
            own_line = not token.line[: token.start[1]].strip()
            (headings if own_line else comments)[token.start[0]] = text
    lines = []
    for node in ast.parse(source).body:
        if not (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.value is not None
        ):
            raise TemplateError(
                f"{path.name}: line {node.lineno} of the parameters cell is not of the form "
                "`name: type = default  # help`"
            )
        above = [text for line, text in headings.items() if line < node.lineno]
        help_text = comments.get(node.end_lineno or node.lineno, "")
        lines.append((node, help_text, above[-1] if above else ""))
    return lines


def set_defaults(template: str | Path, values: Mapping[str, Any]) -> dict[str, Any]:
    """Make `values` the template's defaults: rewrite them in its parameters cell.

    Only the default literals change; each line keeps its type, help and section, and
    every other cell (outputs included) is written back as it was. Returns the values
    as validated and written. The notebook is replaced atomically.
    """
    path = find(template)
    checked = validate(path, values)
    notebook = nbformat.read(path, as_version=4)
    cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    source = cell.source.encode()  # ast columns count UTF-8 bytes
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    for node, _help, _section in reversed(_parameter_lines(path, cell.source)):
        if (name := node.target.id) not in checked:
            continue
        value = checked[name]
        literal = json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)
        start = starts[node.value.lineno - 1] + node.value.col_offset
        end = starts[node.value.end_lineno - 1] + node.value.end_col_offset
        source = source[:start] + literal.encode() + source[end:]
    cell.source = source.decode()
    write_text_atomic(path, nbformat.writes(notebook) + "\n")
    return checked


def _parameters_source(path: Path) -> str:
    notebook = nbformat.read(path, as_version=4)
    cells = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    if not cells:
        raise TemplateError(f"{path.name}: no cell is tagged 'parameters'")
    return cells[0].source


def coerce(parameter: Parameter, value: Any) -> Any:
    """Check `value` against the parameter's type, converting command-line strings."""
    expected = _TYPES[parameter.type]
    if isinstance(value, str) and expected is not str:
        value = _from_string(parameter, value)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if type(value) is not expected:
        raise ParameterError(parameter.name, value, f"a {parameter.type}")
    if expected is float and not math.isfinite(value):
        raise ParameterError(parameter.name, value, "a finite number")
    if parameter.choices and value not in parameter.choices:
        raise ParameterError(parameter.name, value, f"one of {', '.join(parameter.choices)}")
    return value


def _from_string(parameter: Parameter, text: str) -> Any:
    if parameter.type == "bool":
        if text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise ParameterError(parameter.name, text, "a bool (true or false)")
    try:
        return _TYPES[parameter.type](text)
    except ValueError:
        raise ParameterError(parameter.name, text, f"a {parameter.type}") from None


def validate(
    template: str | Path, values: Mapping[str, Any], *, instead: str = RUN_OUTPUT
) -> dict[str, Any]:
    """The values checked and typed against the template's schema; raises ParameterError.

    `instead` says how the caller's front end sets a reserved parameter (see `check`).
    """
    path = find(template)
    return check(path.stem, parameters(path), values, instead=instead)


def check(
    template: str,
    schema: Mapping[str, Parameter],
    values: Mapping[str, Any],
    *,
    instead: str = RUN_OUTPUT,
) -> dict[str, Any]:
    """The one validator of parameter values, for every front end: each value typed
    against `schema` (the parameters of `template`), or the ParameterError naming it.

    A reserved name among the values is refused with `instead`, the front end's own way
    to set it ("set the request's `output`"); front ends that read their schema
    elsewhere (the API caches it) call this rather than `validate`.
    """
    refuse_reserved(values, instead=instead)
    checked = {}
    for name, value in values.items():
        if name not in schema:
            names = ", ".join(n for n in schema if n not in RESERVED)
            raise ParameterError(name, value, f"a parameter of {template}: {names}")
        checked[name] = coerce(schema[name], value)
    return checked


def refuse_reserved(values: Mapping[str, Any], *, instead: str = RUN_OUTPUT) -> None:
    """Raise ParameterError for the first reserved name among `values` (see RESERVED).

    For a front end that checks a request's shape before its values (the watch folder).
    """
    for name, value in values.items():
        if name in RESERVED:
            raise ParameterError(name, value, f"no `{name}` among the parameters: {instead}")


def _writable_folder(folder: Path, target: str) -> None:
    """Create `folder` and prove a file can be written there, before any kernel starts.

    A read-only or missing mount would otherwise surface minutes later as a failed
    encode (or as a traceback from deleting an old manifest).
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            pass
    except OSError as error:
        raise ParameterError(
            "output", target, f"a location where files can be written ({error.strerror or error})"
        ) from None


def _keep_notebook(notebook: Path, destination: str) -> None:
    """Upload a failed run's executed notebook beside its remote output: the record of it."""
    if notebook.is_file():
        try:
            storage.upload(notebook, storage.sibling_url(destination, NOTEBOOK))
        except storage.PublishError as error:
            log.warning("the executed notebook stays unpublished: %s", error)


def load_runner() -> None:
    """Import papermill and the kernel supervision that `run` needs, ahead of a first run.

    papermill, with the filesystems it loads (gcsfs, boto3, aiohttp), costs about a second
    of a process's start. Only `run` uses it, so listing templates, checking parameters,
    the API and the other commands start without it; a worker calls this at its start so
    that its first job does not wait for the import. Half of papermill's import is gcsfs
    (with aiohttp and google-auth) for its gs:// handler. A run hands papermill local
    paths only (`storage` publishes), so gcsfs is kept out of that import; fsspec
    imports it where a gs:// output needs it.
    """
    # Only around papermill's first import: a later run's thread (a batch row) may be
    # importing gcsfs for its gs:// output while another run calls this.
    absent = "gcsfs" not in sys.modules and "papermill" not in sys.modules
    if absent:
        sys.modules["gcsfs"] = None  # papermill then leaves its gs:// handler unset
    try:
        from neuroshorts.templates import kernel  # noqa: F401  (imports papermill)
    finally:
        if absent and sys.modules.get("gcsfs", "") is None:
            del sys.modules["gcsfs"]


def run(
    template: str | Path,
    values: Mapping[str, Any],
    output: str | Path,
    *,
    attachments: Sequence[Path] = (),
    progress: bool = False,
    on_progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    background: bool = False,
    next_kernel: bool = False,
    since: float | None = None,
) -> Manifest:
    """Render `template` with `values` to the MP4 `output` through papermill.

    The executed notebook is saved beside the video (`.ipynb`) as the record of the
    run, also when it fails, and the manifest the notebook wrote is completed with the
    template's name, the parameters, the notebook's path and the kernel's timings.

    `on_progress` receives the section running, the fraction done, the kernel's pid and
    the frames encoded (a queue worker and the terminal's bar report them; `bars.py`);
    `progress` shows papermill's own bar of notebook cells instead. Setting `cancel` kills
    the kernel and its ffmpeg and raises `RunCancelled`. However the run ends, no process
    of it is left behind. `background` gives the render only the CPU nothing else wants
    (see priority.py). The run's kernel is the one this process prepared (`prestart`),
    else one started now; with `next_kernel`, the next run's kernel starts while this one
    renders (a worker with more jobs to come). `since` is when the job started (a
    `time.perf_counter()` reading; default now): the manifest's `first_cell` stage counts
    from it. `attachments` (a job's log) are published beside a remote video, before its
    manifest. The manifest records the notebook's SHA-256 (`template_sha256`): which
    version of the template ran.
    """
    since = time.perf_counter() if since is None else since
    load_runner()
    import papermill

    from neuroshorts.templates.kernel import Supervision

    path = find(template)
    destination = str(output)
    output = storage.render_path(destination)
    target = destination if storage.is_remote(destination) else str(output)
    if not is_video_name(output.name):
        raise ParameterError(
            "output", target, f"a path ending in {VIDEO} (or an s3:// or gs:// URL)"
        )
    schema = parameters(path)
    if "output" not in schema:
        raise TemplateError(f"{path.name}: declares no `output` parameter; expected output: str")
    checked = check(path.stem, schema, values)
    checked["output"] = coerce(schema["output"], str(output))
    bundle = Bundle(output)
    notebook, manifest_path = bundle.notebook, bundle.manifest
    _writable_folder(output.parent, target)
    manifest_path.unlink(missing_ok=True)

    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        log.info("rendering %s → %s", path.stem, target)
        started = time.perf_counter()
        with (
            running(),
            Supervision(
                path, on_progress, cancel, output_dir=output.parent, since=since
            ) as supervision,
        ):
            try:
                supervision.adopt(prestart.take(background, prepare_next=next_kernel))
                papermill.execute_notebook(
                    str(path),
                    str(notebook),
                    parameters=checked,
                    kernel_name=prestart.KERNEL_NAME,
                    progress_bar=progress,
                    **supervision.engine_kwargs,
                )
            except KernelError as error:
                raise TemplateRunError(f"template {path.stem!r}: {error}") from error
            except papermill.PapermillExecutionError as error:
                raise TemplateRunError(
                    f"template {path.stem!r} failed in cell {error.exec_count}: "
                    f"{error.ename}: {error.evalue} (executed notebook: {notebook})"
                ) from error
            except DeadKernelError as error:
                raise TemplateRunError(
                    f"template {path.stem!r}: the kernel died ({error}); "
                    f"executed notebook: {notebook}"
                ) from error
            except OSError as error:  # papermill saving the notebook: a full or failing disk
                raise TemplateRunError(
                    f"template {path.stem!r}: cannot write {error.filename or notebook} "
                    f"({error.strerror or error})"
                ) from error
        elapsed = time.perf_counter() - started

        if not manifest_path.is_file():
            raise TemplateRunError(
                f"template {path.stem!r} finished without rendering: "
                f"it wrote no {manifest_path.name}"
            )
        manifest = Manifest.model_validate(json.loads(manifest_path.read_text(encoding="utf-8")))
        manifest.template = path.stem
        manifest.parameters = {
            **{name: p.default for name, p in schema.items()},
            **checked,
            "output": target,
        }
        manifest.notebook = str(notebook)
        manifest.template_sha256 = digest
        manifest.stages.update(supervision.stages)
        manifest.stages["papermill"] = round(elapsed, 3)
        if "assets.cache" in manifest.stages:  # the kernel's own log lines stay in the kernel
            fetched = manifest.stages.get("assets.fetch")
            log.info("remote assets: %s", f"fetched in {fetched} s" if fetched else "all cached")
        write_text_atomic(manifest_path, manifest.model_dump_json(indent=2))
        # Publishing rewrites the manifest to name where the files went (and uploads it
        # last, after the `attachments`).
        supervision.publishing()
        storage.publish(output, destination, attachments)
        manifest = Manifest.model_validate_json(manifest_path.read_text(encoding="utf-8"))
    except Exception as error:
        if storage.is_remote(destination) and not isinstance(error, RunCancelled):
            _keep_notebook(notebook, destination)
        raise
    finally:
        # A remote output's work directory goes whether or not the run or upload worked.
        storage.discard_work(output)
    log.info("done in %.1f s: %s", elapsed, target)
    return manifest
