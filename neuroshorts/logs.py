"""Logging setup for the `neuroshorts` command: console plus a rotating file.

Library modules only call `logging.getLogger(__name__)`; configuring handlers is the
shell's job, so a notebook or a worker that imports the engines keeps its own logging.
The file exists for autopsies of failed renders, which is why it rotates instead of
growing without bound.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

from neuroshorts.paths import data_dir

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


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

    logger = logging.getLogger("neuroshorts")
    for old in list(logger.handlers):
        logger.removeHandler(old)
        old.close()
    logger.setLevel(level)
    logger.addHandler(file_handler)
    logger.addHandler(console)
    logger.propagate = False
    return path
