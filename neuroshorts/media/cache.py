"""The on-disk cache every process on a machine shares: assets, narration, music beds.

One policy for all three kinds (fsspec's `simplecache::`/`filecache::` keep no budget
and let two processes download one file twice; diskcache names its files at random,
and ffmpeg and Pillow choose readers by suffix):

- `<kind>/<key>/`: one entry, a folder of files: `assets/<hash>/<remote name>` (the
  suffix is kept), `narration/<hash>/narration.wav` + `words.json`, `music/<bed>/bed.wav`.
  An entry is built in `.partial/<random>/` and appears only by renaming the complete
  folder into place, so a reader never sees half of one.
- `.locks/<kind>-<xx>.lock`: `flock` stripes by the key's first two characters. A
  download holds its stripe, so two processes asking for the same missing asset make one
  download. Lock files are never deleted (deleting one someone waits on would let a
  third process lock a new file of the same name).
- Budget: `NEUROSHORTS_CACHE_MAX_BYTES` (default 5GB) for the whole cache, measured as
  `du` does (allocated blocks of every file and folder, so `cache info` and `du -sB1`
  agree). After each new entry the least recently used entries go until it fits; a hit
  refreshes the folder's mtime, the LRU clock (atime is unreliable under noatime).
- In use: a process reading an entry holds a shared `flock` on its folder, for the
  length of a copy (narration, music) or, for an asset whose path goes to ffmpeg and
  Pillow later, until the process exits (a render's kernel lives for one render).
  Eviction takes the exclusive lock without waiting and skips what it cannot lock, then
  renames the folder into `.trash/` before deleting it; a reader re-checks that the
  folder it locked is still the one in place. So nothing in use is ever deleted, and
  only entries in use can keep the cache over its budget.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from neuroshorts.media.policy import parse_size
from neuroshorts.settings import settings

log = logging.getLogger(__name__)

MAX_BYTES_ENV = "NEUROSHORTS_CACHE_MAX_BYTES"
DEFAULT_MAX_BYTES = 5_000_000_000
KINDS = ("assets", "narration", "music")
#: A partial entry older than this belongs to a process that died.
_STALE_PARTIAL_SECONDS = 86_400.0

#: Entries this process holds until it exits (assets), by folder: their locked fds.
_held: dict[Path, int] = {}


@dataclass(frozen=True)
class Entry:
    kind: str
    key: str
    path: Path
    size: int
    used: float


class Cache:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        for folder in (".locks", ".partial", ".trash", *KINDS):
            (root / folder).mkdir(parents=True, exist_ok=True)

    @classmethod
    def default(cls) -> Cache:
        config = settings()
        limit = parse_size(MAX_BYTES_ENV, config.cache_max_bytes, DEFAULT_MAX_BYTES)
        return cls(config.data_dir / "cache", limit)

    # --- reading ------------------------------------------------------------------------

    @contextmanager
    def reading(self, kind: str, key: str) -> Iterator[Path | None]:
        """The entry's folder, held (not evictable) inside the block; None on a miss."""
        handle = self._open(self.root / kind / key)
        try:
            yield None if handle is None else self.root / kind / key
        finally:
            if handle is not None:
                os.close(handle)

    def hold(self, kind: str, key: str) -> Path | None:
        """The entry's folder, held until this process exits; None on a miss."""
        folder = self.root / kind / key
        if folder in _held:
            with suppress(FileNotFoundError):
                os.utime(folder)
            return folder
        handle = self._open(folder)
        if handle is None:
            return None
        _held[folder] = handle
        return folder

    def _open(self, folder: Path) -> int | None:
        """A shared lock on `folder` if it is an entry in place, marked as just used."""
        try:
            handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except (FileNotFoundError, NotADirectoryError):
            return None
        fcntl.flock(handle, fcntl.LOCK_SH)
        try:
            if not _same(folder, handle):  # evicted while we waited for the lock
                os.close(handle)
                return None
            os.utime(folder)
        except BaseException:
            os.close(handle)
            raise
        return handle

    # --- writing ------------------------------------------------------------------------

    @contextmanager
    def locked(self, kind: str, key: str) -> Iterator[None]:
        """Hold the lock of `key`'s stripe: one process at a time makes this entry."""
        with _flock(self.root / ".locks" / f"{kind}-{key[:2]}.lock", wait=True):
            yield

    @contextmanager
    def building(self) -> Iterator[Path]:
        """An empty folder to build an entry in; removed afterwards unless committed."""
        folder = self.root / ".partial" / uuid.uuid4().hex
        folder.mkdir()
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def commit(self, kind: str, key: str, folder: Path) -> Path:
        """Move a complete entry folder into place (if another process's copy got there
        first, that one stays) and return its place. Call `evict` after: an asset is held
        first, so that its own entry is not what makes room."""
        place = self.root / kind / key
        try:
            os.rename(folder, place)
        except OSError:
            if not place.is_dir():
                raise
        return place

    # --- measuring and evicting ---------------------------------------------------------

    def entries(self) -> list[Entry]:
        found = []
        for kind in KINDS:
            for path in (self.root / kind).iterdir():
                try:
                    found.append(Entry(kind, path.name, path, _du(path), path.stat().st_mtime))
                except FileNotFoundError:
                    continue
        return found

    def usage(self, kind: str | None = None) -> int:
        """Bytes on disk of the cache (or of one kind's folder), as `du -sB1` counts them."""
        return _du(self.root / kind if kind else self.root)

    def evict(self, max_bytes: int | None = None, *, wait: bool = False) -> list[Entry]:
        """Remove least recently used entries not in use until the cache fits.

        One process evicts at a time: without `wait`, one that finds eviction running
        leaves it to the other. Returns the entries removed.
        """
        limit = self.max_bytes if max_bytes is None else max_bytes
        with _flock(self.root / ".locks" / "evict.lock", wait=wait) as evicting:
            if not evicting:
                return []
            self._sweep()
            total = self.usage()
            removed = []
            for entry in sorted(self.entries(), key=lambda entry: entry.used):
                if total <= limit:
                    break
                if self._remove(entry):
                    total -= entry.size
                    removed.append(entry)
        if removed:
            log.info(
                "cache evicted %d entries; %.1f MB of %.1f MB in use",
                len(removed),
                total / 1e6,
                limit / 1e6,
            )
        return removed

    def clear(self) -> tuple[list[Entry], list[Entry]]:
        """Remove every entry not in use; returns (removed, kept because in use)."""
        with _flock(self.root / ".locks" / "evict.lock", wait=True):
            self._sweep()
            removed, kept = [], []
            for entry in self.entries():
                (removed if self._remove(entry) else kept).append(entry)
        return removed, kept

    def _remove(self, entry: Entry) -> bool:
        """Delete `entry` unless a process holds it; False if it is in use."""
        if not entry.path.is_dir():  # a file left by an older layout: nobody locks those
            entry.path.unlink(missing_ok=True)
            return True
        try:
            handle = os.open(entry.path, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            return True
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            if not _same(entry.path, handle):
                return True
            trash = self.root / ".trash" / uuid.uuid4().hex
            os.rename(entry.path, trash)
        finally:
            os.close(handle)
        shutil.rmtree(trash, ignore_errors=True)
        return True

    def _sweep(self) -> None:
        """Delete what dead processes left: stale partial entries, unfinished deletions."""
        cutoff = time.time() - _STALE_PARTIAL_SECONDS
        for path in (self.root / ".partial").iterdir():
            with suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    shutil.rmtree(path, ignore_errors=True)
        for path in (self.root / ".trash").iterdir():
            shutil.rmtree(path, ignore_errors=True)


def _same(folder: Path, handle: int) -> bool:
    """Whether the folder now at `folder` is the one open as `handle`."""
    try:
        here, opened = folder.stat(), os.fstat(handle)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (opened.st_dev, opened.st_ino)


def _du(path: Path) -> int:
    """Allocated bytes of `path` and everything under it, each inode once (as `du`)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for folder, _, files in os.walk(path):
        for name in (".", *files):  # each folder counts itself as "." when walked
            try:
                stat = os.lstat(os.path.join(folder, name))
            except FileNotFoundError:
                continue
            if (stat.st_dev, stat.st_ino) not in seen:
                seen.add((stat.st_dev, stat.st_ino))
                total += stat.st_blocks * 512
    if not seen and path.exists():  # a plain file
        total = path.lstat().st_blocks * 512
    return total


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
