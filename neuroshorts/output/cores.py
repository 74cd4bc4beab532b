"""How renders side by side share the machine's cores: x264's threads for each.

x264's own threading (about 1.5 threads a core, frame-parallel) is the fastest for one
render at a time, but renders so threaded side by side waste CPU on each other: on 2
cores, two renders on one x264 thread each rendered more shorts a minute than two on
x264's own threads in every pairing measured (bench/README.md, throughput.py). So an
encode that starts while other renders on this machine are encoding takes an equal share
of the cores, and one that starts alone keeps x264's own threads. A template run counts
from its start (`running`), not from its encode's. Two jobs claimed together reach their
encodes a few tenths of a second apart: counted from there, the first, alone so far, took
x264's own threads, the pair finished seconds apart, and so did every pair after it,
which left the last job of a burst encoding on one thread with the other core idle
(bench/README.md, throughput.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from neuroshorts.settings import PREFIX, settings

#: The variable of `Settings.encoder_threads`: x264's threads set by hand.
ENCODER_THREADS = f"{PREFIX}ENCODER_THREADS"
#: The kinds of slot: an encode, and a template run (which encodes on its own slot too).
ENCODE, RUN = ".lock", ".run"


@contextlib.contextmanager
def encoder_threads() -> Iterator[int | None]:
    """x264's threads for an encode that runs inside the block: `encoder_threads` if
    set, else None (x264's own) when no other render on this machine is encoding or
    running, else cores ÷ the renders, this one included. A run's encode is one of the
    encodes and one of the runs, and the two cannot be told apart here, so the renders
    are the larger of the two counts: exact for runs beside runs and for encodes beside
    encodes, one short for an encode outside a run beside a run yet to encode.

    Every encode (and every template run, `running`) holds a lock on a file of its own in
    a folder that each process of this user on the machine sees (in the temp dir), so
    the others count it. Celery's concurrency cannot: it knows its own pool, not a second
    worker, a batch or a CLI render beside it. The OS releases a dead render's lock, and
    whoever counts next removes its file.
    """
    with _slot(ENCODE) as (folder, mine):
        renders = max(1 + _others(folder, mine, ENCODE), _others(folder, None, RUN))
        yield settings().encoder_threads or _share(renders)


@contextlib.contextmanager
def running() -> Iterator[None]:
    """Count a template run as a render on this machine while the block runs."""
    with _slot(RUN):
        yield


@contextlib.contextmanager
def _slot(kind: str) -> Iterator[tuple[Path, Path]]:
    """A locked file of `kind` in the machine's folder of slots, held for the block."""
    folder = Path(tempfile.gettempdir()) / f"neuroshorts-encoders-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    name = f"{os.getpid()}-{uuid.uuid4().hex}"
    # Locked before it gets the name the others count, so none takes it for a dead one's.
    with open(folder / f"{name}.tmp", "w") as mine:
        fcntl.flock(mine, fcntl.LOCK_EX)
        slot = folder / f"{name}{kind}"
        os.replace(mine.name, slot)
        try:
            yield folder, slot
        finally:
            slot.unlink(missing_ok=True)


def _others(folder: Path, mine: Path | None, kind: str) -> int:
    """Slots of `kind` whose lock is held, other than `mine`; dead ones' files are removed."""
    held = 0
    for slot in folder.glob(f"*{kind}"):
        if slot == mine:
            continue
        try:
            with open(slot) as other:
                try:
                    fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    held += 1
                else:
                    slot.unlink(missing_ok=True)
        except FileNotFoundError:
            continue  # it ended while we looked
    return held


def _share(renders: int) -> int | None:
    """x264's threads for one of `renders` encodes at once: None (its own) for one alone."""
    return None if renders <= 1 else max(1, cores() // renders)


def cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
