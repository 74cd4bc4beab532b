"""Atomic output files: a reader sees the old file or the complete new one, never half."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from glob import escape
from pathlib import Path

#: The temporary name of a file being written: hidden, and naming its writer process.
_PARTIAL = ".{stem}.{pid}.partial{suffix}"


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling of `path` to write; move it into place on success.

    The temporary name keeps the suffix (ffmpeg picks the container from it) and lives
    in the same directory, so the final `os.replace` is atomic. On any error the
    partial file is removed and the exception propagates.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(_PARTIAL.format(stem=path.stem, pid=os.getpid(), suffix=path.suffix))
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def write_text_atomic(path: str | Path, text: str) -> Path:
    with atomic_path(path) as partial:
        partial.write_text(text, encoding="utf-8")
    return Path(path)


def partials(folder: Path, *, stem: str | None = None, pid: int | None = None) -> list[Path]:
    """The temporary files `atomic_path` left in `folder`: of the files named `stem`, of
    the writer process `pid`, or all of them. A process killed mid-write (a cancelled
    render's kernel) leaves them behind for whoever stopped it to remove."""
    pattern = _PARTIAL.format(
        stem="*" if stem is None else escape(stem), pid="*" if pid is None else pid, suffix="*"
    )
    return sorted(folder.glob(pattern))
