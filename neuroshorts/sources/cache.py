"""The on-disk asset cache shared by every worker process on a machine.

Layout under `data_dir()/cache/assets`:

- `<key>/<name>`: one entry, `key` a hash of the reference, `name` the remote file's
  own name, so the suffix ffmpeg and Pillow choose readers by is kept.
- `.locks/<xx>.lock`: 256 lock files, striped by the key's first two hex digits. A
  download holds its stripe's `flock`, so two processes asking for the same uncached
  URL at once make one download: the second waits and then finds the entry. Lock files
  are never deleted (deleting a lock file someone waits on lets a third process lock a
  new file of the same name).
- `.partial/`: downloads in progress. An entry appears only by `os.replace` of a
  complete, checked file into place, so a reader never sees half a file.

Least recently used entries are evicted once the total passes the size budget
(`NEUROSHORTS_CACHE_MAX_BYTES`, default 5 GB). A hit refreshes the entry's mtime, which
is the LRU clock (atime is unreliable under `noatime`/`relatime`). Entries used in the
last `IN_USE_SECONDS` are never evicted, since a worker may still be about to open the
path it was given: the budget is a soft limit.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from neuroshorts.paths import data_dir
from neuroshorts.sources.policy import parse_size

log = logging.getLogger(__name__)

MAX_BYTES_ENV = "NEUROSHORTS_CACHE_MAX_BYTES"
DEFAULT_MAX_BYTES = 5_000_000_000
#: An entry used this recently may be open in a render; eviction leaves it.
IN_USE_SECONDS = 600.0
#: A partial download older than this belongs to a process that died.
_STALE_PARTIAL_SECONDS = 86_400.0


@dataclass(frozen=True)
class Entry:
    key: str
    path: Path
    size: int
    used: float


class AssetCache:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        for folder in (root / ".locks", root / ".partial"):
            folder.mkdir(parents=True, exist_ok=True)

    @classmethod
    def default(cls) -> AssetCache:
        limit = parse_size(MAX_BYTES_ENV, os.environ.get(MAX_BYTES_ENV), DEFAULT_MAX_BYTES)
        return cls(data_dir() / "cache" / "assets", limit)

    def lookup(self, key: str) -> Path | None:
        """The cached file for `key`, marked as just used; None on a miss."""
        try:
            path = next(p for p in (self.root / key).iterdir() if p.is_file())
            os.utime(path)
        except (FileNotFoundError, StopIteration):
            return None
        return path

    @contextmanager
    def locked(self, key: str, *, wait: bool = True) -> Iterator[bool]:
        """Hold the lock of `key`'s stripe; yields False if `wait` is off and it is taken."""
        with _flock(self.root / ".locks" / f"{key[:2]}.lock", wait=wait) as held:
            yield held

    @contextmanager
    def partial(self, suffix: str) -> Iterator[Path]:
        """A temporary file name for a download, removed afterwards unless committed."""
        path = self.root / ".partial" / f"{uuid.uuid4().hex}{suffix}"
        try:
            yield path
        finally:
            path.unlink(missing_ok=True)

    def commit(self, key: str, partial: Path, name: str) -> Path:
        """Move a complete, checked download into place as the entry for `key`."""
        folder = self.root / key
        folder.mkdir(exist_ok=True)
        path = folder / name
        os.replace(partial, path)
        return path

    def entries(self) -> list[Entry]:
        found = []
        for folder in self.root.iterdir():
            if folder.name.startswith(".") or not folder.is_dir():
                continue
            for path in folder.iterdir():
                try:
                    stat = path.stat()
                except FileNotFoundError:
                    continue
                found.append(Entry(folder.name, path, stat.st_size, stat.st_mtime))
        return found

    def evict(self) -> list[Path]:
        """Remove least recently used entries until the cache fits its budget.

        One process evicts at a time; another that finds eviction running skips it.
        An entry whose stripe is locked (being downloaded) is skipped too.
        """
        with _flock(self.root / ".locks" / "evict.lock", wait=False) as evicting:
            if not evicting:
                return []
            self._drop_stale_partials()
            entries = sorted(self.entries(), key=lambda entry: entry.used)
            total = sum(entry.size for entry in entries)
            removed: list[Path] = []
            now = time.time()
            for entry in entries:
                if total <= self.max_bytes or now - entry.used < IN_USE_SECONDS:
                    break
                with self.locked(entry.key, wait=False) as free:
                    if not free:
                        continue
                    entry.path.unlink(missing_ok=True)
                    shutil.rmtree(entry.path.parent, ignore_errors=True)
                total -= entry.size
                removed.append(entry.path)
            if removed:
                log.info(
                    "asset cache evicted %d files; %.1f MB of %.1f MB budget in use",
                    len(removed),
                    total / 1e6,
                    self.max_bytes / 1e6,
                )
            return removed

    def _drop_stale_partials(self) -> None:
        cutoff = time.time() - _STALE_PARTIAL_SECONDS
        for path in (self.root / ".partial").iterdir():
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except FileNotFoundError:
                continue


@contextmanager
def _flock(path: Path, *, wait: bool) -> Iterator[bool]:
    """An exclusive `flock` on `path` (per open file, so threads exclude each other too)."""
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
