"""The frame feed: JPEG frames for the browser's playhead, composed just ahead of it.

The browser owns the clock (the soundtrack plays in the page) and reports its playhead:
the frame it shows, whether it plays and how fast, the frames it already holds and the
last frame message it has received. One worker thread composes the frames the playhead
reaches next, nearest first, and sends each as a binary message. At most `max_in_flight`
frames are on their way at once (acknowledged by sequence number, the bound jupyter_rfb
calls `max_buffered_frames`), so a slow page never has a backlog of stale frames queued
in the comm and a seek is answered by the very next frame composed. A playing page's
report is a round trip old by the time its frame arrives, so frames are composed from
where the playhead will be then (the round trip is measured on the acknowledgements):
a frame that would come after its time is never composed.

ipywidgets has no such thing: a `Play` widget steps a trait from the kernel's clock,
which cannot follow the page's audio. So the feed is ours, kept to one lock and one
thread; `step()` is the whole protocol, run synchronously by the tests.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from neuroshorts.errors import ClockError

log = logging.getLogger(__name__)

#: How far ahead of a playing playhead frames are composed, in seconds of the short.
LEAD_SECONDS = 0.5
#: Frames composed around a paused playhead: the next third of a second (Play starts
#: smoothly) and the one before (a step back is instant).
PAUSED_AHEAD = 10
#: A frame's round trip (send to acknowledgement) before any is measured, in seconds.
ROUND_TRIP = 0.1
#: Frames sent and not yet acknowledged by the browser, at most. A frame's round trip
#: through JupyterLab's comm (kernel, server, page and back) measured 100-200 ms, and
#: the page gathers its acknowledgements for 0.2 s (each report costs the page two
#: kernel status messages), so 24 in flight (0.8 s of the short, about 1 MB of JPEG at
#: 540x960) keep up with 2x playback; 6 held a playing page to just-in-time frames.
MAX_IN_FLIGHT = 24

Compose = Callable[[int, int], bytes | None]
Send = Callable[[dict[str, Any], list[bytes]], None]


@dataclass(frozen=True)
class Clock:
    """The browser's playhead as last reported (frames are indices, not seconds)."""

    version: int
    index: int
    client: str = ""
    playing: bool = False
    rate: float = 1.0
    seq: int = 0
    have: frozenset[int] = field(default_factory=frozenset)
    at: float = 0.0

    @classmethod
    def from_message(cls, message: Mapping[str, Any], at: float) -> Clock:
        """The clock a `{"type": "clock", ...}` message reports, received at `at`."""

        def number(name: str, kind: type, default: Any = None) -> Any:
            value = message.get(name, default)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ClockError(f"clock message: {name!r} is {value!r}, expected a number")
            return kind(value)

        have = message.get("have", [])
        if not isinstance(have, list) or not all(isinstance(i, int) for i in have):
            raise ClockError(f"clock message: 'have' is {have!r}, expected a list of frames")
        rate = number("rate", float, 1.0)
        if not 0 < rate <= 16:
            raise ClockError(f"clock message: 'rate' is {rate!r}, expected 0 < rate <= 16")
        return cls(
            version=number("version", int),
            index=number("index", int),
            client=str(message.get("client", "")),
            playing=bool(message.get("playing", False)),
            rate=rate,
            seq=number("seq", int, 0),
            have=frozenset(have),
            at=at,
        )


def lookahead(
    index: int,
    *,
    playing: bool,
    rate: float,
    fps: int,
    frame_count: int,
    loop: tuple[int, int] | None = None,
    lead_seconds: float = LEAD_SECONDS,
) -> list[int]:
    """The frames the playhead at `index` shows next, nearest first.

    Playing, that is `lead_seconds` of the short at `rate`, wrapping from the loop's out
    frame (exclusive) to its in frame when the playhead is inside the loop. Paused, the
    frame itself, the next few and the previous one.
    """
    last = frame_count - 1
    index = min(max(index, 0), last)
    if not playing:
        around = [index, *range(index + 1, index + 1 + PAUSED_AHEAD), index - 1]
        return [i for i in around if 0 <= i <= last]
    count = max(1, math.ceil(lead_seconds * fps * rate))
    wrap = loop is not None and loop[0] <= index < loop[1]
    frames: list[int] = []
    i = index
    while len(frames) < count:
        if wrap and i >= loop[1]:
            i = loop[0]
        if i > last or i in frames:
            break
        frames.append(i)
        i += 1
    return frames


def playhead(
    clock: Clock, fps: int, frame_count: int, loop: tuple[int, int] | None, now: float
) -> int:
    """Where a playing playhead is by `now`, from its last report (the page reports often,
    this only spares composing frames it has already passed)."""
    if not clock.playing:
        return clock.index
    index = clock.index + int((now - clock.at) * fps * clock.rate)
    if loop is not None and loop[0] <= clock.index < loop[1] and index >= loop[1]:
        index = loop[0] + (index - loop[0]) % (loop[1] - loop[0])
    return min(index, frame_count - 1)


class FrameFeed:
    """Sends the frames a browser's playhead needs next, at most `max_in_flight` at once.

    `compose(version, index)` makes the JPEG of one frame (None when it failed: the
    frame is not asked for again); `send(message, buffers)` puts one on the comm.
    """

    def __init__(
        self,
        compose: Compose,
        send: Send,
        *,
        max_in_flight: int = MAX_IN_FLIGHT,
        lead_seconds: float = LEAD_SECONDS,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._compose = compose
        self._send = send
        self.max_in_flight = max_in_flight
        self.lead_seconds = lead_seconds
        self._now = now
        self._changed = threading.Condition()
        self._clock: Clock | None = None
        self._version, self._fps, self._frame_count = 0, 30, 1
        self._loop: tuple[int, int] | None = None
        self._in_flight: deque[tuple[int, int, int, float]] = deque()  # seq, version, index, sent
        self.round_trip = ROUND_TRIP
        self._failed: set[int] = set()
        self._seq = 0
        self._thread: threading.Thread | None = None
        self._closed = False

    def show(self, version: int, fps: int, frame_count: int) -> None:
        """Serve another short (or size): frames of earlier versions are never sent again."""
        with self._changed:
            self._version, self._fps, self._frame_count = version, fps, frame_count
            self._failed.clear()
            self._changed.notify_all()

    def set_loop(self, loop: tuple[int, int] | None) -> None:
        """The loop's in frame and out frame (exclusive), or None when not looping."""
        with self._changed:
            self._loop = loop if loop is not None and loop[0] < loop[1] else None
            self._changed.notify_all()

    def report(self, clock: Clock) -> None:
        """Take the browser's playhead; starts the worker thread at the first report."""
        with self._changed:
            if self._closed:
                return
            if self._clock is not None and self._clock.client != clock.client:
                # Another page (a reload): what was sent to the last one will not be acked.
                self._in_flight.clear()
            self._clock = clock
            while self._in_flight and self._in_flight[0][0] <= clock.seq:
                sent = self._in_flight.popleft()[3]
                self.round_trip += 0.2 * (max(clock.at - sent, 0.0) - self.round_trip)
            self._changed.notify_all()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="neuroshorts-frame-feed", daemon=True
                )
                self._thread.start()

    @property
    def in_flight(self) -> list[int]:
        """Frames of the current version sent and not yet acknowledged, oldest first."""
        with self._changed:
            return [i for _, v, i, _ in self._in_flight if v == self._version]

    def _pending(self) -> list[int]:
        """The frames to send next, nearest to the playhead first (none beyond the bound)."""
        clock = self._clock
        room = self.max_in_flight - len(self._in_flight)
        if clock is None or room <= 0:
            return []
        arrival = self._now() + self.round_trip
        index = playhead(clock, self._fps, self._frame_count, self._loop, arrival)
        wanted = lookahead(
            index,
            playing=clock.playing,
            rate=clock.rate,
            fps=self._fps,
            frame_count=self._frame_count,
            loop=self._loop,
            lead_seconds=self.lead_seconds,
        )
        skip = self._failed | {i for _, v, i, _ in self._in_flight if v == self._version}
        if clock.version == self._version:
            skip |= clock.have
        return [i for i in wanted if i not in skip][:room]

    def step(self) -> bool:
        """Compose and send the most wanted frame, if any; whether one was sent."""
        with self._changed:
            pending = self._pending()
            if not pending:
                return False
            index, version = pending[0], self._version
            self._seq += 1
            seq = self._seq
            self._in_flight.append((seq, version, index, self._now()))
        jpeg = self._compose(version, index)
        if jpeg is None:
            with self._changed:
                self._failed.add(index)
                self._in_flight = deque(e for e in self._in_flight if e[0] != seq)
            return True
        self._send({"type": "frame", "version": version, "index": index, "seq": seq}, [jpeg])
        return True

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._closed and not self._pending():
                    # A playing playhead moves on by itself: look again within a frame.
                    playing = self._clock is not None and self._clock.playing
                    self._changed.wait(1 / self._fps if playing else None)
                if self._closed:
                    return
            try:
                self.step()
            except Exception:  # the comm went away with the page or the kernel's shutdown
                log.exception("studio: sending a frame failed")
                self.close()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()
