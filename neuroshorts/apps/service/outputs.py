"""Where a job's video goes, as a request may name it.

The worker writes the video, its sidecars and its notebook wherever `output` says, so an
API that took any path would let a request overwrite any file the worker can write. The
rule: `output` is a relative name inside the service's output directory (`clips/a.mp4`;
no absolute path, no `..`, no hidden or control-character names, nothing that a symlink
in the directory leads out of), or a URL under one of the prefixes the operator lists in
`NEUROSHORTS_OUTPUT_URL_PREFIXES` (`s3://bucket/renders/`). Anything else is a 422
naming `output`. Without `output` the video is `<output_dir>/<job id>.mp4`.

When the output directory is a bucket (`s3://bucket/renders/`), a relative name is a key
under it, and a job without `output` gets a folder of its own: `<bucket
prefix><job id>/<job id>.mp4`, beside which go its sidecars, notebook, manifest and log.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from neuroshorts.errors import ApiError
from neuroshorts.output.bundle import VIDEO, is_video_name

EXAMPLE = "clips/intro.mp4"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Longest file or folder name most file systems take, in bytes.
_LONGEST_NAME = 255


def resolve(
    root: Path | str,
    job_id: str,
    requested: str | None,
    field: str = "output",
    prefixes: Sequence[str] = (),
) -> str:
    """The output of a job: a path under `root` (resolved) or a URL under a prefix.

    `root` is a local folder or a bucket prefix ending in `/`.
    """
    if requested is None:
        return (
            f"{root}{job_id}/{job_id}{VIDEO}"
            if isinstance(root, str)
            else str(root / f"{job_id}{VIDEO}")
        )
    if not is_video_name(requested):
        raise ApiError(422, f"an MP4 name ending in {VIDEO}", field, requested)
    if isinstance(root, str) and "://" not in requested:
        _check_name(requested, requested, field, f"a name under {root}, such as {EXAMPLE}")
        return root + requested
    inside = f"a relative name inside the output directory {root}, such as {EXAMPLE}"
    if "://" in requested:
        prefix = next((p for p in prefixes if requested.startswith(p)), None)
        if prefix is None:
            allowed = ", ".join(prefixes) or "none are (NEUROSHORTS_OUTPUT_URL_PREFIXES)"
            expected = f"{inside}, or a URL under an allowed prefix: {allowed}"
            raise ApiError(422, expected, field, requested)
        _check_name(requested.removeprefix(prefix), requested, field, f"a name under {prefix}")
        return requested
    _check_name(requested, requested, field, inside)
    assert isinstance(root, Path)
    full = (root / requested).resolve()
    if not full.is_relative_to(root):
        raise ApiError(422, f"{inside}; it leads out through a symlink", field, requested)
    return str(full)


def _check_name(name: str, requested: str, field: str, expected: str) -> None:
    """Refuse anything but plain folder and file names joined by `/`."""
    if _CONTROL.search(name):
        problem = "contains control characters"
    elif name.startswith(("/", "~")) or "\\" in name:
        problem = "is not a relative name"
    elif any(part in ("", ".", "..") for part in name.split("/")):
        problem = "has an empty, `.` or `..` part"
    elif any(part.startswith(".") for part in name.split("/")):
        problem = "has a hidden (dot) name"
    elif any(len(part.encode()) > _LONGEST_NAME for part in name.split("/")):
        problem = f"has a name longer than {_LONGEST_NAME} bytes"
    else:
        return
    raise ApiError(422, f"{problem}; expected {expected}", field, requested)
