"""Whether a process, or any process of a group, still runs.

`kill(pid, 0)` says a pid exists, and a zombie exists: a process that died but whose
parent has not collected it yet. A render's killed kernel is such a zombie until the
dead event loop that started it is gone, so asking only `kill` made every stopped
render wait out a 10 s timeout for a process that was already dead. On Linux the state
in /proc tells them apart; elsewhere `kill` is all there is.
"""

from __future__ import annotations

import os
from pathlib import Path

_PROC = Path("/proc")
_DEAD = ("Z", "X")


def pid_alive(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie, killed but not yet reaped, is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = _stat(_PROC / str(pid))
    return fields is None or fields[0] not in _DEAD


def group_alive(pgid: int) -> bool:
    """Whether a live process (not a zombie) is left in the process group `pgid`."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    if not _PROC.is_dir():
        return True
    for entry in _PROC.iterdir():
        fields = _stat(entry) if entry.name.isdigit() else None
        if fields is not None and int(fields[2]) == pgid and fields[0] not in _DEAD:
            return True
    return False


def _stat(entry: Path) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first), if readable."""
    try:
        return entry.joinpath("stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
