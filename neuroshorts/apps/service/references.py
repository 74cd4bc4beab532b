"""Media references in a request's parameters, judged before the job is queued.

A worker fetches whatever a template parameter names, so a request is untrusted input
pointing at files: `/etc/passwd` as a background would make the worker read its own
disk, `http://169.254.169.254/` its cloud credentials. The CLI renders the user's own
files and keeps the scheme policy of `neuroshorts.media.policy` as configured; the
service refuses local files (plain paths, `file://`, a `file:` voice, font paths) unless
`NEUROSHORTS_LOCAL_FILES=true`.

The rule is enforced twice. The API checks the parameters that name media and answers
a 422 naming the parameter, so nothing is queued. The worker runs with the same scheme
policy in its environment (`apply_to_process`), which its kernels inherit, so a
parameter the API does not know as media is still refused when the asset is resolved.
Host names are judged by the worker when it connects (by the addresses they resolve
to, see `sources.guard`); the API refuses what it can see without a DNS lookup:
literal addresses and `localhost`.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Any
from urllib.parse import urlsplit

from neuroshorts.apps.service.errors import ApiError
from neuroshorts.media import assets
from neuroshorts.media.policy import SCHEMES_ENV, Policy, Refused
from neuroshorts.settings import Settings

LOCAL = "file"
#: Parameters of the bundled templates whose values name media (several joined by `|`).
MEDIA_PARAMETERS = frozenset(
    {"background", "music", "logo", "voice", "caption_font", "caption_fallback_font"}
)
#: Voice engines whose names are looked up by the engine, never read as paths.
_NAMED_VOICES = ("piper", "espeak", "edge")
#: A piece that names a file: a path, a file: reference, or a name with a suffix.
_FILE_LIKE = re.compile(r"^(file:|[/~.\\])|[/\\]|\.[A-Za-z0-9]{1,8}$")
_LOCAL_HOSTS = ("localhost", "localhost.")
#: Bundled media (`builtin:aurora`, `builtin:dawn`) have plain names; the engines find them.
_BUILTIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def service_policy(settings: Settings) -> Policy:
    """The environment's policy, without local files unless the service allows them."""
    policy = Policy.from_env()
    if settings.local_files:
        return policy
    return dataclasses.replace(policy, schemes=policy.schemes - {LOCAL})


def apply_to_process(settings: Settings) -> None:
    """Make this process (a worker) and the kernels it starts use the service's schemes."""
    # Written, not read: the kernels inherit the environment, and settings() follow it.
    os.environ[SCHEMES_ENV] = ",".join(sorted(service_policy(settings).schemes))


def check(settings: Settings, parameters: dict[str, Any], where: str = "parameters.") -> None:
    """Raise a 422 naming the first parameter whose media the service would not fetch."""
    policy = service_policy(settings)
    for name, value in parameters.items():
        if name not in MEDIA_PARAMETERS or not isinstance(value, str):
            continue
        field = f"{where}{name}"
        for reference in _references(name, value, field):
            try:
                _check_reference(reference, policy)
            except Refused as refused:
                raise ApiError(
                    422,
                    f"{reference!r} {refused.reason}; expected {refused.expected}",
                    field,
                    value,
                ) from None


def _references(name: str, value: str, field: str) -> list[str]:
    """The pieces of `value` that name media (a voice only in its `file:` form)."""
    if name == "voice":
        engine, _, voice = value.partition(":")
        if engine in _NAMED_VOICES:
            if "/" in voice or "\\" in voice or voice.startswith("."):
                raise ApiError(422, "a voice name, not a path (use file:URL)", field, value)
            return []
        return [voice] if engine == "file" else []
    pieces = (piece.strip() for piece in value.split("|"))
    return [piece for piece in pieces if piece and _names_media(piece)]


def _names_media(piece: str) -> bool:
    scheme = assets.scheme_of(piece)
    return scheme != LOCAL or bool(_FILE_LIKE.search(piece))


def _check_reference(reference: str, policy: Policy) -> None:
    scheme = assets.scheme_of(reference)
    if scheme == LOCAL and LOCAL not in policy.schemes:
        raise Refused(
            "is a file on the server",
            "a URL or builtin:NAME (local files are refused unless NEUROSHORTS_LOCAL_FILES=true)",
        )
    policy.check_scheme(scheme)
    if scheme == "builtin":
        if not _BUILTIN_NAME.fullmatch(reference.removeprefix(assets.BUILTIN)):
            raise Refused("is not a bundled name", "builtin:NAME with NAME a plain word")
    elif scheme in ("http", "https"):
        try:
            host = urlsplit(reference).hostname
        except ValueError:
            raise Refused("is not a valid URL", "a URL such as https://host/file.jpg") from None
        if not host:
            raise Refused("has no host", "a URL such as https://host/file.jpg")
        if host.lower() in _LOCAL_HOSTS or host.lower().endswith(".localhost"):
            policy.check_host(host, ["127.0.0.1"])
        policy.check_literal(host)
