"""Rendering as background work: a render takes only the CPU nothing else wants.

A worker beside the API (`neuroshorts serve`, a laptop) must not make the API slow, and
nice alone cannot do it: with autogroup scheduling each kernel's session is a CPU group
weighted like any other. So a render's kernel gets, where the system allows, a cgroup
with `cpu.idle`, the SCHED_IDLE policy, its autogroup niced to 19, else nice 19. The
measurements and the cgroup v2 alternative: docs/decisions/background-priority.md.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

LOWEST_NICE = 19
#: The cgroup made beside the worker's own, shared by every render on the host.
CGROUP_NAME = "neuroshorts-renders"


def make_background(pid: int) -> None:
    """Lower the process `pid` (a kernel that has not started work) to background CPU."""
    group = idle_cgroup()
    if group is not None:
        _write(group / "cgroup.procs", str(pid), "join the idle cgroup")
    try:
        if hasattr(os, "SCHED_IDLE"):
            os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))
        else:
            os.setpriority(os.PRIO_PROCESS, pid, LOWEST_NICE)
    except OSError as error:
        log.warning("could not lower the CPU priority of pid %d: %s", pid, error)
    _write(Path(f"/proc/{pid}/autogroup"), str(LOWEST_NICE), "nice its autogroup")


@functools.lru_cache(maxsize=1)
def idle_cgroup() -> Path | None:
    """The idle cgroup beside this process's own (cgroup v1 cpu controller), made once;
    None where there is none to be had (no v1 cpu controller, not permitted)."""
    try:
        mount, root = _cpu_mount()
        own = _own_cpu_cgroup()
    except (OSError, LookupError):
        return None
    group = mount / os.path.relpath(own, root) / CGROUP_NAME
    try:
        group.mkdir(exist_ok=True)
        (group / "cpu.idle").write_text("1")
    except OSError as error:
        log.debug("no idle cgroup for renders (%s): lowering their priority only", error)
        return None
    return group


def _cpu_mount() -> tuple[Path, str]:
    """Where the cgroup v1 hierarchy with the cpu controller is mounted, and its root."""
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields, _, tail = line.partition(" - ")
        kind, _, options = tail.split(" ")[:3]
        if kind == "cgroup" and "cpu" in options.split(","):
            parts = fields.split(" ")
            return Path(parts[4]), parts[3]
    raise LookupError("no cgroup v1 cpu controller")


def _own_cpu_cgroup() -> str:
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "cpu" in controllers.split(","):
            return path
    raise LookupError("this process is in no cpu cgroup")


def _write(path: Path, value: str, what: str) -> None:
    try:
        path.write_text(value)
    except OSError as error:
        log.debug("could not %s (%s): %s", what, path, error)
