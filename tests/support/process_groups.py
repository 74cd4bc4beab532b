"""Process groups as `ps -o pid,pgid,args` shows them: a render's kernel and its ffmpeg."""

from __future__ import annotations

from pathlib import Path


def group_members(pgid: int) -> list[tuple[int, str]]:
    """Processes whose process group is `pgid` (what `ps -o pid,pgid,args` shows)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append((int(entry.name), command))
    return members


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])
