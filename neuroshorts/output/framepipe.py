"""Raw frames into ffmpeg's stdin, lent to the pipe rather than copied into it (Linux).

A pipe write copies a 3 MB frame into pages the kernel allocates for it, and ffmpeg's
read copies it out again: 1.5 core-seconds between the two processes for the template's
25 s short at 1080x1920, almost the compositor's own 1.7. `vmsplice` puts the frame's own
pages in the pipe instead, and the pair costs 0.5 (bench/README.md). Python's `os` has
`splice` but not `vmsplice`, hence ctypes; where there is none, frames are written.

A lent frame must not change until ffmpeg has read it. Frames are composed into fresh
buffers nobody writes after (`scene.Patch`), so the pipe need only keep them from being
freed and reused: it holds each one until a pipe's capacity of later bytes has been lent
after it (those bytes cannot all be in the pipe with any of it), and the last ones until
`release`, which comes after ffmpeg has exited.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import sys
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from typing import IO

import numpy as np

#: How much the pipe holds: 1 MB, the most Linux grants any process by default.
PIPE_BYTES = 1 << 20


class _IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("length", ctypes.c_size_t)]


def _libc_vmsplice() -> Callable[..., int] | None:
    if sys.platform != "linux":
        return None
    try:
        vmsplice = ctypes.CDLL(None, use_errno=True).vmsplice
    except (OSError, AttributeError):
        return None
    vmsplice.argtypes = [ctypes.c_int, ctypes.POINTER(_IoVec), ctypes.c_ulong, ctypes.c_uint]
    vmsplice.restype = ctypes.c_ssize_t
    return vmsplice


_VMSPLICE = _libc_vmsplice()


class FramePipe:
    """The writing end of a pipe to a reader of raw frames (ffmpeg's stdin)."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self._pipe = pipe
        self._capacity = self._widen()
        self._lent: deque[np.ndarray] = deque()
        self._held = 0

    def _widen(self) -> int:
        """Let the pipe hold PIPE_BYTES where the OS allows it; return what it holds."""
        if not hasattr(fcntl, "F_SETPIPE_SZ"):
            return 0
        with suppress(OSError):
            fcntl.fcntl(self._pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        return fcntl.fcntl(self._pipe.fileno(), fcntl.F_GETPIPE_SZ)

    def send(self, frame: np.ndarray) -> None:
        """Hand the reader `frame`, a C-contiguous buffer that nobody changes afterwards.
        Raises BrokenPipeError once the reader has gone."""
        if not frame.flags.c_contiguous:
            raise ValueError(f"frame: a {frame.shape} array in pieces; expected one buffer")
        if _VMSPLICE is None:
            self._pipe.write(frame.data)
            return
        descriptor, address, size, sent = self._pipe.fileno(), frame.ctypes.data, frame.nbytes, 0
        while sent < size:
            done = _VMSPLICE(descriptor, ctypes.byref(_IoVec(address + sent, size - sent)), 1, 0)
            if done < 0:
                code = ctypes.get_errno()
                if code != errno.EINTR:
                    raise OSError(code, os.strerror(code))
                continue
            sent += done
        self._lent.append(frame)
        self._held += size
        while self._held - self._lent[0].nbytes >= self._capacity:
            self._held -= self._lent.popleft().nbytes

    def close(self) -> None:
        """Close the writing end: the reader sees the end. The last frames stay lent."""
        self._pipe.close()

    def release(self) -> None:
        """Let the last lent frames go: call once the reader has exited."""
        self._lent.clear()
        self._held = 0
