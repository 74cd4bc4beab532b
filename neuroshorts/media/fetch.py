"""Remote files through fsspec: download within a size limit, and the filesystems for URLs.

fsspec does the protocol work (aiohttp for http, s3fs for s3, gcsfs for gs). Its own
caches (`simplecache::`, `filecache::`) are not used: they neither stop two processes
from downloading the same file at once nor keep a size budget, which the asset cache
does; here fsspec only moves bytes into a file the cache chose.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Any

import fsspec
from fsspec.callbacks import Callback

from neuroshorts.errors import MissingExtraError, TooLargeError
from neuroshorts.media.policy import MAX_BYTES_ENV, Policy

#: Optional extras that bring a protocol's fsspec implementation.
EXTRAS = {"gs": ("gcsfs", "gcs")}


class _SizeLimit(Callback):
    """Stops a transfer as soon as the announced or received size passes `limit`.

    fsspec calls it with the Content-Length (or object size) before the body is read,
    and after every chunk written, so an oversized file costs at most one chunk.
    """

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def call(self, *args: Any, **kwargs: Any) -> None:
        if self.size is not None and self.size > self.limit:
            raise _too_large(f"announces {self.size:,} bytes, over the limit of {self.limit:,}")
        if self.value > self.limit:
            raise _too_large(f"sent more than the limit of {self.limit:,} bytes")


def _too_large(problem: str) -> TooLargeError:
    return TooLargeError(f"{problem} ({MAX_BYTES_ENV})", "a smaller file")


def filesystem(protocol: str, **options: Any) -> fsspec.AbstractFileSystem:
    """A new fsspec filesystem for `protocol` (s3, gs, file).

    Credentials and endpoints come only from the standard environment and profiles
    (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_PROFILE`, ...; Google's application
    default credentials). A fresh instance each time, because fsspec's instance cache
    would keep an endpoint or a key after the environment changed. gcsfs sends requests
    to `STORAGE_EMULATOR_HOST` by itself but signs share links for Google's own host;
    naming the endpoint makes the links point where the files are.
    """
    # gcsfs's own variable, read the way gcsfs reads it: not a NeuroShorts setting.
    emulator = os.environ.get("STORAGE_EMULATOR_HOST", "")
    if protocol == "gs" and emulator:
        options.setdefault("endpoint_url", emulator if "://" in emulator else f"http://{emulator}")
    try:
        return fsspec.filesystem(protocol, skip_instance_cache=True, **options)
    except ImportError as error:
        package, extra = EXTRAS.get(protocol, (protocol, protocol))
        raise MissingExtraError(
            f"{protocol}:// URLs need the optional {package} package; "
            f"install it with pip install 'neuroshorts[{extra}]'"
        ) from error


def download(url: str, destination: Path, policy: Policy) -> None:
    """Copy the remote file `url` to `destination`, refusing what the policy refuses."""
    protocol = url.split("://", 1)[0].lower()
    if protocol in ("http", "https"):
        # Imported here: aiohttp costs every kernel and command 0.2 s at start, and most
        # renders fetch nothing over HTTP.
        from fsspec.implementations.http import HTTPFileSystem

        from neuroshorts.media.guard import guarded_client

        fs = HTTPFileSystem(get_client=partial(guarded_client, policy), skip_instance_cache=True)
    else:
        fs = filesystem(protocol)
    fs.get_file(url, str(destination), callback=_SizeLimit(policy.max_bytes))


def version(url: str) -> str:
    """What changes when the object at `url` (s3://, gs://) does: its ETag or generation.

    Raises FileNotFoundError when nothing is there.
    """
    protocol = url.split("://", 1)[0].lower()
    info = filesystem(protocol).info(url)
    for name in ("ETag", "etag", "generation", "md5Hash", "mtime", "LastModified"):
        if info.get(name):
            return str(info[name])
    return str(info.get("size", ""))


def listing(prefix: str, pattern: str) -> list[str]:
    """The URLs of the objects under `prefix` (s3://, gs://) whose names match `pattern`."""
    protocol = prefix.split("://", 1)[0].lower()
    keys = filesystem(protocol).glob(prefix.rstrip("/") + "/" + pattern)
    return sorted(f"{protocol}://{key}" for key in keys)
