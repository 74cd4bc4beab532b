"""Process groups as `ps -o pid,pgid,args` shows them: a render's kernel and its ffmpeg."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path


def processes() -> Iterator[tuple[int, list[str], str]]:
    """Every live process: pid, the /proc stat fields after its name (state, ppid, pgid,
    ...), and its command line."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            yield int(entry.name), fields, command


def group_members(pgid: int) -> list[tuple[int, str]]:
    """Processes whose process group is `pgid` (what `ps -o pid,pgid,args` shows)."""
    return [(pid, command) for pid, fields, command in processes() if int(fields[2]) == pgid]


def children(parent: int, running: str) -> list[int]:
    """Children of `parent` whose command line contains `running`."""
    return [
        pid
        for pid, fields, command in processes()
        if int(fields[1]) == parent and running in command
    ]


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def dead(pid: int, within: float = 30.0) -> bool:
    """Whether `pid` is dead, or dies within `within` seconds (a zombie counts as dead)."""
    from neuroshorts.kernels.processes import pid_alive

    deadline = time.monotonic() + within
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    return not pid_alive(pid)
