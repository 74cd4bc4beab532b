"""Work that takes only the CPU the encoder leaves: the compositor's thread.

At the encoder's own priority the compositor preempts x264's threads; behind them it
composes in the gaps x264 leaves, and the bench's short rendered ~3% sooner with the same
CPU (docs/decisions/compositor.md). Linux's SCHED_IDLE does that for one thread; no
library offers it, and it has to be a thread of its own: an unprivileged thread cannot
take its priority back, and the caller may be a studio kernel's main thread.
"""

from __future__ import annotations

import ctypes
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress

#: glibc's mallopt parameter for the most malloc arenas a process makes.
M_ARENA_MAX = -8


def run_when_idle(work: Callable[[threading.Event], None]) -> None:
    """Run `work` on a thread at idle CPU priority and wait for it. `work` is handed an
    event that is set if the wait is interrupted (Ctrl+C, a kernel interrupt): it is
    waited for, so it should stop at its next frame."""
    stop = threading.Event()
    _one_malloc_arena()
    with ThreadPoolExecutor(1, thread_name_prefix="compose", initializer=_lowest) as pool:
        future = pool.submit(work, stop)
        try:
            future.result()
        except BaseException:
            stop.set()
            raise


@functools.cache
def _one_malloc_arena() -> None:
    """Threads made after this share the main malloc arena (glibc; elsewhere a no-op).

    glibc gives a new thread an arena of its own, and there a frame's buffers of several
    sizes, made and freed every frame, kept the process growing with the short's length
    (a 240 s final: 649 MB, against 223 MB composed on the main thread or with one arena).
    """
    with suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(M_ARENA_MAX, 1)


def _lowest() -> None:
    if hasattr(os, "SCHED_IDLE"):
        with suppress(OSError):
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
