"""Kernels for template runs, started before the run needs them.

Starting a kernel is a process start, ipykernel's imports and then the engine's (numpy,
OpenCV, Pillow, PyAV, onnxruntime...): several seconds on a 2-core machine, the same
for a 6 s draft as for a 60 s short. So a kernel is started ahead, with the engine
imported: a worker (the service's, a batch's) prepares the next job's kernel while the
current job renders, and a single `neuroshorts render` starts its kernel beside its own
imports. A worker's kernels are forks of a server that has imported all of that once
(`forkserver.py`, `fork_kernels`). Each kernel serves one run and is shut down with it:
no variable, module state or cache passes from one job to the next.

A run adopts its kernel through papermill's engine registry (`kernel.ENGINE`): papermill's
own nbclient engine, handed the started kernel instead of starting one. Only the
kernel's launch moved; the notebook is executed exactly as papermill executes it.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import queue
import signal
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neuroshorts.errors import KernelError
from neuroshorts.kernels import priority, processes
from neuroshorts.output import progress
from neuroshorts.output.memory import KEEP_FREED

if TYPE_CHECKING:
    from neuroshorts.kernels.forkserver import ForkServer

log = logging.getLogger(__name__)

KERNEL_NAME = "python3"
#: The kernel talks to us over loopback only: its warning that TCP is unencrypted would
#: otherwise greet every render on the terminal, and so would "KeyboardInterrupt caught
#: in kernel" when jupyter_client interrupts it on shutdown; errors in cells reach us
#: through papermill. History stays in memory, as nbclient's own default. The kernel
#: class is ipykernel's without its debugger (headless.py).
ARGUMENTS = (
    "--IPKernelApp.log_level=CRITICAL",
    "--HistoryManager.hist_file=:memory:",
    "--IPKernelApp.kernel_class=neuroshorts.kernels.headless.HeadlessKernel",
)
#: What the templates import first, imported before the run; run silently, so the
#: executed notebook's execution counts still start at 1.
PRELOAD = (
    "import neuroshorts.audio, neuroshorts.captions, neuroshorts.media.assets, "
    "neuroshorts.output.encode, neuroshorts.output.timing, neuroshorts.scene, "
    "neuroshorts.studio, neuroshorts.visuals"
)
#: What a worker's fork server imports besides: modules only some runs use (number words,
#: media behind a URL), then in every fork for free. A single run's kernel skips them.
SERVER_PRELOAD = PRELOAD + ", num2words, neuroshorts.media.fetch"
STARTUP_TIMEOUT = 120.0
#: OpenBLAS on one thread unless the environment says otherwise. The loudness filter
#: measuring each stem and the master is many modest matrix products that OpenBLAS
#: splits over every core, its threads spinning between them and while the engine
#: imports: ~0.5 core-seconds of a 25 s short's kernel, in no less time, taken from x264
#: (docs/decisions/compositor.md), as OpenCV composing on several threads would be.
#: And glibc's malloc keeping what it frees, in the kernel and its ffmpeg (output/memory.py).
KERNEL_ENV = {"OPENBLAS_NUM_THREADS": "1", **KEEP_FREED}


@dataclass
class Kernel:
    """A started kernel with the engine imported, for one run.

    `progress_file` is where its compositor writes encode progress (its environment
    names it); `seconds` is how long the start and the imports took.
    """

    manager: Any  # jupyter_client's AsyncKernelManager, imported only when one starts
    progress_file: Path
    background: bool
    seconds: float = 0.0

    @property
    def pid(self) -> int:
        """The kernel's pid, which is also its process group (its ffmpeg is in it)."""
        return self.manager.provisioner.pid

    def alive(self) -> bool:
        return processes.pid_alive(self.pid)

    def kill_group(self) -> None:
        """SIGKILL the kernel's process group (its ffmpeg too)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL the kernel's process group and release its ports and files."""
        from jupyter_core.utils import run_sync

        self.kill_group()
        with contextlib.suppress(Exception):  # reaps the process, frees its ports and files
            run_sync(self.manager.shutdown_kernel)(now=True)
        self.progress_file.unlink(missing_ok=True)


def channels() -> dict[str, str]:
    """How a kernel's manager should reach it: over unix sockets where there are any.

    Over TCP, jupyter_client picks each port by binding port 0 and letting it go, and the
    kernel binds it a second later; any connection the host opens in between may take it
    as its own port, and the kernel dies before replying (seen in CI). Sockets have no
    such race. They are named in the temp dir: given no name, they land in the cwd.
    """
    if sys.platform == "win32":
        return {}
    name = f"neuroshorts-kernel-{uuid.uuid4().hex[:12]}"
    return {"transport": "ipc", "ip": os.path.join(tempfile.gettempdir(), name)}


def start(background: bool = False, launched: Future[Kernel] | None = None) -> Kernel:
    """Start a kernel and import the engine in it (blocking; seconds, not milliseconds).

    With `background`, the kernel (and the ffmpeg it will start) runs as background CPU
    work from its first instruction (see priority.py). `launched` is given the kernel as
    soon as its process exists, before the imports: whoever must stop it need not wait.
    """
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync

    from neuroshorts.kernels.provisioning import Provisioner

    started = time.perf_counter()
    handle, name = tempfile.mkstemp(prefix="neuroshorts-progress-", suffix=".txt")
    os.close(handle)
    manager = AsyncKernelManager(kernel_name=KERNEL_NAME, **channels())
    manager.kernel_id = str(uuid.uuid4())
    spec = {"kernel_id": manager.kernel_id, "kernel_spec": manager.kernel_spec, "parent": manager}
    if _server is None:
        manager.provisioner = Provisioner(**spec)
    else:
        from neuroshorts.kernels.forkserver import ForkedProvisioner

        manager.provisioner = ForkedProvisioner(**spec)
        manager.provisioner.server, manager.provisioner.background = _server, background
    kernel = Kernel(manager, Path(name), background)
    try:
        run_sync(manager.start_kernel)(
            # Not a settings read: the kernel's environment, this one's plus its progress file.
            env=KERNEL_ENV | os.environ | {progress.ENV: name},
            extra_arguments=list(ARGUMENTS),
        )
        if background and _server is None:  # else the provisioner did, before any thread
            priority.make_background(kernel.pid)
        if launched is not None:
            launched.set_result(kernel)
        run_sync(_preload)(manager)
    except BaseException:
        if manager.has_kernel:
            kernel.kill()
        else:
            kernel.progress_file.unlink(missing_ok=True)
        raise
    kernel.seconds = round(time.perf_counter() - started, 3)
    log.debug("kernel %d started with the engine in %.2f s", kernel.pid, kernel.seconds)
    return kernel


async def _preload(manager: Any) -> None:
    """Import the engine in the kernel, silently; fail at once if the kernel dies.

    The import is asked for as soon as the client's channels exist: ZMQ holds the request
    until the kernel binds its shell socket, and the reply is all this needs. jupyter_client's
    `wait_for_ready` would first wait for a kernel_info reply and then for 0.2 s of
    silence on IOPub, a quarter of a `neuroshorts render`'s kernel start, idle.
    """
    client = manager.client()
    client.start_channels()
    try:
        request = client.execute(PRELOAD, silent=True, store_history=False)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            try:
                reply = await client.get_shell_msg(timeout=1.0)
            except queue.Empty:
                if not await manager.is_alive():
                    raise KernelError("the kernel died before it had imported the engine") from None
                continue
            if reply["parent_header"].get("msg_id") != request:
                continue
            content = reply["content"]
            if content["status"] != "ok":
                raise KernelError(
                    f"the kernel could not import the engine: {content.get('ename')}: "
                    f"{content.get('evalue')}"
                )
            return
        raise KernelError(f"the kernel did not import the engine in {STARTUP_TIMEOUT:.0f} s")
    finally:
        client.stop_channels()


@dataclass(frozen=True)
class Pending:
    """A kernel on its way: being started in a thread, or started and waiting."""

    future: Future[Kernel]
    background: bool
    #: The kernel once its process exists, before it has imported the engine.
    launched: Future[Kernel] = field(default_factory=Future)

    @classmethod
    def start(cls, background: bool) -> Pending:
        """`start(background)` in a thread of its own."""
        pending = cls(Future(), background)

        def run() -> None:
            try:
                pending.future.set_result(start(background, pending.launched))
            except BaseException as error:  # handed to whoever waits for the kernel
                pending.future.set_exception(error)
                if not pending.launched.done():
                    pending.launched.set_exception(error)

        threading.Thread(target=run, name="kernel-start", daemon=True).start()
        return pending

    def ready(self) -> Kernel:
        """The kernel once started, alive: a kernel that died while it waited (killed,
        out of memory) or failed to start is replaced by one started now (whose own
        failure is raised)."""
        # Waiting may be interrupted (Ctrl+C): that raises here, and is not the start's failure.
        error = self.future.exception()
        if error is not None:
            log.warning("the kernel started ahead failed (%s); starting another", error)
            return start(self.background)
        kernel = self.future.result()
        if kernel.alive():
            return kernel
        log.warning(
            "the kernel started ahead (pid %d) died while idle; starting another", kernel.pid
        )
        kernel.kill()
        return start(self.background)

    def discard(self) -> None:
        """Kill the kernel, now or as soon as it has started: it will not be used."""

        def kill(done: Future[Kernel]) -> None:
            if done.exception() is None:
                done.result().kill()

        self.future.add_done_callback(kill)


# --- the kernel kept ready for this process's next run --------------------------------

_lock = threading.Lock()
_spare: Pending | None = None
_server: ForkServer | None = None


def fork_kernels() -> None:
    """Start this process's kernels from now on as forks of a server that has the engine
    imported (`forkserver.py`): for a process that runs many templates, a worker or a
    batch. A single run gains nothing, the server's own start costs what it saves. On
    Linux only: elsewhere forking a process with these libraries loaded is not known safe
    (macOS's system frameworks), and kernels start from their command."""
    global _server
    if sys.platform != "linux":
        return
    from neuroshorts.kernels.forkserver import ForkServer

    with _lock:
        if _server is None:
            _server = ForkServer()


def prepare(background: bool = False, *, until_launched: bool = False) -> Future[Kernel]:
    """Start the kernel for this process's next run, in a thread, unless one is on its
    way; returns it on its way. With `until_launched`, return once its process exists
    (or its start failed, which the run will report): a command that goes on importing
    would hold the interpreter's lock while the thread imports jupyter_client, and
    launch its kernel ~0.2 s later."""
    global _spare
    with _lock:
        if _spare is None:
            _spare = Pending.start(background)
        spare = _spare
    if until_launched:
        wait([spare.launched])
    return spare.future


def take(background: bool = False, *, prepare_next: bool = False) -> Pending:
    """The kernel for a run starting now: the prepared one if there is one, else one
    started now. With `prepare_next`, the next run's kernel starts behind it, while
    this run renders.
    """
    global _spare
    with _lock:
        spare, _spare = _spare, None
    if spare is None or spare.background != background:
        if spare is not None:
            spare.discard()
        spare = Pending.start(background)
    if prepare_next:
        prepare(background)
    return spare


def discard_spare() -> None:
    """Kill the kernel kept for a next run: the process is stopping. One still importing
    the engine is killed at once, not waited for (an idle-priority kernel on a busy
    machine can take minutes, and a worker's stop would wait as long); its start then
    fails and cleans up after itself, which is waited for."""
    global _spare
    with _lock:
        spare, _spare = _spare, None
    if spare is None:
        return
    try:
        launched = spare.launched.result(timeout=STARTUP_TIMEOUT)
    except Exception:  # it failed to start, and cleaned up after itself
        return
    launched.kill_group()
    try:
        kernel = spare.future.result(timeout=STARTUP_TIMEOUT)
    except Exception:  # killed mid-start: the start cleaned up after itself
        return
    kernel.kill()


atexit.register(discard_spare)
