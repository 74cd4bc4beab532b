"""Media references in a request's parameters, judged before the job is queued.

A worker fetches whatever a template parameter names, so a request is untrusted input
pointing at files: `/etc/passwd` as a background would make the worker read its own
disk, `http://169.254.169.254/` its cloud credentials. What a reference may be is decided
by `neuroshorts.media.policy` alone; this module knows which parameters name media and
answers in the API's terms. The CLI renders the user's own files under the policy as
configured; the service refuses local files (plain paths, `file://`, a `file:` voice,
font paths) unless `NEUROSHORTS_LOCAL_FILES=true`.

The rule is enforced twice. The API checks the parameters that name media and answers
a 422 naming the parameter, so nothing is queued. The worker runs with the same scheme
policy in its environment (`apply_to_process`), which its kernels inherit, so a
parameter the API does not know as media is still refused when the asset is resolved.
Host names are judged by the worker when it connects (by the addresses they resolve
to, see `media.guard`); the API refuses what it can see without a DNS lookup:
literal addresses and `localhost`.
"""

from __future__ import annotations

import os
import re
from typing import Any

from neuroshorts.errors import ApiError, Refused
from neuroshorts.media.policy import LOCAL, SCHEMES_ENV, Policy, scheme_of
from neuroshorts.settings import Settings

#: Parameters of the bundled templates whose values name media (several joined by `|`).
MEDIA_PARAMETERS = frozenset(
    {"background", "music", "logo", "voice", "caption_font", "caption_fallback_font"}
)
#: Voice engines whose names are looked up by the engine, never read as paths.
_NAMED_VOICES = ("piper", "espeak", "edge")
#: A piece that names a file: a path, a file: reference, or a name with a suffix.
_FILE_LIKE = re.compile(r"^(file:|[/~.\\])|[/\\]|\.[A-Za-z0-9]{1,8}$")


def service_policy(settings: Settings) -> Policy:
    """The environment's policy, without local files unless the service allows them."""
    policy = Policy.from_env()
    return policy if settings.local_files else policy.without_local_files()


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
                policy.check_reference(reference)
            except Refused as refused:
                raise ApiError(
                    422,
                    f"{reference!r} {refused.problem}; expected {refused.expected}",
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
    return scheme_of(piece) != LOCAL or bool(_FILE_LIKE.search(piece))
