"""Finished videos out: to a local path, or to an `s3://` / `gs://` URL with a share link.

A render is a video and its sidecars (captions, thumbnail, executed notebook) plus the
manifest JSON that describes them, as `output.bundle` names them. `publish` copies or
uploads all of them and rewrites the manifest so it describes where they now are
(`video_url`, `share_url`, `expires_at`, and every path of a published file replaced by
its URL).

Order makes the result safe to watch for: the sidecars first, then the video, then the
manifest. Each object store upload (S3 PUT or multipart, GCS resumable upload) becomes
visible only once complete, so no partial object ever shows under a final key, and a
manifest that is there means everything it names is there. If any upload fails, the
objects already uploaded are removed and nothing is reported as published.

The share link is presigned (`fs.sign`) for `NEUROSHORTS_SHARE_EXPIRY` seconds (default
7 days, the most SigV4 allows; 0 for no link). Credentials and endpoints come from the
standard environment and profiles only, as for assets.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import fsspec

from neuroshorts.errors import PublishError
from neuroshorts.media.fetch import filesystem
from neuroshorts.output.bundle import Bundle
from neuroshorts.output.files import atomic_path, write_text_atomic
from neuroshorts.settings import BUCKET_SCHEMES, data_dir, settings

log = logging.getLogger(__name__)

EXPIRY_ENV = "NEUROSHORTS_SHARE_EXPIRY"
MAX_EXPIRY = 7 * 24 * 3600
REMOTE_SCHEMES = BUCKET_SCHEMES


@dataclass(frozen=True)
class Published:
    video_url: str
    share_url: str | None = None
    expires_at: datetime | None = None


def is_remote(url: str) -> bool:
    return urlsplit(url).scheme.lower() in REMOTE_SCHEMES


def render_path(url: str) -> Path:
    """Where to render a video meant for `url`.

    A local path (or `file://` URL) is rendered in place; a remote URL into a new work
    directory under the data directory, removed by `discard_work` once published. The
    directory's name starts with this process's id, so what a killed process left can
    be told from what a live one is writing (`discard_stale_work`).
    """
    if is_remote(url):
        name = PurePosixPath(urlsplit(url).path).name
        return data_dir() / "work" / f"{os.getpid()}-{uuid.uuid4().hex}" / name
    return Path(url.removeprefix("file://")).expanduser().resolve()


def discard_work(local_video: Path) -> None:
    """Remove the work directory `render_path` chose for a remote video."""
    work = (data_dir() / "work").resolve()
    folder = local_video.resolve().parent
    if folder.parent == work:
        shutil.rmtree(folder, ignore_errors=True)


def work_file(name: str) -> Path:
    """A file of this process's own in the work area, such as a remote job's log before
    it is uploaded: `discard_stale_work` removes it too if the process is killed."""
    return data_dir() / "work" / f"{os.getpid()}-files" / name


def discard_stale_work(alive: Callable[[int], bool]) -> None:
    """Remove the work directories of processes no longer `alive` (killed mid-render)."""
    for folder in (data_dir() / "work").glob("*-*"):
        pid = folder.name.split("-", 1)[0]
        if pid.isdigit() and not alive(int(pid)):
            log.info("removing %s, left by process %s", folder, pid)
            shutil.rmtree(folder, ignore_errors=True)


def sibling_url(url: str, suffix: str) -> str:
    """The URL of the file beside `url` with the same stem and `suffix`."""
    parts = urlsplit(url)
    path = str(PurePosixPath(parts.path).with_suffix(suffix))
    return parts._replace(path=path).geturl()


def publish(local_video: Path, url: str, extra: Sequence[Path] = ()) -> Published:
    """Copy or upload `local_video` and its sidecars to `url` (a path, s3:// or gs://).

    `extra` files (a job's log) go beside the video as sidecars, named by their suffix.
    """
    local_video = Path(local_video)
    if is_remote(url):
        return _upload(local_video, url, extra)
    return _copy(local_video, render_path(url))


def upload(local: Path, url: str) -> None:
    """Upload one file to `url` (a job's log when it closes, a failed run's notebook)."""
    protocol = urlsplit(url).scheme.lower()
    try:
        _filesystem(protocol).put_file(str(local), url)
    except Exception as error:
        raise PublishError(f"could not upload {local.name} to {url}: {error}") from error


def signed_link(url: str, expiry: int) -> str:
    """A presigned link to the object at `url` that works for `expiry` seconds."""
    protocol = urlsplit(url).scheme.lower()
    return _filesystem(protocol).sign(
        url, expiration=expiry, **({"version": "v4"} if protocol == "gs" else {})
    )


def _filesystem(protocol: str) -> fsspec.AbstractFileSystem:
    # SigV4 presigned links: the only kind current AWS regions and S3-compatible
    # stores accept (botocore would otherwise presign with the legacy scheme).
    options = {"config_kwargs": {"signature_version": "s3v4"}} if protocol == "s3" else {}
    return filesystem(protocol, **options)


def _files(local_video: Path, target: str, extra: Sequence[Path] = ()) -> list[tuple[Path, str]]:
    """(local file, destination) pairs in publishing order: sidecars and `extra`, video,
    manifest."""
    pairs = [
        (path, target if path == local_video else sibling_url(target, suffix))
        for path, suffix in Bundle(local_video).files()
        if path == local_video or path.is_file()
    ]
    at = next(i for i, (path, _) in enumerate(pairs) if path == local_video)
    extras = [(file, sibling_url(target, file.suffix)) for file in extra if file.is_file()]
    return [*pairs[:at], *extras, *pairs[at:]]


def _upload(local_video: Path, url: str, extra: Sequence[Path]) -> Published:
    protocol = urlsplit(url).scheme.lower()
    try:
        fs = _filesystem(protocol)
    except ImportError as error:
        raise PublishError(f"output: cannot publish to {url!r}: {error}") from error
    share_url, expires_at = _share(fs, url, protocol)
    published = Published(url, share_url, expires_at)
    pairs = _files(local_video, url, extra)
    _describe(Bundle(local_video).manifest, pairs, published)
    uploaded: list[str] = []
    try:
        for local, remote in pairs:
            fs.put_file(str(local), remote)
            uploaded.append(remote)
            size = fs.info(remote)["size"]
            if size != local.stat().st_size:
                raise PublishError(f"{remote} holds {size} bytes of {local.stat().st_size}")
    except Exception as error:
        for done in uploaded:
            try:
                fs.rm_file(done)
            except Exception as cleanup:
                log.warning("could not remove %s after a failed publish: %s", done, cleanup)
        raise PublishError(f"output: could not upload {local.name} to {remote}: {error}") from error
    log.info("published %s with %d sidecars to %s", local_video.name, len(pairs) - 1, url)
    return published


def _share(
    fs: fsspec.AbstractFileSystem, url: str, protocol: str
) -> tuple[str | None, datetime | None]:
    """A presigned link to `url` and when it expires, or (None, None) if there is none.

    GCS links are V4-signed with the service account's key, as S3's are SigV4: Google's
    library would otherwise sign with its legacy V2 scheme.
    """
    expiry = _expiry()
    if not expiry:
        return None, None
    try:
        link = fs.sign(url, expiration=expiry, **({"version": "v4"} if protocol == "gs" else {}))
    except NotImplementedError:
        log.warning("%s: this store makes no share links; publishing without one", url)
        return None, None
    except AttributeError as error:  # google-auth: credentials without a private key
        raise PublishError(
            f"output: cannot sign a share link for {url!r} ({error}); use service-account "
            f"credentials, or set {EXPIRY_ENV}=0 to publish without a link"
        ) from None
    expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=expiry)
    return link, expires_at


def _expiry() -> int:
    text = (settings().share_expiry or "").strip() or str(MAX_EXPIRY)
    if not text.isdigit() or int(text) > MAX_EXPIRY:
        raise PublishError(
            f"{EXPIRY_ENV}: {text!r} is not a share link lifetime; expected whole seconds "
            f"from 0 (no link) to {MAX_EXPIRY} (7 days)"
        )
    return int(text)


def _copy(local_video: Path, target: Path) -> Published:
    published = Published(target.as_uri())
    if target == local_video.resolve():
        _describe(Bundle(local_video).manifest, [], published)
        return published
    pairs = _files(local_video, str(target))
    _describe(Bundle(local_video).manifest, pairs, published)
    for local, destination in pairs:
        with atomic_path(destination) as partial:
            shutil.copyfile(local, partial)
    log.info("published %s with %d sidecars to %s", local_video.name, len(pairs) - 1, target)
    return published


def _describe(manifest: Path, pairs: list[tuple[Path, str]], published: Published) -> None:
    """Make the manifest name the published files and carry the links.

    Any string value that is the path of a file being published becomes its URL; the
    manifest's schema is not needed for that.
    """
    if not manifest.is_file():
        return
    moved = {str(local): destination for local, destination in pairs}
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data = {
        key: moved.get(value, value) if isinstance(value, str) else value
        for key, value in data.items()
    }
    data.update(
        video_url=published.video_url,
        share_url=published.share_url,
        expires_at=published.expires_at.isoformat() if published.expires_at else None,
    )
    write_text_atomic(manifest, json.dumps(data, indent=2, ensure_ascii=False))
