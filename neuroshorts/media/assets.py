"""Turn an asset reference from a template parameter into a local file path.

Every engine that reads media goes through `resolve`, so where media may come from is
decided in one place: local paths, `file://`, `builtin:NAME` (bundled with the package),
`http(s)://`, `s3://`, `gs://` and `stock:PROVIDER/KEYWORDS`. Remote files are fetched
once per machine into a cache that keeps their names (ffmpeg and Pillow choose readers by
suffix), checked (allow-list, size, content) before anything is written where a render
could read it, and shared by every worker process. Local files are used as they are;
the engines that read them report unreadable ones.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from importlib.resources import files
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from neuroshorts.errors import (
    AssetError,
    AssetNotFoundError,
    CheckError,
    ContentError,
    MissingExtraError,
    Refused,
)

# `fetch` (fsspec, 30 ms at import) is imported where a URL is resolved: a kernel rendering
# local and bundled files never loads it.
from neuroshorts.media import content, stock
from neuroshorts.media.cache import Cache
from neuroshorts.media.policy import BUILTIN, BUILTIN_NAME, LOCAL, Policy, scheme_of
from neuroshorts.output.timing import substage

log = logging.getLogger(__name__)

REMOTE_SCHEMES = ("http", "https", "s3", "gs")
_SUPPORTED = "a file path, file://, builtin:NAME, http(s)://, s3://, gs:// or stock: reference"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_REACHABLE = "a reachable file (for s3:// and gs://: credentials in the standard environment)"


def builtin_dir() -> Path:
    """The media bundled with the package (backgrounds, fonts)."""
    return Path(str(files("neuroshorts").joinpath("data")))


def resolve(reference: str, *, field: str = "asset") -> Path:
    """A local path for `reference`, fetched into the asset cache if it is remote.

    `field` names the parameter the reference came from, so the error a user sees says
    which of their inputs is wrong. Raises AssetError (AssetNotFoundError when nothing
    is at the reference).
    """
    scheme = scheme_of(reference)
    policy = Policy.from_env()
    try:
        policy.check_scheme(scheme)
    except Refused as refused:
        raise AssetError(field, reference, refused.problem, refused.expected) from None
    if scheme == "builtin":
        return _builtin(reference, field)
    if scheme == LOCAL:
        return _local(reference, field)
    if scheme not in (*REMOTE_SCHEMES, "stock"):
        raise AssetError(field, reference, "uses a scheme that is not supported", _SUPPORTED)
    return _cached(reference, field, policy)


def resolve_current(reference: str, *, field: str) -> Path:
    """The current version of a remote file that may change under its name (a template in a
    bucket), through the asset cache.

    The cache entry is keyed by the object's version (its ETag or generation), so one
    metadata request per call finds out whether it changed: a changed file is fetched and
    checked anew, an unchanged one is not downloaded again.
    """
    policy = Policy.from_env()
    try:
        policy.check_url(reference)
    except Refused as refused:
        raise AssetError(field, reference, refused.problem, refused.expected) from None
    from neuroshorts.media import fetch

    try:
        version = fetch.version(reference)
    except FileNotFoundError:
        raise AssetNotFoundError(field, reference, "was not found", "an existing file") from None
    except Exception as error:
        raise AssetError(field, reference, f"could not be read ({error})", _REACHABLE) from error
    return _cached(reference, field, policy, version)


def listing(prefix: str, pattern: str, *, field: str) -> list[str]:
    """The URLs of the files under the bucket `prefix` whose names match `pattern`."""
    from neuroshorts.media import fetch

    try:
        return fetch.listing(prefix, pattern)
    except Exception as error:
        raise AssetError(field, prefix, f"could not be listed ({error})", _REACHABLE) from error


def _builtin(reference: str, field: str) -> Path:
    name = reference.removeprefix(BUILTIN)
    # A plain word only: `builtin:../../etc/x` or a glob pattern would reach other files.
    matches = sorted(builtin_dir().glob(f"*/{name}.*")) if BUILTIN_NAME.fullmatch(name) else []
    if not matches:
        available = sorted(p.stem for p in builtin_dir().glob("backgrounds/*"))
        raise AssetNotFoundError(
            field,
            reference,
            "is not bundled",
            "one of the bundled backgrounds: "
            + ", ".join(f"{BUILTIN}{stem}" for stem in available),
        )
    return matches[0]


def _local(reference: str, field: str) -> Path:
    path = Path(unquote(reference.removeprefix("file://"))).expanduser()
    if not path.is_file():
        raise AssetNotFoundError(
            field,
            reference,
            "does not exist",
            "a path to an existing file",
            subject=f"file {str(path)!r}",
        )
    if content.kind_of(path.suffix) != "media":
        try:
            content.check(path, path.suffix)
        except ContentError as error:
            raise AssetError(field, reference, error.problem, error.expected) from None
    return path


def _cached(reference: str, field: str, policy: Policy, version: str = "") -> Path:
    """The cache entry for `reference` (at `version`), downloading it under the entry's
    lock on a miss.

    The entry is held until this process exits: its path goes to ffmpeg and Pillow,
    which may open it much later (see cache.py).
    """
    cache = Cache.default()
    key = hashlib.sha256(f"{reference}\n{version}".encode() if version else reference.encode())
    key = key.hexdigest()
    with substage("assets.cache"):
        hit = _held_file(cache, key)
    if hit:
        log.info("asset cache hit: %s → %s", reference, hit)
        return hit
    started = time.perf_counter()
    with substage("assets.fetch"), cache.locked("assets", key):
        if hit := _held_file(cache, key):
            log.info("asset cache hit after waiting for another worker: %s → %s", reference, hit)
            return hit
        _download(reference, field, policy, cache, key)
        path = _held_file(cache, key)
        if path is None:
            raise AssetError(field, reference, "vanished from the cache", "a cache that stays")
    log.info(
        "asset cache miss: fetched %s (%d bytes) in %.2f s → %s",
        reference,
        path.stat().st_size,
        time.perf_counter() - started,
        path,
    )
    cache.evict()
    return path


def _held_file(cache: Cache, key: str) -> Path | None:
    """The file of asset entry `key`, held for this process; None on a miss."""
    folder = cache.hold("assets", key)
    return next((p for p in folder.iterdir() if p.is_file()), None) if folder else None


def _download(reference: str, field: str, policy: Policy, cache: Cache, key: str) -> Path:
    """Fetch, check and commit one entry; nothing is left in the cache if any step fails."""
    from neuroshorts.media import fetch

    try:
        url = stock.search(reference) if reference.startswith(stock.PREFIX) else reference
        if url != reference:
            log.info("%s: %s is %s", field, reference, url)
        policy.check_url(url)
        name = _file_name(url)
        with cache.building() as folder:
            partial = folder / name
            fetch.download(url, partial, policy)
            suffix = PurePosixPath(name).suffix or content.sniff_suffix(partial)
            content.check(partial, suffix)
            if not name.endswith(suffix):
                partial.rename(folder / (name + suffix))
            return cache.commit("assets", key, folder)
    except Refused as refused:
        raise AssetError(
            field, reference, "is refused: " + refused.problem, refused.expected
        ) from None
    except CheckError as error:  # the stock search, the size limit, the content check
        raise AssetError(field, reference, error.problem, error.expected) from None
    except MissingExtraError as error:
        raise AssetError(field, reference, "cannot be fetched", str(error)) from None
    except FileNotFoundError:
        raise AssetNotFoundError(
            field, reference, "was not found", "the URL of an existing file"
        ) from None
    except Exception as error:
        raise AssetError(
            field,
            reference,
            f"could not be downloaded ({type(error).__name__}: {error})",
            _REACHABLE,
        ) from error


def _file_name(url: str) -> str:
    """A safe local name that keeps the remote file's name and suffix."""
    name = PurePosixPath(unquote(urlsplit(url).path)).name
    stem, suffix = os.path.splitext(name)
    stem = _UNSAFE.sub("_", stem).strip("._")[:80] or "asset"
    suffix = _UNSAFE.sub("", suffix).lower()[:8]
    return stem + (suffix if len(suffix) > 1 else "")
