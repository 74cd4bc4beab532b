"""Terminal progress bars for `render` and `batch` that follow the render itself.

A render reports its progress from the kernel (`progress.Progress`): the template's
section running (narration, captions, ...), then each frame encoded, then `publish`.
A render's bar names the stage and, from the first frame on, counts frames out of the
total with tqdm's rate and ETA, so it reaches 100% with the last frame. A batch's bar
counts rows, each running row adding the fraction it has done, and names what each one
is doing. papermill's own bar counts notebook cells, which says nothing about the
encode (most of the wait), so it is not shown.

Bars draw only on a terminal (tqdm's `disable=None`): piped or in a container's log
they would be carriage-return noise. Log lines go above the bar (`logs_above`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm
from tqdm.contrib import DummyTqdmFile

from neuroshorts.output.progress import Progress

_RENDER_FORMAT = (
    "{desc} {percentage:3.0f}%|{bar}| frame {n_fmt}/{total_fmt} [{elapsed}<{remaining}]"
)
_BATCH_FORMAT = (
    "{desc} {percentage:3.0f}%|{bar}| {n:.1f}/{total_fmt} rows [{elapsed}<{remaining}]{postfix}"
)


def _stage(report: Progress) -> str:
    if report.frames:
        return f"encode {report.frames[0]}/{report.frames[1]}"
    return report.stage


class RenderBar:
    """One render's bar; pass it as `templates.run(..., on_progress=bar)`."""

    def __init__(self, name: str, *, disable: bool | None = None) -> None:
        self.name = name
        self.bar = tqdm(
            total=None, desc=f"{name}: starting", bar_format=_RENDER_FORMAT, disable=disable
        )

    def __call__(self, report: Progress) -> None:
        stage = "encode" if report.frames else report.stage
        self.bar.set_description_str(f"{self.name}: {stage}", refresh=False)
        if report.frames:
            done, total = report.frames
            if self.bar.total != total:
                self.bar.reset(total=total)  # the ETA is the encode's own rate
            self.bar.update(done - self.bar.n)
        else:
            self.bar.refresh()

    def __enter__(self) -> RenderBar:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        self.bar.set_description_str(f"{self.name}: {'failed' if kind else 'done'}")
        self.bar.close()


class BatchBar:
    """A batch's bar: rows done plus running rows' fractions; `progress` and `finished`
    are `batch.run_batch`'s `on_progress` and `on_result`."""

    def __init__(self, rows: int, *, disable: bool | None = None) -> None:
        self.bar = tqdm(total=rows, desc="batch", bar_format=_BATCH_FORMAT, disable=disable)
        self.running: dict[int, Progress] = {}
        self.done: set[int] = set()

    def progress(self, row: int, report: Progress) -> None:
        if row not in self.done:
            self.running[row] = report
            self._show()

    def finished(self, row: int) -> None:
        self.running.pop(row, None)
        self.done.add(row)
        self._show()

    def _show(self) -> None:
        running = sorted(self.running.items())
        self.bar.set_postfix_str(
            ", ".join(f"row {row}: {_stage(report)}" for row, report in running), refresh=False
        )
        position = len(self.done) + sum(report.fraction for _, report in running)
        self.bar.update(max(0.0, position - self.bar.n))

    def __enter__(self) -> BatchBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()


@contextmanager
def logs_above(bar: tqdm) -> Iterator[None]:
    """Route console log lines through tqdm so they print above the bar, not through it."""
    consoles = [
        handler
        for handler in logging.getLogger("neuroshorts").handlers
        if type(handler) is logging.StreamHandler and not bar.disable
    ]
    previous = [handler.setStream(DummyTqdmFile(handler.stream)) for handler in consoles]
    try:
        yield
    finally:
        for handler, stream in zip(consoles, previous, strict=True):
            handler.setStream(stream)
