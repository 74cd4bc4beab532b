"""Run a command with its stderr on a real pseudo-terminal, as a user's shell would.

Progress bars draw only on a terminal, so the tests that read one give the command a
pty (with a size: tqdm draws nothing on a 0-column terminal) and collect what it drew.
stdout stays a pipe, as when a user pipes the printed video path onward.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import termios
import threading
from dataclasses import dataclass

#: A tqdm bar's frame counter, as RenderBar draws it.
FRAMES = re.compile(r"(\d+)%\|[^|]*\| frame (\d+)/(\d+)")


@dataclass
class Run:
    returncode: int
    stdout: str
    #: Everything drawn on the terminal, as segments between carriage returns/newlines.
    screen: list[str]


def run_in_terminal(args: list[str], *, columns: int = 140, timeout: float = 600, **kw) -> Run:
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    drawn = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the command closed its end
                return
            if not chunk:
                return
            drawn.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        process = subprocess.run(
            args, stderr=follower, stdout=subprocess.PIPE, text=True, timeout=timeout, **kw
        )
    finally:
        os.close(follower)
        reader.join(timeout=10)
        os.close(leader)
    text = drawn.decode(errors="replace")
    screen = [segment.strip() for segment in re.split(r"[\r\n]+", text) if segment.strip()]
    return Run(process.returncode, process.stdout, screen)
