"""The player's frame protocol, kernel side, in plain pytest: what is sent for a playhead.

The page reports its playhead (`clock` messages); the feed answers with frames. These
tests play the page's part by hand with a fake clock, so every step is deterministic.
"""

import math
import threading

import pytest

from neuroshorts.errors import ClockError
from neuroshorts.studio.feed import (
    LEAD_SECONDS,
    MAX_IN_FLIGHT,
    PAUSED_AHEAD,
    Clock,
    FrameFeed,
    lookahead,
    playhead,
)

FPS = 30


class Page:
    """The browser's side: receives frames, reports its playhead, acknowledges by seq."""

    def __init__(self, frame_count=300, **options):
        self.now = 0.0
        self.sent: list[tuple[dict, list[bytes]]] = []
        self.composed: list[tuple[int, int]] = []
        self.broken: set[int] = set()  # frames whose composing fails
        self.version = 1
        self.feed = FrameFeed(self.compose, self.receive, now=lambda: self.now, **options)
        self.feed.round_trip = 0.0  # an instant page, until a test says otherwise
        self.feed.show(self.version, FPS, frame_count)

    def compose(self, version, index):
        self.composed.append((version, index))
        if index in self.broken:
            return None
        return f"jpeg {version}:{index}".encode()

    def receive(self, message, buffers):
        self.sent.append((message, buffers))

    @property
    def frames(self):
        return [m["index"] for m, _ in self.sent]

    def seq(self):
        return max((m["seq"] for m, _ in self.sent), default=0)

    def report(self, index, *, playing=False, rate=1.0, ack=True, have=(), version=None):
        self.feed.report(
            Clock(
                version=self.version if version is None else version,
                index=index,
                client="page",
                playing=playing,
                rate=rate,
                seq=self.seq() if ack else 0,
                have=frozenset(have),
                at=self.now,
            )
        )

    def drain(self):
        while self.feed.step():
            pass


@pytest.fixture
def page(monkeypatch):
    # The tests step the feed themselves: its worker thread must not race them.
    monkeypatch.setattr(threading.Thread, "start", lambda self: None)
    return Page()


def test_a_paused_playhead_gets_its_frame_first_then_its_neighbours(page):
    page.report(150)
    page.drain()
    assert page.frames == [150, *range(151, 151 + PAUSED_AHEAD), 149]
    message, buffers = page.sent[0]
    assert message == {"type": "frame", "version": 1, "index": 150, "seq": 1}
    assert buffers == [b"jpeg 1:150"]


def test_no_more_than_max_in_flight_frames_until_the_page_acknowledges(page):
    page = Page(lead_seconds=2.0)  # a lead longer than the bound
    bound = MAX_IN_FLIGHT
    page.report(0, playing=True, ack=False)
    page.drain()
    assert page.frames == list(range(bound))
    assert page.feed.in_flight == list(range(bound))
    assert not page.feed.step(), "nothing more while the bound is unacknowledged"
    page.report(0, playing=True, have=range(bound))  # the page got them all
    page.drain()
    assert page.frames[bound:] == list(range(bound, 2 * bound))


def test_a_playing_playhead_is_fed_its_lead_ahead_in_order(page):
    page.report(0, playing=True)
    for _ in range(20):
        page.drain()
        page.report(0, playing=True, have=page.frames)
    assert page.frames == list(range(round(LEAD_SECONDS * FPS)))


def test_frames_the_playhead_has_passed_are_not_composed(page):
    page.report(0, playing=True)
    page.now = 0.5  # the page played on for half a second without a report
    page.feed.step()
    assert page.frames == [15]


def test_frames_are_composed_for_where_the_playhead_will_be_when_they_arrive(page):
    page.report(0, ack=False)
    page.drain()
    page.now = 0.2  # the acknowledgements come back 200 ms after the frames left
    page.report(0, have=page.frames)
    assert 0.1 < page.feed.round_trip < 0.2  # each acknowledgement moves it on
    page.feed.round_trip = 0.2
    page.report(0, playing=True, have=())
    page.feed.step()
    assert page.frames[-1] == 6, "frame 6 is what the page shows 0.2 s from now"


def test_double_rate_reaches_twice_as_far():
    at_1x = len(lookahead(0, playing=True, rate=1.0, fps=FPS, frame_count=900))
    assert at_1x == round(LEAD_SECONDS * FPS)
    assert len(lookahead(0, playing=True, rate=2.0, fps=FPS, frame_count=900)) == 2 * at_1x
    assert len(lookahead(0, playing=True, rate=0.5, fps=FPS, frame_count=900)) == math.ceil(
        at_1x / 2
    )


def test_frames_the_page_holds_are_not_sent_again(page):
    page.report(10, have=[10, 11, 12])
    page.drain()
    assert page.frames == [*range(13, 11 + PAUSED_AHEAD), 9]


def test_a_seek_is_answered_with_the_new_frame_next(page):
    page.report(0, playing=True, ack=False)
    page.feed.step()
    page.feed.step()
    page.report(200)  # the designer clicked the timeline at 6.67 s
    page.feed.step()
    assert page.frames == [0, 1, 200]


def test_a_new_short_drops_the_old_frames_and_ignores_stale_reports(page):
    page.report(40)
    page.drain()
    page.version = 2
    page.feed.show(2, FPS, 300)
    page.report(40, have=[40, 41], version=1)  # the page still reports the old short
    page.feed.step()
    assert page.sent[-1][0]["version"] == 2
    assert page.sent[-1][0]["index"] == 40, "the old short's frames count for nothing"


def test_the_loop_wraps_the_prefetch_from_the_out_mark_to_the_in_mark(page):
    page.feed.set_loop((60, 90))
    page.report(85, playing=True)
    for _ in range(10):
        page.drain()
        page.report(85, playing=True, have=page.frames)
    assert page.frames[:5] == [85, 86, 87, 88, 89]
    assert page.frames[5:10] == [60, 61, 62, 63, 64]
    assert 90 not in page.frames


def test_outside_the_loop_the_prefetch_runs_on_to_the_end():
    frames = lookahead(95, playing=True, rate=1.0, fps=FPS, frame_count=100, loop=(60, 90))
    assert frames == [95, 96, 97, 98, 99]


def test_the_estimated_playhead_wraps_inside_the_loop():
    clock = Clock(1, 85, "page", True, 1.0, 0, frozenset(), at=0.0)
    assert playhead(clock, FPS, 300, (60, 90), now=0.0) == 85
    assert playhead(clock, FPS, 300, (60, 90), now=0.5) == 70  # 85 + 15 wraps to 60 + 10
    assert playhead(clock, FPS, 300, None, now=100.0) == 299


def test_a_frame_that_fails_is_not_asked_for_again(page):
    page.broken = {150}
    page.report(150)
    page.drain()
    assert 150 not in page.frames
    assert page.frames == [*range(151, 151 + PAUSED_AHEAD), 149]


def test_a_reloaded_page_is_not_left_waiting_for_the_old_pages_acknowledgements(page):
    page.report(0, playing=True, ack=False)
    page.drain()
    assert not page.feed.step()
    page.feed.report(Clock(1, 0, "reloaded", True, 1.0, 0, frozenset(), page.now))
    assert page.feed.step()


@pytest.mark.parametrize(
    "message, problem",
    [
        ({"version": 1}, "'index'"),
        ({"version": 1, "index": "3"}, "'index'"),
        ({"version": True, "index": 3}, "'version'"),
        ({"version": 1, "index": 3, "rate": 0}, "'rate'"),
        ({"version": 1, "index": 3, "have": "1,2"}, "'have'"),
    ],
)
def test_a_malformed_report_names_its_field(message, problem):
    with pytest.raises(ClockError, match=problem):
        Clock.from_message(message, 0.0)


def test_the_worker_thread_serves_a_report_by_itself():
    sent = threading.Event()
    frames = []

    def receive(message, buffers):
        frames.append(message["index"])
        if len(frames) == PAUSED_AHEAD + 2:
            sent.set()

    feed = FrameFeed(lambda version, index: b"x", receive)
    feed.show(1, FPS, 100)
    feed.report(Clock(1, 50, "page", False, 1.0, 0, frozenset(), 0.0))
    try:
        assert sent.wait(10), frames
        assert frames == [50, *range(51, 51 + PAUSED_AHEAD), 49]
    finally:
        feed.close()
