"""Logging setup for the `neuroshorts` processes: console plus a rotating file.

Library modules only call `logging.getLogger(__name__)`; configuring handlers is the
shell's job (the CLI, the API, the worker), so a notebook that imports the engines keeps
its own logging. The file exists for autopsies of failed renders, which is why it rotates
instead of growing without bound. In a container the console is what gets collected, so
`NEUROSHORTS_LOG_FORMAT=json` turns every line into one JSON object a log shipper can
parse without regular expressions.
"""

from __future__ import annotations

import contextvars
import json
import logging
import logging.handlers
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from neuroshorts.settings import settings

FORMAT = "%(asctime)s %(levelname)-7s %(name)s%(job)s: %(message)s"
FORMATS = ("text", "json")
DEFAULT_MAX_BYTES = 5_000_000
DEFAULT_BACKUPS = 5

#: The render job the current thread or task works for; every record carries it.
current_job: contextvars.ContextVar[str | None] = contextvars.ContextVar("job", default=None)

#: Loggers that `configure` routed to the shared handlers; `job_scope` tees the same ones.
_routed: tuple[str, ...] = ("neuroshorts",)


class JobFilter(logging.Filter):
    """Stamp each record with the current job id (`record.job_id`, `record.job`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        job_id = current_job.get()
        record.job_id = job_id
        record.job = f" [job {job_id}]" if job_id else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, job_id (+ exception)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "job_id": getattr(record, "job_id", None),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


@contextmanager
def job_scope(job_id: str, log_file: Path | None = None) -> Iterator[None]:
    """Tag every routed log line inside the block with `job_id`.

    With `log_file`, the job's own lines are also written there (beside its output) as
    plain text, so a failed job can be read on its own without grepping the shared log.
    """
    token = current_job.set(job_id)
    loggers = [logging.getLogger(name) for name in _routed]
    handler = None
    if log_file is not None:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(JobFilter())
        handler.addFilter(lambda record: current_job.get() == job_id)
        for logger in loggers:
            logger.addHandler(handler)
    try:
        yield
    finally:
        if handler is not None:
            for logger in loggers:
                logger.removeHandler(handler)
            handler.close()
        current_job.reset(token)


def default_log_file() -> Path:
    """`NEUROSHORTS_LOG_FILE`, else `logs/neuroshorts.log` under the data directory."""
    config = settings()
    return config.log_file or config.data_dir / "logs" / "neuroshorts.log"


def _count(name: str, text: str | None, default: int) -> int:
    """A non-negative integer setting, or a clear error naming the variable."""
    raw = (text or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(f"{name}={raw!r}: expected a whole number of 0 or more")
    return value


def _format(text: str | None) -> str:
    raw = (text or "").strip().lower() or "text"
    if raw not in FORMATS:
        raise ValueError(f"NEUROSHORTS_LOG_FORMAT={raw!r}: expected one of {', '.join(FORMATS)}")
    return raw


def configure(
    level: int | str = logging.INFO,
    log_file: Path | None = None,
    *,
    max_bytes: int | None = None,
    backups: int | None = None,
    log_format: str | None = None,
    loggers: Iterable[str] = ("neuroshorts",),
) -> Path:
    """Send logs to stderr and to a rotating file; returns the file's path.

    Unset arguments come from the environment, so a container is configured without
    flags: `NEUROSHORTS_LOG_MAX_BYTES` (default 5 MB), `NEUROSHORTS_LOG_BACKUPS`
    (default 5) and `NEUROSHORTS_LOG_FORMAT` (`text` or `json`). `loggers` names every
    logger to route (say "celery" or "papermill" beside "neuroshorts"), so a process
    writes one stream and a job's lines from those libraries carry its id as well.
    Calling it again replaces the handlers it installed, so tests and long-lived
    processes can reconfigure without duplicating every line.
    """
    global _routed
    config = settings()
    if max_bytes is None:
        max_bytes = _count("NEUROSHORTS_LOG_MAX_BYTES", config.log_max_bytes, DEFAULT_MAX_BYTES)
    if backups is None:
        backups = _count("NEUROSHORTS_LOG_BACKUPS", config.log_backups, DEFAULT_BACKUPS)
    log_format = log_format or _format(config.log_format)
    if log_format not in FORMATS:
        raise ValueError(f"log_format={log_format!r}: expected one of {', '.join(FORMATS)}")

    path = Path(log_file) if log_file else default_log_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(FORMAT)
    file_handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
    )
    console = logging.StreamHandler()
    for handler in (file_handler, console):
        handler.setFormatter(formatter)
        handler.addFilter(JobFilter())

    names = tuple(dict.fromkeys(("neuroshorts", *loggers)))
    for name in dict.fromkeys((*_routed, *names)):
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
            old.close()
        logger.propagate = True
    for name in names:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.addHandler(file_handler)
        logger.addHandler(console)
        logger.propagate = False
    _routed = names
    return path
