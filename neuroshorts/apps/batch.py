"""Batch rendering: one template, many rows of parameters, rendered in parallel processes.

Rows come from a spreadsheet export (CSV with a header of parameter names), JSON Lines
or a JSON list. Every row is checked against the template's schema before the first
render starts, because a typo in row 97 found after an hour of rendering costs the hour.
Rows then render in worker processes (each papermill run has a kernel of its own, so
processes, not threads, are what scale with cores); a row that fails is reported and
the others go on. Each worker keeps its next row's kernel started while it renders one
(`prestart`), as long as rows are left to start.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import logging.handlers
import multiprocessing
import os
import re
import signal
import string
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import Any

from neuroshorts import templates
from neuroshorts.errors import BatchError, ParameterError, RunCancelled, TemplateRunError
from neuroshorts.kernels import prestart
from neuroshorts.output.bundle import VIDEO, is_video_name
from neuroshorts.output.cores import cores
from neuroshorts.output.progress import Progress

log = logging.getLogger(__name__)

KINDS = ("csv", "jsonl", "json")
_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}
#: Characters a row's value may not bring into a file name (path separators, controls,
#: the ones Windows forbids), so `{title}` in a pattern can never leave its folder.
_UNSAFE = re.compile(r'[\\/\x00-\x1f:*?"<>|]')
#: Where a batch names each row's video, for an `output` among the values.
_PATTERN_NAMES_FILES = "the output pattern names each row's file"


@dataclass(frozen=True)
class RowJob:
    """One validated row, ready to render: its 1-based number, values and output file."""

    row: int
    values: dict[str, Any]
    output: Path


@dataclass(frozen=True)
class RowResult:
    row: int
    output: Path
    ok: bool
    error: str | None = None
    seconds: float = 0.0


# --- reading rows ---------------------------------------------------------------------


def read_rows(source: str | Path, kind: str | None = None) -> list[dict[str, Any]]:
    """Rows of parameters from a CSV, JSON Lines or JSON-list file, or from the raw text.

    `source` is a `Path` to read, or a `str` holding the rows themselves. Text is never
    taken for a file name: the API hands request bodies to this function, and a body
    such as `/etc/passwd` must not read the server's files. `kind` is `csv`, `jsonl` or
    `json`; when None it comes from the file's suffix, or for text from its first
    character. An empty CSV cell means "not set" (the template's default or a common
    value applies), so sparse sheets work.
    """
    text, name, suffix = _load(source)
    kind = kind or _SUFFIXES.get(suffix) or _guess_kind(text)
    if kind not in KINDS:
        raise BatchError(f"{name}: unknown rows format {kind!r}; expected one of {KINDS}")
    rows = {"csv": _csv_rows, "jsonl": _jsonl_rows, "json": _json_rows}[kind](text, name)
    if not rows:
        hint = ""
        if isinstance(source, str) and "\n" not in source.strip():
            hint = f"; to read a file named {source.strip()!r}, pass a Path"
        raise BatchError(f"{name}: no rows to render{hint}")
    return rows


def _load(source: str | Path) -> tuple[str, str, str]:
    """The text, a name for messages and the suffix that hints at the format."""
    if isinstance(source, str):
        return source, "rows", ""
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8-sig"), str(path), path.suffix.lower()
    except FileNotFoundError:
        raise BatchError(f"{path}: no such rows file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise BatchError(f"{path}: cannot read it as UTF-8 text ({error})") from None


def _guess_kind(text: str) -> str:
    first = text.lstrip()[:1]
    return {"[": "json", "{": "jsonl"}.get(first, "csv")


def _csv_rows(text: str, name: str) -> list[dict[str, Any]]:
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = [column.strip() for column in next(reader)]
    except StopIteration:
        raise BatchError(f"{name}: empty CSV; expected a header of parameter names") from None
    except csv.Error as error:
        raise BatchError(f"{name}: line 1: {error}") from None
    for index, column in enumerate(header, start=1):
        if not column:
            raise BatchError(f"{name}: header column {index} has no name")
        if header.index(column) != index - 1:
            raise BatchError(f"{name}: header names column {column!r} twice")
    rows = []
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # blank lines between rows, common in hand-edited sheets
            where = f"{name}: row {len(rows) + 1} (line {reader.line_num})"
            if len(cells) > len(header):
                raise BatchError(
                    f"{where}: {len(cells)} values but the header names {len(header)} columns"
                )
            rows.append({column: cell for column, cell in zip(header, cells, strict=False) if cell})
    except csv.Error as error:
        raise BatchError(f"{name}: line {reader.line_num}: {error}") from None
    return rows


def _jsonl_rows(text: str, name: str) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{name}: row {len(rows) + 1} (line {number})"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise BatchError(
                f"{where}: not valid JSON ({error.msg} at column {error.colno})"
            ) from None
        rows.append(_object(row, where))
    return rows


def _json_rows(text: str, name: str) -> list[dict[str, Any]]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as error:
        raise BatchError(
            f"{name}: not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from None
    if not isinstance(items, list):
        raise BatchError(f"{name}: expected a JSON list of objects, got {type(items).__name__}")
    return [_object(item, f"{name}: row {n}") for n, item in enumerate(items, start=1)]


def _object(row: Any, where: str) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise BatchError(f"{where}: expected an object of parameter: value, got {row!r}")
    return row


# --- planning ------------------------------------------------------------------------


def plan(
    template: str | Path,
    rows: list[Mapping[str, Any]],
    output_pattern: str,
    common: Mapping[str, Any] | None = None,
) -> list[RowJob]:
    """Every row validated and given its output file, or BatchError before any render.

    `common` values apply to every row; a row's own value wins. The pattern's `{row}`
    is the 1-based row number (`{row:03d}` pads it) and `{NAME}` any parameter's value
    (the row's, else the common or default one), made safe for a file name. Two rows
    writing one file is refused: the second render would silently replace the first.
    """
    common = dict(common or {})
    try:
        templates.validate(template, common, instead=_PATTERN_NAMES_FILES)
    except ParameterError as error:
        raise BatchError(f"common {error}") from None
    defaults = {name: p.default for name, p in templates.parameters(template).items()}
    fields = _pattern_fields(output_pattern, set(defaults) - templates.RESERVED)
    jobs: list[RowJob] = []
    owners: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        try:
            values = templates.validate(template, {**common, **row}, instead=_PATTERN_NAMES_FILES)
        except ParameterError as error:
            raise BatchError(
                f"row {number}, column {error.name!r}: got {error.value!r}, "
                f"expected {error.expected}"
            ) from None
        output = _output_for(output_pattern, fields, number, {**defaults, **values})
        key = os.path.normcase(str(output))
        if key in owners:
            raise BatchError(
                f"rows {owners[key]} and {number} would both write {output}; "
                "put {row} or a column that differs per row in the output pattern"
            )
        owners[key] = number
        jobs.append(RowJob(number, values, output))
    return jobs


def _pattern_fields(pattern: str, parameters: set[str]) -> set[str]:
    try:
        fields = {
            field for _, field, _, _ in string.Formatter().parse(pattern) if field is not None
        }
    except ValueError as error:
        raise BatchError(f"output pattern {pattern!r}: {error}") from None
    for field in fields - {"row"}:
        if field not in parameters:
            raise BatchError(
                f"output pattern {pattern!r}: {{{field}}} is neither {{row}} nor a parameter "
                f"of the template ({', '.join(sorted(parameters))})"
            )
    if not is_video_name(pattern):
        raise BatchError(f"output pattern {pattern!r}: expected a path ending in {VIDEO}")
    return fields


def _output_for(pattern: str, fields: set[str], number: int, values: dict[str, Any]) -> Path:
    names: dict[str, Any] = {"row": number}
    for field in fields - {"row"}:
        safe = _UNSAFE.sub("_", str(values[field])).strip().lstrip(".")
        if not safe:
            raise BatchError(
                f"row {number}, column {field!r}: got {values[field]!r}, "
                "expected a value usable in a file name"
            )
        names[field] = safe
    try:
        return Path(pattern.format(**names)).resolve()
    except (ValueError, TypeError) as error:
        raise BatchError(f"row {number}: output pattern {pattern!r}: {error}") from None


# --- running -------------------------------------------------------------------------


def default_workers() -> int:
    """One render per core: the kernel and ffmpeg of one render keep about one core busy."""
    return cores()


def run_batch(
    template: str | Path,
    rows: list[Mapping[str, Any]],
    output_pattern: str,
    workers: int | None = None,
    *,
    common: Mapping[str, Any] | None = None,
    on_result: Callable[[RowResult], None] | None = None,
    on_progress: Callable[[int, Progress], None] | None = None,
) -> list[RowResult]:
    """Validate every row, then render them `workers` at a time; results in row order.

    Raises BatchError (naming row and column) before rendering anything if any row is
    bad. A row that fails while rendering becomes a failed RowResult and the batch goes
    on. `on_result` is called in this process as each row finishes, and `on_progress`
    with a row's number and its render's progress as it goes (for progress bars).
    """
    path = templates.find(template)
    jobs = plan(path, rows, output_pattern, common)
    workers = max(1, min(workers or default_workers(), len(jobs)))
    log.info("batch of %d rows of %s, %d at a time", len(jobs), path.stem, workers)
    results: dict[int, RowResult] = {}
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    reports = context.Queue() if on_progress else None
    unstarted = context.Value("i", len(jobs))
    with (
        _forwarded_logs() as queue,
        ProcessPoolExecutor(
            workers,
            mp_context=context,
            initializer=_worker_setup,
            initargs=(
                queue,
                logging.getLogger("neuroshorts").getEffectiveLevel(),
                stop,
                reports,
                unstarted,
            ),
        ) as pool,
    ):
        with _workers_ignore_sigint():  # submitting is what starts the worker processes
            pending: dict[Future[RowResult], RowJob] = {
                pool.submit(_render_row, str(path), job): job for job in jobs
            }
        try:
            while pending:
                poll = _PROGRESS_POLL if reports else None
                finished, _ = wait(pending, timeout=poll, return_when=FIRST_COMPLETED)
                _relay(reports, on_progress)
                for future in finished:
                    result = _outcome(future, pending.pop(future))
                    results[result.row] = result
                    if on_result:
                        on_result(result)
        except BaseException:
            # Ctrl-C (or any error here): kill the renders running now, start no more.
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    failed = sum(not r.ok for r in results.values())
    log.info("batch done: %d rendered, %d failed", len(results) - failed, failed)
    return [results[job.row] for job in jobs]


#: How often the parent passes the workers' progress reports on, in seconds.
_PROGRESS_POLL = 0.25


def _relay(reports: Any, on_progress: Callable[[int, Progress], None] | None) -> None:
    """Hand the progress the workers sent since the last look to `on_progress`."""
    while reports is not None and on_progress is not None:
        try:
            row, report = reports.get_nowait()
        except Empty:
            return
        on_progress(row, report)


def _outcome(future: Future[RowResult], job: RowJob) -> RowResult:
    """The worker's result, or a failure if its process died (killed, out of memory)."""
    try:
        result = future.result()
    except Exception as error:  # a dead worker process, not an error in the row
        result = RowResult(job.row, job.output, False, f"worker process failed: {error}")
    if not result.ok:
        log.error("row %d failed: %s", result.row, result.error)
    return result


def _render_row(template: str, job: RowJob) -> RowResult:
    """Runs in a worker process; every error becomes the row's result, never a crash."""
    started = time.perf_counter()
    if _stop.is_set():  # queued before the batch was stopped
        return RowResult(job.row, job.output, False, "not rendered: the batch was stopped")
    with _unstarted.get_lock():
        _unstarted.value -= 1
        more = _unstarted.value > 0

    def report(progress: Progress) -> None:
        _reports.put((job.row, progress))

    try:
        templates.run(
            template,
            job.values,
            job.output,
            cancel=_stop,
            on_progress=report if _reports is not None else None,
            next_kernel=more,
        )
    except Exception as error:
        expected = TemplateRunError | ParameterError | RunCancelled
        if not isinstance(error, expected):
            log.exception("row %d: unexpected error", job.row)
        message = str(error) or type(error).__name__
        return RowResult(job.row, job.output, False, message, time.perf_counter() - started)
    return RowResult(job.row, job.output, True, None, time.perf_counter() - started)


@contextmanager
def _forwarded_logs() -> Iterator[Any]:
    """A queue that carries the workers' log records to this process's handlers.

    Spawned workers start with no logging setup; without this their render logs (and
    the CLI's log file) would lose every line about the rows themselves.
    """
    queue = multiprocessing.get_context("spawn").Queue()
    listener = logging.handlers.QueueListener(queue, _Reemit(), respect_handler_level=False)
    listener.start()
    try:
        yield queue
    finally:
        listener.stop()
        queue.close()


class _Reemit(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        logging.getLogger(record.name).handle(record)


@contextmanager
def _workers_ignore_sigint() -> Iterator[None]:
    """Processes started inside the block are born ignoring Ctrl-C.

    An ignored signal stays ignored across exec, so a spawned worker cannot be killed
    by Ctrl-C while it is still importing, before its initializer runs. Only the main
    thread may change signal handlers; elsewhere there is no terminal to worry about.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


#: Set by the parent to stop the batch; a worker's running render is cancelled with it.
_stop: Any = threading.Event()
#: Where a worker sends `(row, Progress)` reports for the parent's bar, if anywhere.
_reports: Any = None
#: Rows no worker has started yet (shared by the workers): none left, no kernel ahead.
_unstarted: Any = None


def _worker_setup(queue: Any, level: int, stop: Any, reports: Any, unstarted: Any) -> None:
    """Log through the parent, leave Ctrl-C to it, and get the first row ready: its
    kernel started (this process's kernels are forked, `prestart.fork_kernels`),
    papermill imported.

    A worker that took SIGINT itself would die between rows and break the pool; the
    parent instead sets `stop`, which cancels running renders (their kernels and ffmpeg
    are killed) and turns queued rows away.
    """
    global _stop, _reports, _unstarted
    _stop, _reports, _unstarted = stop, reports, unstarted
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logger = logging.getLogger("neuroshorts")
    logger.handlers[:] = [logging.handlers.QueueHandler(queue)]
    logger.setLevel(level)
    logger.propagate = False
    prestart.fork_kernels()
    prestart.prepare()
    templates.load_runner()
