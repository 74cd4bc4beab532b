"""Supervising the Jupyter kernel of one template run: follow it, and stop it for good.

jupyter_client starts every kernel in a session of its own, so the kernel and the ffmpeg
it spawns form one process group that nobody else will clean up: if the run is
abandoned half-way (cancelled, timed out, its caller interrupted), that group goes on
encoding. `Supervision` hands papermill a kernel manager that records the kernel's pid
(which is its process group) and tells the kernel where to write encode progress; it
turns cell starts and frame counts into `Progress` reports, kills the group when the
caller sets its cancel event, and kills it whenever the run ends in any way but success.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import nbformat

from neuroshorts import priority, processes, progress

log = logging.getLogger(__name__)

#: How a run's fraction is shared out: kernel start, then the cells, then the frames.
_KERNEL, _CELLS, _FRAMES = 0.05, 0.35, 0.55
_POLL = 0.2


@dataclass(frozen=True)
class Progress:
    """Where a run is: the notebook section running (or `encode`, then `publish`), how far,
    which kernel, and during the encode the frames done out of the total."""

    stage: str
    fraction: float
    kernel_pid: int | None = None
    frames: tuple[int, int] | None = None


class RunCancelled(RuntimeError):
    """The run was cancelled: its kernel and ffmpeg were killed before it finished."""


def sections(notebook: Path) -> tuple[dict[str, str], int]:
    """Each code cell's source mapped to its section heading, and the number of code cells.

    A section is what a `##` (or deeper) markdown heading opens; cells before the first
    one are `setup`. Cells are matched by source because papermill adds a cell of its own.
    """
    stage, stages, count = "setup", {}, 0
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("##"):
                    stage = line.lstrip("#").strip()
                    break
        elif cell.cell_type == "code" and cell.source.strip():
            stages[cell.source] = stage
            count += 1
    return stages, count


class Supervision:
    """Context manager around one papermill run; pass `engine_kwargs` to papermill.

    With `background`, the kernel (and the ffmpeg it starts) runs as background CPU work
    (see priority.py).

    `on_progress` may be called from papermill's thread and from the watcher thread,
    never concurrently and never with a smaller fraction than before.
    """

    def __init__(
        self,
        notebook: Path,
        on_progress: Callable[[Progress], None] | None = None,
        cancel: threading.Event | None = None,
        *,
        output_dir: Path | None = None,
        background: bool = False,
    ) -> None:
        self.on_progress = on_progress
        self.background = background
        self.output_dir = output_dir
        self.cancel = cancel or threading.Event()
        self.kernel_pid: int | None = None
        self._stages, self._cells = sections(notebook)
        self._started_cells = 0
        self._stage, self._fraction = "kernel", 0.0
        self._lock = threading.Lock()
        self._done = threading.Event()
        handle, name = tempfile.mkstemp(prefix="neuroshorts-progress-", suffix=".txt")
        os.close(handle)
        self.progress_file = Path(name)
        self._watcher = threading.Thread(target=self._watch, name="kernel-watch", daemon=True)

    @property
    def engine_kwargs(self) -> dict[str, Any]:
        """papermill passes these through to nbclient's NotebookClient."""
        return {"kernel_manager_class": self._manager_class(), "on_cell_start": self._cell_start}

    def __enter__(self) -> Supervision:
        self._watcher.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._done.set()
        self._watcher.join()
        if kind is None:
            self._read_frames()  # the last frame may land after the watcher's last look
        else:
            self.kill()
        self._wait_for_group()
        if kind is not None:
            self._remove_partials()
        self.progress_file.unlink(missing_ok=True)
        if kind is not None and self.cancel.is_set():
            raise RunCancelled("the run was cancelled; its kernel and ffmpeg were stopped") from (
                error
            )

    def kill(self) -> None:
        """SIGKILL the kernel's process group: the kernel and every ffmpeg it started."""
        if self.kernel_pid is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.kernel_pid, signal.SIGKILL)
            log.info("killed kernel process group %d", self.kernel_pid)

    def _remove_partials(self) -> None:
        """Delete the half-written files the killed kernel left (`files.atomic_path` names)."""
        if self.kernel_pid is None or self.output_dir is None:
            return
        for partial in self.output_dir.glob(f".*.{self.kernel_pid}.partial*"):
            partial.unlink(missing_ok=True)
            log.info("removed %s, left by the stopped kernel", partial.name)

    def _wait_for_group(self, timeout: float = 10.0) -> None:
        """Return once no live process of the kernel's group is left (ffmpeg drains in a
        blink; the killed kernel may stay a zombie, which is not waited for)."""
        if self.kernel_pid is None:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not processes.group_alive(self.kernel_pid):
                return
            time.sleep(0.05)
        log.warning("processes of kernel group %d outlived the run", self.kernel_pid)

    def publishing(self) -> None:
        """Report the `publish` stage: the kernel is done, the files are being published."""
        self._report("publish", _KERNEL + _CELLS + _FRAMES)

    def _report(self, stage: str, fraction: float, frames: tuple[int, int] | None = None) -> None:
        with self._lock:
            if fraction < self._fraction or (stage, fraction) == (self._stage, self._fraction):
                return
            self._stage, self._fraction = stage, fraction
            if self.on_progress is not None:
                self.on_progress(Progress(stage, round(fraction, 4), self.kernel_pid, frames))

    def _kernel_started(self, pid: int) -> None:
        self.kernel_pid = pid
        log.debug("kernel started, pid %d", pid)
        if self.background:
            priority.make_background(pid)
        if self.cancel.is_set():
            self.kill()
        self._report("kernel", _KERNEL)

    def _cell_start(self, cell: Any, cell_index: int) -> None:
        self._started_cells += 1
        stage = self._stages.get(cell.source, self._stage)
        share = min(1.0, (self._started_cells - 1) / max(1, self._cells + 1))
        self._report(stage, _KERNEL + _CELLS * share)

    def _watch(self) -> None:
        """Poll the cancel event and the frame counter until the run ends."""
        while not self._done.wait(_POLL):
            if self.cancel.is_set():
                self.kill()
                continue
            self._read_frames()

    def _read_frames(self) -> None:
        frames = progress.read(self.progress_file)
        if frames and frames[1]:
            done, total = frames
            self._report("encode", _KERNEL + _CELLS + _FRAMES * done / total, frames)

    def _manager_class(self) -> type:
        from jupyter_client.manager import AsyncKernelManager

        supervision = self

        class SupervisedKernelManager(AsyncKernelManager):
            """Starts the kernel with the progress file in its environment, reports its pid."""

            async def start_kernel(self, **kw: Any) -> None:
                env = dict(kw.pop("env", None) or os.environ)
                env[progress.ENV] = str(supervision.progress_file)
                await super().start_kernel(env=env, **kw)
                supervision._kernel_started(self.provisioner.pid)

        return SupervisedKernelManager
