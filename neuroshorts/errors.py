"""Every exception NeuroShorts raises on purpose, in one module, as one hierarchy.

A caller decides what to do by the branch, not by the module the error came from:

    NeuroShortsError
    ├── InputError (ValueError)     what was given cannot be used: fix the input, retry.
    │   │                           Front ends answer it as bad input (CLI exit 2, API
    │   │                           4xx, a watch job filed as invalid); nothing was
    │   │                           written or queued. The message names the field, the
    │   │                           value and what was expected.
    │   ├── ParameterError          a template parameter: `name`, `value`, `expected`
    │   ├── TemplateError           a template not found, or malformed
    │   ├── AssetError              a media reference: `field`, `reference`, `problem`,
    │   │   │                       `expected`
    │   │   └── AssetNotFoundError  (also FileNotFoundError) nothing is there
    │   ├── CheckError              a check in two parts a caller rephrases for its
    │   │   │                       field: `problem` and `expected`
    │   │   ├── Refused             a reference or URL the media policy does not allow
    │   │   ├── ContentError        a file that is not what its name promises
    │   │   ├── StockError          a stock search that found nothing usable
    │   │   └── TooLargeError       a remote file over the size limit
    │   ├── VoiceError              a voice that names nothing available, or cannot run
    │   ├── AudioFileError          a file that is not readable audio
    │   ├── GlyphError              a character no font of a chain can draw
    │   ├── BatchError              batch rows or output pattern (names row and column)
    │   ├── JobError                a watch-folder job file: `field`, `value`, `expected`
    │   ├── ClockError              a playhead report from the studio page
    │   └── IdempotencyConflict     an Idempotency-Key reused for another request
    ├── RunError (RuntimeError)     the input was accepted, the run failed or was stopped
    │   ├── TemplateRunError        the notebook raised; the executed notebook shows where
    │   ├── KernelError             a kernel could not start or import the engine
    │   ├── RenderError             ffmpeg refused or failed
    │   ├── RunCancelled            cancelled: the kernel and its ffmpeg were killed
    │   ├── PublishError            a video could not be published (nothing was left)
    │   └── WatchError              a folder cannot be watched
    ├── MissingExtraError (ImportError)  a URL scheme whose optional extra is not installed
    └── ApiError                    the render API's answer: `status`, `reason`, `field`,
                                    `value` (the service raises it, the client receives it)

Each class keeps the builtin base it always had (ValueError, RuntimeError, ...), so code
that catches those still catches them. This module imports nothing of the package: any
layer may raise from it.
"""

from __future__ import annotations

from typing import Any


class NeuroShortsError(Exception):
    """Base of every error NeuroShorts raises on purpose."""


# --- bad input ---------------------------------------------------------------------------


class InputError(NeuroShortsError, ValueError):
    """What was given cannot be used; the message says which input and what would fit."""


class ParameterError(InputError):
    """A parameter value was refused: names the parameter, the value and what fits."""

    def __init__(self, name: str, value: Any, expected: str) -> None:
        self.name, self.value, self.expected = name, value, expected
        super().__init__(f"parameter {name!r}: got {value!r}, expected {expected}")


class TemplateError(InputError):
    """A template cannot be found or is malformed."""


class AssetError(InputError):
    """An asset reference that cannot be used: names the parameter, the value and what fits."""

    def __init__(
        self, field: str, reference: str, problem: str, expected: str, *, subject: str = ""
    ) -> None:
        self.field, self.reference = field, reference
        self.problem, self.expected = problem, expected
        super().__init__(f"{field}: {subject or repr(reference)} {problem}; expected {expected}")


class AssetNotFoundError(AssetError, FileNotFoundError):
    """The reference is well formed, but nothing is there."""


class CheckError(InputError):
    """A check that failed, said in two parts (`problem`, `expected`) that the caller
    prefixes with the field and value it was checking."""

    def __init__(self, problem: str, expected: str) -> None:
        self.problem, self.expected = problem, expected
        super().__init__(f"{problem}; expected {expected}")


class Refused(CheckError):
    """A reference or URL the media policy (or a callback allow-list) does not allow."""


class ContentError(CheckError):
    """A file that is not what its name promises."""


class StockError(CheckError):
    """A stock search that found nothing usable."""


class TooLargeError(CheckError):
    """A remote file that announced or sent more bytes than the limit."""


class VoiceError(InputError):
    """A voice string that names no available voice, or a voice that cannot run here."""


class AudioFileError(InputError):
    """A file that is not readable audio."""


class GlyphError(InputError):
    """A character that none of the fonts in a chain can draw."""


class BatchError(InputError):
    """Bad batch input; the message names the row (or line) and column at fault."""


class JobError(InputError):
    """A job file is malformed; names the field, the value and what was expected."""

    def __init__(self, field: str, value: Any, expected: str) -> None:
        self.field = field
        super().__init__(f"{field!r}: got {value!r}, expected {expected}")


class ClockError(InputError):
    """A playhead report from the page that does not fit the protocol."""


class IdempotencyConflict(InputError):
    """An Idempotency-Key was reused for a different request."""


# --- a run that failed -------------------------------------------------------------------


class RunError(NeuroShortsError, RuntimeError):
    """The input was accepted, but the run failed or was stopped."""


class TemplateRunError(RunError):
    """The template notebook raised while executing; the executed notebook shows where."""


class KernelError(RunError):
    """A kernel could not be started or could not import the engine."""


class RenderError(RunError):
    """ffmpeg refused or failed; the message carries its own explanation."""


class RunCancelled(RunError):
    """The run was cancelled: its kernel and ffmpeg were killed before it finished."""


class PublishError(RunError):
    """A video could not be published; nothing of it was left at the destination."""


class WatchError(RunError):
    """The folder cannot be watched (missing, or another watcher holds it)."""


# --- neither ---------------------------------------------------------------------------


class MissingExtraError(NeuroShortsError, ImportError):
    """A URL scheme whose fsspec implementation is an optional extra not installed."""


class ApiError(NeuroShortsError):
    """The render API's refusal: the HTTP `status`, the `reason`, the `field` at fault and
    its `value`. The service raises it for its error handler to answer as JSON; the
    client raises it with what the API answered."""

    def __init__(
        self, status: int, reason: str, field: str | None = None, value: Any = None
    ) -> None:
        self.status, self.reason, self.field, self.value = status, reason, field, value
        super().__init__(f"HTTP {status}: {f'{field}: ' if field else ''}{reason}")
