"""Supervising the Jupyter kernel of one template run: follow it, and stop it for good.

jupyter_client starts every kernel in a session of its own, so the kernel and the ffmpeg
it spawns form one process group that nobody else will clean up: if the run is
abandoned half-way (cancelled, timed out, its caller interrupted), that group goes on
encoding. `Supervision` waits for the run's kernel (started ahead by `prestart`, which
told it where to write encode progress) and hands it to papermill through the `ENGINE`
registered here; it records the kernel's pid (its process group), turns cell starts and
frame counts into `Progress` reports, kills the group when the caller sets its cancel
event, and kills it whenever the run ends in any way but success.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import nbformat
from jupyter_core.utils import ensure_async, run_sync
from nbclient.util import run_hook
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.log import logger as papermill_logger

from neuroshorts.errors import KernelError, RunCancelled
from neuroshorts.kernels import prestart, processes
from neuroshorts.output import progress
from neuroshorts.output.files import partials

log = logging.getLogger(__name__)

#: How a run's fraction is shared out: kernel start, then the cells, then the frames.
_KERNEL, _CELLS, _FRAMES = 0.05, 0.35, 0.55
_POLL = 0.2


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
    """Context manager around one papermill run.

    Inside it, `adopt` the run's kernel right before papermill and pass papermill
    `engine_kwargs`. `stages` times the kernel: how long it took to start
    (`kernel.start`, whenever that was), how long the run waited for it (`kernel.wait`)
    and when the first cell ran (`first_cell`, counted from `since`, a
    `time.perf_counter()` reading: the job's start).

    `on_progress` may be called from papermill's thread and from the watcher thread,
    never concurrently and never with a smaller fraction than before.
    """

    def __init__(
        self,
        notebook: Path,
        on_progress: Callable[[progress.Progress], None] | None = None,
        cancel: threading.Event | None = None,
        *,
        output_dir: Path | None = None,
        since: float | None = None,
    ) -> None:
        self.on_progress = on_progress
        self.output_dir = output_dir
        self.cancel = cancel or threading.Event()
        self.kernel: prestart.Kernel | None = None
        self.kernel_pid: int | None = None
        self.stages: dict[str, float] = {}
        self._pending: prestart.Pending | None = None
        self._since = time.perf_counter() if since is None else since
        self._stages, self._cells = sections(notebook)
        self._started_cells = 0
        self._stage, self._fraction = "kernel", 0.0
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="kernel-watch", daemon=True)

    def adopt(self, pending: prestart.Pending) -> prestart.Kernel:
        """Wait for the run's kernel (a new one if it died while idle) and make it this run's."""
        self._pending, waiting = pending, time.perf_counter()
        self.kernel = pending.ready()
        self.stages["kernel.start"] = self.kernel.seconds
        self.stages["kernel.wait"] = round(time.perf_counter() - waiting, 3)
        self._kernel_started(self.kernel.pid)
        if self.cancel.is_set():
            raise RunCancelled("the run was cancelled before its first cell")
        return self.kernel

    @property
    def engine_kwargs(self) -> dict[str, Any]:
        """papermill's engine for the adopted kernel, and what it passes on to nbclient."""
        assert self.kernel is not None, "adopt() the kernel first"
        return {"engine_name": ENGINE, "km": self.kernel.manager, "on_cell_start": self._cell_start}

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
        if self.kernel is None and self._pending is not None:
            self._pending.discard()
        if kind is None:
            self._read_frames()  # the last frame may land after the watcher's last look
        else:
            self.kill()
        self._wait_for_group()
        if kind is not None:
            self._remove_partials()
        if self.kernel is not None:
            self.kernel.progress_file.unlink(missing_ok=True)
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
        for partial in partials(self.output_dir, pid=self.kernel_pid):
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
                self.on_progress(
                    progress.Progress(stage, round(fraction, 4), self.kernel_pid, frames)
                )

    def _kernel_started(self, pid: int) -> None:
        self.kernel_pid = pid
        log.debug("running on kernel %d", pid)
        if self.cancel.is_set():
            self.kill()
        self._report("kernel", _KERNEL)

    def _cell_start(self, cell: Any, cell_index: int) -> None:
        if not self._started_cells:
            self.stages["first_cell"] = round(time.perf_counter() - self._since, 3)
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
        if self.kernel is None:
            return
        frames = progress.read(self.kernel.progress_file)
        if frames and frames[1]:
            done, total = frames
            self._report("encode", _KERNEL + _CELLS + _FRAMES * done / total, frames)


#: papermill's engine for a run on a kernel started ahead (`prestart`).
ENGINE = "neuroshorts"


class _OwningClient(PapermillNotebookClient):
    """papermill's notebook client, owning the kernel it is handed: it stops it when the
    notebook ends, as it does one it started itself. (nbclient leaves a handed kernel
    running for a caller that reuses it; a template run's kernel serves that run only.)

    It stops it at once, not gracefully: the last cell's outputs are in, its files
    written, and a graceful shutdown only runs the kernel's exit hooks, 0.3-0.4 s of
    every run spent after its video is done (bench/README.md).
    """

    def __init__(self, nb_man: Any, km: Any, **kwargs: Any) -> None:
        super().__init__(nb_man, km=km, **kwargs)
        self.owns_km = True
        self.shutdown_kernel = "immediate"

    async def async_start_new_kernel_client(self) -> Any:
        """nbclient's, with one handshake in place of jupyter_client's `wait_for_ready`.

        The kernel is known to be ready: it has imported the engine. A new client must
        still know that its IOPub subscription is live, or the first cell's output is
        lost. `wait_for_ready` proves it by waiting for 0.2 s of silence on IOPub, two
        thirds of a job's budget from claim to first cell; here the IOPub `idle` status
        of a kernel_info request of its own proves it, one round trip later.
        """
        assert self.km is not None
        self.kc = self.km.client()
        await ensure_async(self.kc.start_channels())
        await _subscribed(self.kc, self.startup_timeout)
        self.kc.allow_stdin = False
        await run_hook(self.on_notebook_start, notebook=self.nb)
        return self.kc

    start_new_kernel_client = run_sync(async_start_new_kernel_client)


async def _subscribed(client: Any, timeout: float) -> None:
    """Return once `client` receives the kernel's IOPub messages (see above)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        request = client.kernel_info()
        try:
            while True:  # messages of an earlier, unanswered attempt may come first
                message = await client.get_iopub_msg(timeout=0.5)
                if (
                    message["parent_header"].get("msg_id") == request
                    and message["msg_type"] == "status"
                    and message["content"]["execution_state"] == "idle"
                ):
                    await client.get_shell_msg(timeout=timeout)  # its reply, answered by now
                    return
        except queue.Empty:
            continue  # published before the subscription took: ask again
    raise KernelError(f"the kernel's output did not reach papermill in {timeout:.0f} s")


class StartedKernelEngine(NBClientEngine):
    """papermill's nbclient engine on a kernel started before the run (`km`).

    The same client, hooks and arguments as `NBClientEngine.execute_managed_notebook`;
    only where the kernel comes from differs.
    """

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: Any,
        kernel_name: str,
        *,
        km: Any,
        log_output: bool = False,
        start_timeout: int = 60,
        execution_timeout: int | None = None,
        **kwargs: Any,
    ) -> Any:
        for unused in ("input_path", "timeout", "startup_timeout"):
            kwargs.pop(unused, None)
        client = _OwningClient(
            nb_man,
            km,
            kernel_name=kernel_name,
            log=papermill_logger,
            log_output=log_output,
            startup_timeout=start_timeout,
            timeout=execution_timeout,
            **kwargs,
        )
        return client.execute()


papermill_engines.register(ENGINE, StartedKernelEngine)
