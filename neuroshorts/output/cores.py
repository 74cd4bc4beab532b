"""How renders side by side share the machine's cores: x264's threads for each.

x264's own threading (about 1.5 threads a core, frame-parallel) is the fastest for one
render at a time, but renders so threaded side by side waste CPU on each other: on 2
cores, two renders on one x264 thread each rendered more shorts a minute than two on
x264's own threads in every pairing measured (bench/README.md, throughput.py). A runner
that starts N renders at once (batch, a worker's --concurrency) gives their kernels
`shared_cores(N)`; `encode` reads the setting.
"""

from __future__ import annotations

import os

from neuroshorts.settings import PREFIX, settings

#: The variable of `Settings.encoder_threads`, which a runner sets for its renders' kernels.
ENCODER_THREADS = f"{PREFIX}ENCODER_THREADS"


def shared_cores(renders: int) -> dict[str, str]:
    """The environment for `renders` renders side by side on this machine: x264 on an
    equal share of its cores, unless `encoder_threads` is set already."""
    if renders <= 1 or settings().encoder_threads:
        return {}
    return {ENCODER_THREADS: str(max(1, cores() // renders))}


def cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
