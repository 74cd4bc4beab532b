"""Logging setup for the `neuroshorts` command: console plus a rotating file.

Library modules only call `logging.getLogger(__name__)`; configuring handlers is the
shell's job, so a notebook or a worker that imports the engines keeps its own logging.
The file exists for autopsies of failed renders, which is why it rotates instead of
growing without bound.
"""

from __future__ import annotations

import contextvars
import logging
import logging.handlers
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from neuroshorts.paths import data_dir

FORMAT = "%(asctime)s %(levelname)-7s %(name)s%(job)s: %(message)s"

#: The render job the current thread or task works for; every record carries it.
current_job: contextvars.ContextVar[str | None] = contextvars.ContextVar("job", default=None)


class JobFilter(logging.Filter):
    """Stamp each record with the current job id (`record.job_id`, `record.job`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        job_id = current_job.get()
        record.job_id = job_id
        record.job = f" [job {job_id}]" if job_id else ""
        return True


@contextmanager
def job_scope(job_id: str, log_file: Path | None = None) -> Iterator[None]:
    """Tag every `neuroshorts` log line inside the block with `job_id`.

    With `log_file`, the job's own lines are also written there (beside its output),
    so a failed job can be read on its own without grepping the shared log.
    """
    token = current_job.set(job_id)
    logger = logging.getLogger("neuroshorts")
    handler = None
    if log_file is not None:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(JobFilter())
        handler.addFilter(lambda record: current_job.get() == job_id)
        logger.addHandler(handler)
    try:
        yield
    finally:
        if handler is not None:
            logger.removeHandler(handler)
            handler.close()
        current_job.reset(token)


def default_log_file() -> Path:
    """`NEUROSHORTS_LOG_FILE`, else `logs/neuroshorts.log` under the data directory."""
    configured = os.environ.get("NEUROSHORTS_LOG_FILE")
    return Path(configured) if configured else data_dir() / "logs" / "neuroshorts.log"


def configure(
    level: int | str = logging.INFO,
    log_file: Path | None = None,
    *,
    max_bytes: int = 5_000_000,
    backups: int = 5,
) -> Path:
    """Send `neuroshorts` logs to stderr and to a rotating file; returns the file's path.

    Calling it again replaces the handlers it installed, so tests and long-lived
    processes can reconfigure without duplicating every line.
    """
    path = Path(log_file) if log_file else default_log_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    formatter = logging.Formatter(FORMAT)

    file_handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
    )
    console = logging.StreamHandler()
    for handler in (file_handler, console):
        handler.setFormatter(formatter)
        handler.addFilter(JobFilter())

    logger = logging.getLogger("neuroshorts")
    for old in list(logger.handlers):
        logger.removeHandler(old)
        old.close()
    logger.setLevel(level)
    logger.addHandler(file_handler)
    logger.addHandler(console)
    logger.propagate = False
    return path
