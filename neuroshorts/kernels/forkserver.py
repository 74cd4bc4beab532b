"""Kernels forked from a process that has the engine imported, for a process that runs many.

A kernel started as a command pays the interpreter's start, ipykernel's imports and the
engine's, 0.8-0.9 core-seconds each time on a 2-core machine, in a worker taken from the
render encoding beside it. A worker (or a batch) starts one fork server instead, which
imports all of that once; each kernel is then a fork of it that only sets up ipykernel
(0.11-0.19 core-seconds). Each still serves one run: it starts from the server's state,
which holds only imports, never a run's.

multiprocessing's own forkserver does not fit: every child it forks imports the main
module of the process that asked for it, and a worker's is the `neuroshorts` command,
whose CLI costs 1.35 core-seconds to import, more than the start saved. And jupyter_client
wants a kernel it can poll and signal, which `ForkedProvisioner` gives it.

The server must hold no thread when it forks (a child keeps only the forking one):
nothing it imports starts one, OpenBLAS on one thread included (`prestart.KERNEL_ENV`;
OpenBLAS stops its own threads across a fork otherwise). Piper, whose onnxruntime starts
a thread, is imported by the voice that needs it, in the kernel. Nor does it hold random
state a fork would copy: Python reseeds `random` in a forked child, and numpy imports
`numpy.random` only when a kernel first uses it.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any

from jupyter_client.provisioning.provisioner_base import KernelConnectionInfo

from neuroshorts.errors import KernelError
from neuroshorts.kernels import prestart, priority, processes
from neuroshorts.kernels.provisioning import Provisioner


class ForkServer:
    """A process that imports the engine once and forks a kernel on each request.

    It is this process's child and reads requests from a socket only this process holds:
    when this process exits, however it dies, the server sees the socket close and exits.
    Its kernels notice their parent is gone and exit too (ipykernel's parent poller). A
    server that died (killed, out of memory) is started again by the next request.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._start()

    def _start(self) -> None:
        from jupyter_client.kernelspec import KernelSpecManager

        spec = KernelSpecManager().get_kernel_spec(prestart.KERNEL_NAME)
        ours, theirs = socket.socketpair()
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                # Not a settings read: the environment a started kernel gets (its spec's
                # too), which is the one the server imports in.
                env=prestart.KERNEL_ENV | os.environ | spec.env,
            )
        self._socket = ours
        self._replies = ours.makefile("rb")

    def fork(self, argv: list[str], env: dict[str, str], cwd: str | None, background: bool) -> int:
        """Fork a kernel running ipykernel with `argv` in `env` and `cwd`; its pid.

        With `background`, the kernel lowers itself to background CPU (priority.py) before
        it starts a thread. Waits for the server's imports if it is still starting.
        """
        request = {"argv": argv, "env": env, "cwd": cwd, "background": background}
        message = json.dumps(request).encode() + b"\n"
        with self._lock:
            if self.process.poll() is not None:
                self.close()
                self._start()
            try:
                self._socket.sendall(message)
                reply = self._replies.readline()
            except OSError:
                reply = b""
        if not reply:
            raise KernelError(f"the kernel fork server exited ({self.process.poll()})")
        return int(reply)

    def close(self) -> None:
        """Stop the server (kernels it forked are not stopped here)."""
        self._replies.close()
        self._socket.close()
        self.process.wait()


class ForkedProvisioner(Provisioner):
    """Our local provisioner, with the kernel forked by a `ForkServer`
    instead of started from its command (`server`, set before the launch; `background`
    as for `ForkServer.fork`). A kernel spec that names another interpreter or another
    kernel than ipykernel is started from its command as usual."""

    server: ForkServer
    background = False

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        if cmd[:3] != [sys.executable, "-m", "ipykernel_launcher"]:
            started = await super().launch_kernel(cmd, **kwargs)
            if self.background:
                priority.make_background(self.pid)
            return started
        cwd, env = kwargs.get("cwd"), kwargs.get("env") or dict(os.environ)
        pid = self.server.fork(cmd[3:], env, str(cwd) if cwd else None, self.background)
        self.process = _Forked(pid)
        self.pid = self.pgid = pid  # each kernel leads a session of its own, as a started one
        self.cwd = cwd or os.getcwd()
        return self.connection_info


class _Forked:
    """What LocalProvisioner asks of its Popen, for a kernel that is not this process's
    child: the server reaps it, so its exit status is unknown (reported as 0)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def poll(self) -> int | None:
        return None if processes.pid_alive(self.pid) else 0

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
            time.sleep(0.01)
        return 0

    def send_signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def serve(channel: socket.socket) -> None:
    """The server: import what kernels need, then fork one per request until the
    channel closes."""
    import ipykernel.kernelapp  # noqa: F401

    exec(prestart.SERVER_PRELOAD, {})
    gc.freeze()  # kept out of collections, so a kernel's first one does not copy them all
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the system reaps the kernels
    with channel, channel.makefile("rwb") as stream:
        for line in stream:
            pid = os.fork()
            if pid == 0:
                os.close(channel.detach())
                _kernel(json.loads(line))
            stream.write(b"%d\n" % pid)
            stream.flush()


def _kernel(request: dict[str, Any]) -> None:
    """Become the requested kernel, and exit when it stops (never returns)."""
    code = 1
    try:
        os.setsid()
        if request["background"]:
            priority.make_background(os.getpid())
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the kernel waits for its own ffmpeg
        os.environ.clear()
        os.environ.update(request["env"])
        if request["cwd"]:
            os.chdir(request["cwd"])
        # Exit with the server. ipykernel read JPY_PARENT_PID at import, in the server,
        # where it was unset: told here, as an argument.
        parent = os.environ["JPY_PARENT_PID"] = str(os.getppid())
        sys.argv = ["ipykernel_launcher", *request["argv"], f"--IPKernelApp.parent_handle={parent}"]
        from ipykernel.kernelapp import IPKernelApp

        IPKernelApp.launch_instance(argv=sys.argv[1:])
        code = 0
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])))
