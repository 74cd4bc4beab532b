"""Background segments one after another, joined by a crossfade, a slide or a zoom.

A transition of `duration` seconds starts where the next segment's span starts: the
outgoing segment keeps drawing (its own motion continues) while the incoming one fades,
slides or zooms in over it. Only during a transition is a second background drawn.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Literal

from neuroshorts.scene import Canvas, Layer, Patch, Span
from neuroshorts.scene.planes import Planes
from neuroshorts.visuals.backgrounds import ease_in_out, resample

Transition = Literal["cut", "crossfade", "slide", "zoom"]
TRANSITIONS = ("cut", "crossfade", "slide", "zoom")

#: How far the outgoing picture is magnified by the end of a zoom transition.
ZOOM_REACH = 1.3


class Segments(Layer):
    """Full-frame background layers in time order, as one layer with transitions."""

    def __init__(
        self,
        segments: Sequence[Layer],
        *,
        transition: Transition = "crossfade",
        duration: float = 0.5,
    ) -> None:
        if transition not in TRANSITIONS:
            raise ValueError(f"transition: {transition!r} is not one of {', '.join(TRANSITIONS)}")
        if not segments:
            raise ValueError("segments: need at least one background segment")
        starts = [segment.span.start for segment in segments]
        if starts != sorted(starts):
            raise ValueError("segments: spans must be in time order")
        self.segments = list(segments)
        self.transition = transition
        self.duration = duration if transition != "cut" else 0.0
        self._starts = starts
        self.span = Span(starts[0], segments[-1].span.end)

    @property
    def label(self) -> str:
        return f"{len(self.segments)} scenes, {self.transition}"

    def patch(self, t: float, canvas: Canvas) -> Patch | None:
        index = max(bisect.bisect_right(self._starts, t) - 1, 0)
        incoming = self.segments[index].patch(t, canvas)
        into = t - self._starts[index]
        if index == 0 or into >= self.duration or incoming is None:
            return incoming
        outgoing = self.segments[index - 1].patch(t, canvas)
        if outgoing is None:
            return incoming
        progress = ease_in_out(into / self.duration)
        frame = self._mix(_planes(outgoing), _planes(incoming), progress, canvas)
        return Patch(frame, changing=True)

    def _mix(self, outgoing: Planes, incoming: Planes, progress: float, canvas: Canvas) -> Planes:
        frame = Planes.blank(canvas.width, canvas.height, fill=None)
        if self.transition == "slide":
            shift = 2 * round(canvas.width * progress / 2)
            outgoing.copy_into(frame, -shift, 0)
            incoming.copy_into(frame, canvas.width - shift, 0)
            return frame
        if self.transition == "zoom":
            zoom = 1 + (ZOOM_REACH - 1) * progress
            width, height = canvas.width / zoom, canvas.height / zoom
            left, top = (canvas.width - width) / 2, (canvas.height - height) / 2
            resample(outgoing, frame, left, top, 1 / zoom, 1 / zoom)
        else:
            outgoing.copy_into(frame)
        incoming.mix_into(frame, progress)
        return frame


def _planes(patch: Patch) -> Planes:
    if not isinstance(patch.pixels, Planes):
        raise TypeError("segments: transitions join full-frame backgrounds (yuv Planes patches)")
    return patch.pixels
