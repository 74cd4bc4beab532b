"""Stage timings for the result manifest: where a render spent its seconds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

#: The Stages timing the enclosing `with stages(name)` block, so code deep in the
#: engines (the asset cache) can add a sub-stage without every caller passing it down.
_current: ContextVar[Stages | None] = ContextVar("stages", default=None)


class Stages:
    """Accumulates wall-clock seconds per named stage (`narration`, `encode`, ...)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        token = _current.set(self)
        try:
            yield
        finally:
            _current.reset(token)
            elapsed = time.perf_counter() - started
            self.seconds[name] = round(self.seconds.get(name, 0.0) + elapsed, 3)


@contextmanager
def substage(name: str) -> Iterator[None]:
    """Time `name` in the Stages of the enclosing stage, if there is one (else nothing)."""
    stages = _current.get()
    if stages is None:
        yield
        return
    with stages(name):
        yield
