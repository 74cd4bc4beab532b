"""A run's progress: where it is (`Progress`), and the encode's frames across the kernel
boundary, through a tiny file the compositor keeps current.

A template renders inside a Jupyter kernel, a separate process, so whoever runs the
template (a queue worker reporting a job's progress) cannot see the frame counter. When
`NEUROSHORTS_PROGRESS_FILE` names a file, the compositor writes `done total` frames to
it a few times a second; the runner reads it. Without the variable nothing is written.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from neuroshorts.output.files import write_text_atomic

#: The environment variable naming the file; the runner sets it for the kernel.
ENV = "NEUROSHORTS_PROGRESS_FILE"


@dataclass(frozen=True)
class Progress:
    """Where a run is: the notebook section running (or `encode`, then `publish`), how far,
    which kernel, and during the encode the frames done out of the total."""

    stage: str
    fraction: float
    kernel_pid: int | None = None
    frames: tuple[int, int] | None = None


class FrameCounter:
    """Writes the encoded frame count to the progress file, at most every `interval` s."""

    def __init__(self, total: int, *, interval: float = 0.25) -> None:
        # Imported here, not with the module: `neuroshorts render` imports this module
        # (for ENV) before it launches its kernel, and pydantic would delay that by 0.1 s.
        from neuroshorts.settings import settings

        self.path = settings().progress_file
        self.total, self.interval = total, interval
        self._last = 0.0

    def update(self, done: int) -> None:
        if self.path is None:
            return
        now = time.monotonic()
        if done == self.total or now - self._last >= self.interval:
            self._last = now
            write_text_atomic(self.path, f"{done} {self.total}")


def read(path: Path) -> tuple[int, int] | None:
    """`(done, total)` frames from the progress file, or None before the encode starts."""
    try:
        done, total = (int(n) for n in path.read_text(encoding="utf-8").split())
    except (OSError, ValueError):
        return None
    return done, total
