"""Folder mode: render each job file dropped in a directory, then file it as done or failed.

This is the MVP's automation contract (n8n or a script writes `job.json` into a folder),
kept as a migration path next to the REST API. A job is

    {"template": "explainer", "parameters": {...}, "output": "optional/name.mp4"}

and its life is a series of renames inside the folder, so a crash never loses or
repeats one:

    DIR/job.json ──claim──► DIR/processing/job.json ──► DIR/done/job.json + job.result.json
                                                    └─► DIR/failed/job.json + job.error.json

A claim is one atomic rename, and only one watcher works on a folder at a time (an
advisory lock), so a job left in `processing/` can only belong to a watcher that died:
the next one to start renders it first. Writers are not asked to cooperate: dotfiles
and `*.tmp` are ignored, and a file that does not parse yet is taken to be still
growing until it has not changed for `settle` seconds.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from neuroshorts import templates
from neuroshorts.apps import logs
from neuroshorts.errors import JobError, ParameterError, TemplateError, TemplateRunError, WatchError
from neuroshorts.output.bundle import VIDEO, Bundle, is_video_name
from neuroshorts.output.files import write_text_atomic

log = logging.getLogger(__name__)

PROCESSING, DONE, FAILED = "processing", "done", "failed"
LOCK_NAME = ".watch.lock"
_JOB_KEYS = {"template", "parameters", "output"}


@dataclass(frozen=True)
class Job:
    template: str
    parameters: dict[str, Any]
    output: str | None


@dataclass(frozen=True)
class Outcome:
    """What became of one job file: where it was filed and the video or the error."""

    job: str
    ok: bool
    record: Path
    video: Path | None = None
    error: str | None = None


def watch(
    directory: str | Path,
    output_dir: str | Path | None = None,
    *,
    once: bool = False,
    interval: float = 2.0,
    settle: float = 10.0,
    stop: threading.Event | None = None,
) -> Iterator[Outcome]:
    """Render the jobs in `directory` one at a time, yielding each outcome as it is filed.

    Videos go to `output_dir` (default `DIR/out`), a job's `output` being relative to
    it. With `once`, the jobs present now are processed and the generator ends;
    otherwise the folder is polled every `interval` seconds until `stop` is set.
    """
    inbox = Path(directory).resolve()
    if not inbox.is_dir():
        raise WatchError(f"{inbox}: no such directory to watch")
    outputs = Path(output_dir).resolve() if output_dir else inbox / "out"
    if outputs in {inbox, *(inbox / name for name in (PROCESSING, DONE, FAILED))}:
        raise WatchError(
            f"output dir {outputs}: the manifests written there would look like jobs; "
            f"choose a folder other than {inbox} and its {PROCESSING}/{DONE}/{FAILED}"
        )
    stop = stop or threading.Event()
    with _lock(inbox):
        for name in (PROCESSING, DONE, FAILED):
            (inbox / name).mkdir(exist_ok=True)
        log.info("watching %s (videos to %s)", inbox, outputs)
        for orphan in _oldest_first((inbox / PROCESSING).glob("*.json")):
            log.warning(
                "%s was left in %s/ by a watcher that stopped; rendering it",
                orphan.name,
                PROCESSING,
            )
            yield _process(orphan, inbox, outputs)
        while not stop.is_set():
            for path in _ready(inbox, settle):
                if stop.is_set():
                    return
                if (claimed := _claim(path, inbox)) is not None:
                    yield _process(claimed, inbox, outputs)
            if once or stop.wait(interval):
                return


@contextmanager
def _lock(inbox: Path) -> Iterator[None]:
    """Hold the folder's advisory lock; the OS drops it if this process dies."""
    with open(inbox / LOCK_NAME, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WatchError(
                f"{inbox}: another watcher is already working on it (lock {inbox / LOCK_NAME})"
            ) from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _oldest_first(paths: Iterator[Path]) -> list[Path]:
    stamped = []
    for path in paths:
        try:
            stamped.append((path.stat().st_mtime_ns, path.name, path))
        except FileNotFoundError:
            continue  # gone between listing and stat: someone else's business
    return [path for _, _, path in sorted(stamped)]


def _ready(inbox: Path, settle: float) -> list[Path]:
    """Job files complete enough to claim, oldest first.

    A file that parses as JSON is complete (a JSON document cannot be cut short and
    still parse). One that does not is either still being written or broken; once it
    has not changed for `settle` seconds it is claimed so that it fails visibly.
    """
    ready = []
    for path in _oldest_first(inbox.glob("*.json")):
        if path.name.startswith(".") or not path.is_file():
            continue
        try:
            json.loads(path.read_bytes().decode("utf-8-sig"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            try:
                age = time.time() - path.stat().st_mtime
            except OSError:
                continue
            if age < settle:
                log.debug("%s does not parse yet; waiting for its writer", path.name)
                continue
        except OSError as error:  # gone meanwhile, or not readable by us
            log.debug("%s: skipped (%s)", path.name, error)
            continue
        ready.append(path)
    return ready


def _claim(path: Path, inbox: Path) -> Path | None:
    """Move the job into `processing/` with one atomic rename; None if it is not ours."""
    claimed = inbox / PROCESSING / path.name
    if claimed.exists():
        log.warning("%s: a job of the same name is still processing; it waits", path.name)
        return None
    try:
        os.rename(path, claimed)
    except FileNotFoundError:
        return None
    return claimed


def _process(claimed: Path, inbox: Path, outputs: Path) -> Outcome:
    """Render one claimed job and file it; every failure becomes an error record."""
    name, stem = claimed.name, claimed.stem
    output: Path | None = None
    with logs.job_scope(stem):
        try:
            job = read_job(claimed)
            output = _output_path(job, stem, outputs)
            manifest = templates.run(job.template, job.parameters, output, progress=False)
        except (JobError, ParameterError, TemplateError) as error:
            return _fail(claimed, inbox, error, "invalid", output)
        except TemplateRunError as error:
            return _fail(claimed, inbox, error, "render", output)
        except Exception as error:  # one broken job must not stop the watcher
            log.exception("%s: unexpected error", name)
            return _fail(claimed, inbox, error, "error", output)
        final = _free_stem(inbox / DONE, stem)
        record = write_text_atomic(
            inbox / DONE / f"{final}.result.json", manifest.model_dump_json(indent=2)
        )
        os.rename(claimed, inbox / DONE / f"{final}.json")
        log.info("%s done: %s", name, manifest.video)
        return Outcome(name, True, record, video=Path(manifest.video))


def read_job(path: Path) -> Job:
    """A job file parsed and checked for shape (the parameters are checked on render)."""
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise JobError("job", path.name, f"a JSON object ({error})") from None
    if not isinstance(data, dict):
        raise JobError("job", data, "a JSON object with template, parameters and output")
    for key in data:
        if key not in _JOB_KEYS:
            raise JobError(
                key, data[key], f"no such field; a job has {', '.join(sorted(_JOB_KEYS))}"
            )
    template, parameters, output = (
        data.get("template"),
        data.get("parameters", {}),
        data.get("output"),
    )
    if not isinstance(template, str) or not template:
        raise JobError("template", template, "a template name such as explainer")
    if not isinstance(parameters, dict):
        raise JobError("parameters", parameters, "an object of parameter: value")
    try:
        templates.refuse_reserved(parameters, instead="set `output` at the job's top level")
    except ParameterError as error:
        raise JobError(f"parameters.{error.name}", error.value, error.expected) from None
    if output is not None and not isinstance(output, str):
        raise JobError("output", output, f"a file name ending in {VIDEO}, or null")
    return Job(template, parameters, output or None)


def _output_path(job: Job, stem: str, outputs: Path) -> Path:
    """The job's video: its `output` inside the output dir, else `<job name>.mp4` there."""
    if job.output is None:
        return outputs / f"{stem}{VIDEO}"
    relative = Path(job.output)
    if relative.is_absolute() or ".." in relative.parts or not is_video_name(relative.name):
        raise JobError(
            "output", job.output, f"a relative path ending in {VIDEO} (inside {outputs})"
        )
    return outputs / relative


def _culprit(error: Exception) -> tuple[str | None, str | None]:
    """The job field and the template parameter an error is about, when it is about one."""
    if isinstance(error, JobError):
        return error.field, None
    if isinstance(error, ParameterError):
        return "parameters", error.name
    if isinstance(error, TemplateError):
        return "template", None
    return None, None


def _fail(
    claimed: Path,
    inbox: Path,
    error: Exception,
    kind: str,
    output: Path | None,
) -> Outcome:
    """File the job under `failed/` beside an error record saying what to fix."""
    name = claimed.name
    field, parameter = _culprit(error)
    final = _free_stem(inbox / FAILED, claimed.stem)
    notebook = Bundle(output).notebook if output is not None else None
    record = {
        "job": name,
        "kind": kind,
        "field": field,
        "parameter": parameter,
        "error": str(error) or type(error).__name__,
        "notebook": str(notebook) if notebook and notebook.is_file() else None,
        "failed_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path = write_text_atomic(inbox / FAILED / f"{final}.error.json", json.dumps(record, indent=2))
    os.rename(claimed, inbox / FAILED / f"{final}.json")
    log.error("%s failed: %s", name, record["error"])
    return Outcome(name, False, path, error=record["error"])


def _free_stem(folder: Path, stem: str) -> str:
    """`stem`, or `stem-2`, `stem-3`... when a job of that name was filed here before."""
    candidate, number = stem, 1
    while any(
        (folder / f"{candidate}{suffix}").exists()
        for suffix in (".json", ".result.json", ".error.json")
    ):
        number += 1
        candidate = f"{stem}-{number}"
    return candidate
