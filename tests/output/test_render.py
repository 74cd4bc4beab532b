"""The compositor: a real ffmpeg encode of small synthetic shorts, checked from the file."""

import json
import os
import signal
import sys
import threading
import time

import numpy as np
import pytest
from PIL import Image

from neuroshorts import captions, visuals
from neuroshorts.errors import RenderError
from neuroshorts.output import progress
from neuroshorts.output.cores import ENCODER_THREADS
from neuroshorts.output.encode import QUALITIES, encode, get_quality, render, thumbnail_time
from neuroshorts.scene import AudioTrack, Canvas, Layer, Patch, Short, Span
from support.media import decoded_audio, decoded_frames, probe, tone_short, x264_options
from support.process_groups import children

pytestmark = pytest.mark.render

AVCOL_SPC_BT709 = 1
linux = pytest.mark.skipif(sys.platform != "linux", reason="CPU policies as Linux has them")


@pytest.fixture
def short(tmp_path):
    """Two seconds of tone under a moving background, a title and captions."""
    return tone_short(tmp_path, "builtin:aurora")


def test_draft_render_is_h264_aac_at_half_size_and_exact_length(short, tmp_path):
    manifest = render(short, tmp_path / "out" / "clip.mp4", quality="draft", progress=False)
    info = probe(manifest.video)
    assert (info.video_codec, info.pix_fmt, info.width, info.height) == (
        "h264",
        "yuv420p",
        540,
        960,
    )
    assert info.fps == 30 and info.frames == 75
    assert info.color_matrix == str(AVCOL_SPC_BT709)
    assert info.duration == pytest.approx(2.5, abs=1 / 30)
    assert (info.audio_codec, info.audio_rate) == ("aac", 48000)
    assert info.audio_duration == pytest.approx(2.5, abs=0.05)


def test_the_frame_count_goes_to_the_progress_file_and_the_manifest_shows_as_json(
    short, tmp_path, monkeypatch
):
    """A template's kernel is given a progress file (its runner reads it for the bar)."""
    counts = tmp_path / "progress.txt"
    monkeypatch.setenv(progress.ENV, str(counts))
    manifest = render(short, tmp_path / "clip.mp4", quality="draft", progress=False)
    assert progress.read(counts) == (75, 75), "the last frame is always written"
    shown = manifest._repr_json_()  # what an executed notebook records of the render
    assert json.loads(json.dumps(shown)) == shown and shown["video"] == manifest.video


@pytest.mark.parametrize("threads", ["1", "2"])
def test_x264_encodes_on_the_threads_the_setting_gives(short, tmp_path, monkeypatch, threads):
    monkeypatch.setenv(ENCODER_THREADS, threads)
    render(short, tmp_path / "clip.mp4", quality="draft", progress=False)
    assert x264_options(tmp_path / "clip.mp4")["threads"] == threads


def test_audio_carries_the_narration_then_silence(short, tmp_path):
    render(short, tmp_path / "clip.mp4", quality="draft", progress=False)
    samples, rate = decoded_audio(tmp_path / "clip.mp4")
    voiced = np.abs(samples[int(0.2 * rate) : int(1.8 * rate)]).mean()
    tail = np.abs(samples[int(2.1 * rate) : int(2.4 * rate)]).mean()
    assert voiced > 0.1 and tail < 0.001


def test_encoded_frames_are_the_frames_of_the_scene(short, tmp_path):
    """Short.frame(t) is what the encoder got: equal up to codec loss."""
    manifest = render(short, tmp_path / "clip.mp4", quality="final", progress=False)
    decoded = decoded_frames(manifest.video, {0, 20, 45, 74})
    for index, pixels in decoded.items():
        ours = short.frame(index / 30).astype(int)
        assert pixels.shape == ours.shape == (1920, 1080, 3)
        assert np.abs(pixels.astype(int) - ours).mean() < 2.5, f"frame {index}"


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255**2 / mse) if mse else float("inf")


def test_preview_frames_match_decoded_frames_at_35_db(short, tmp_path):
    """Acceptance: for 10 random t, PSNR(Short.frame(t), decoded frame) >= 35 dB."""
    manifest = render(short, tmp_path / "clip.mp4", quality="final", progress=False)
    indices = set(np.random.default_rng(7).choice(75, size=10, replace=False).tolist())
    decoded = decoded_frames(manifest.video, indices)
    assert len(decoded) == 10
    for index, pixels in decoded.items():
        assert psnr(pixels, short.frame(index / 30)) >= 35, f"frame {index}"


@pytest.mark.parametrize(("aspect", "size"), [("1:1", (540, 540)), ("16:9", (960, 540))])
def test_other_aspects_render_at_their_own_size(aspect, size, tmp_path):
    layers = [visuals.background("builtin:aurora", Span(0, 1)), visuals.TitleCard("Hola")]
    short = Short(Canvas.for_aspect(aspect), layers=layers, duration=1.0)
    manifest = render(short, tmp_path / "clip.mp4", quality="draft", progress=False)
    assert (manifest.width, manifest.height) == size
    assert (probe(manifest.video).width, probe(manifest.video).height) == size


def test_file_is_faststart_and_extras_sit_beside_it(short, tmp_path):
    words = short.audio.words
    pages = captions.paginate(words)
    manifest = render(short, tmp_path / "clip.mp4", quality="draft", captions=pages, progress=False)
    head = (tmp_path / "clip.mp4").read_bytes()[:200_000]
    assert head.find(b"moov") < head.find(b"mdat"), "moov atom must precede the media data"
    written = json.loads((tmp_path / "clip.json").read_text())
    assert written["width"] == 540 and written["duration"] == pytest.approx(2.5)
    assert written["captions"][0] == {"text": "uno dos tres", "start": 0.0, "end": 1.5}
    assert (tmp_path / "clip.srt").read_text().startswith("1\n00:00:00,000 --> 00:00:01,500\n")
    assert (
        manifest.thumbnail == str(tmp_path / "clip.jpg") and (tmp_path / "clip.jpg").stat().st_size
    )
    assert set(manifest.stages) == {"encode", "extras"}


class Exploding(Layer):
    span = Span()

    def patch(self, t, canvas):
        if t > 0.5:
            raise RuntimeError("layer broke mid-render")


def test_a_failing_layer_leaves_no_file_behind(tmp_path):
    short = Short(Canvas(), layers=[Exploding()], duration=1.0)
    with pytest.raises(RuntimeError, match="mid-render"):
        encode(
            short.resized(Canvas(108, 192)),
            tmp_path / "broken.mp4",
            QUALITIES["draft"],
            progress=False,
        )
    assert list(tmp_path.iterdir()) == []


class Watching(Layer):
    """Notes, for every frame composed, its thread's CPU policy and ffmpeg's; at frame
    `interrupt_at` it interrupts the caller's thread as Ctrl+C or a kernel interrupt does."""

    span = Span()

    def __init__(self, interrupt_at: int | None = None) -> None:
        self.interrupt_at = interrupt_at
        self.policies: list[tuple[int, list[int]]] = []

    def patch(self, t, canvas):
        encoders = children(os.getpid(), "ffmpeg")
        self.policies.append(
            (os.sched_getscheduler(0), [os.sched_getscheduler(pid) for pid in encoders])
        )
        if len(self.policies) == self.interrupt_at:
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        time.sleep(0.01)  # a layer with some work to it, so an interrupt finds frames still to go


def composing_threads() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("compose")]


@linux
def test_frames_are_composed_at_idle_priority_behind_ffmpeg_and_the_caller_keeps_its_own(tmp_path):
    """x264 gets the CPU first (docs/decisions/compositor.md); the caller is not lowered."""
    layer = Watching()
    short = Short(Canvas(108, 192), layers=[layer], duration=0.5)
    encode(short, tmp_path / "clip.mp4", QUALITIES["draft"], progress=False)
    assert len(layer.policies) == 15
    assert {policy for policy, _ in layer.policies} == {os.SCHED_IDLE}
    assert {tuple(encoders) for _, encoders in layer.policies} == {(os.SCHED_OTHER,)}
    assert os.sched_getscheduler(0) == os.SCHED_OTHER and composing_threads() == []


@pytest.fixture
def interruptible():
    """SIGINT raising KeyboardInterrupt, as in a kernel running a cell (xdist's workers
    ignore it)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@linux
def test_an_interrupted_render_stops_composing_and_leaves_no_encoder_and_no_file(
    tmp_path, interruptible
):
    layer = Watching(interrupt_at=5)
    short = Short(Canvas(108, 192), layers=[layer], duration=3.0)
    with pytest.raises(KeyboardInterrupt):
        encode(short, tmp_path / "clip.mp4", QUALITIES["draft"], progress=False)
    assert len(layer.policies) <= 6, "the frame being composed is the last"
    assert composing_threads() == [] and children(os.getpid(), "ffmpeg") == []
    assert list(tmp_path.iterdir()) == []


def test_ffmpeg_failure_is_reported_and_leaves_no_file(tmp_path):
    (tmp_path / "bad.wav").write_bytes(b"RIFF0000WAVEjunk")
    short = Short(Canvas(108, 192), AudioTrack(str(tmp_path / "bad.wav"), 1.0), duration=1.0)
    with pytest.raises(RenderError, match="ffmpeg failed to encode clip.mp4"):
        encode(short, tmp_path / "clip.mp4", QUALITIES["draft"], progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.wav"]


def test_unknown_quality_names_the_field():
    with pytest.raises(ValueError, match="quality: 'best' is not one of draft, final"):
        get_quality("best")


def test_the_thumbnail_shows_the_headline_fully_on_screen():
    canvas = Canvas(64, 112)
    still = visuals.background("solid:#000000", Span(0, 8))
    hook = visuals.TitleCard("Hook", Span(2, 4))
    cta = visuals.EndCard("Follow", Span(6, 8))
    assert thumbnail_time(Short(canvas, layers=[still, cta, hook], duration=8)) == 3.0
    assert thumbnail_time(Short(canvas, layers=[still, cta], duration=8)) == 1.5
    assert thumbnail_time(Short(canvas, layers=[still], duration=2)) == 1.0


def test_a_chosen_thumbnail_time_is_the_frame_in_the_jpeg(short, tmp_path):
    manifest = render(short, tmp_path / "t.mp4", quality="draft", thumbnail_at=2.2, progress=False)
    thumb = np.asarray(Image.open(manifest.thumbnail).convert("RGB")).astype(int)
    expected = short.resized(Canvas(540, 960)).frame(2.2).astype(int)
    assert np.abs(thumb - expected).mean() < 3  # JPEG loss only
    with pytest.raises(RenderError, match=r"thumbnail_at: 9\.0 s is outside the short"):
        render(short, tmp_path / "late.mp4", quality="draft", thumbnail_at=9.0, progress=False)
    assert not (tmp_path / "late.mp4").exists()


class FrameNumber(Layer):
    """A grey whose level counts the frames (three levels a frame): which frame is which."""

    span = Span(0, 2.5)  # 75 frames: the last is 222

    def patch(self, t: float, canvas: Canvas) -> Patch:
        level = round(t * canvas.fps) * 3
        return Patch(np.full((canvas.height, canvas.width, 3), level, np.uint8), changing=True)


@pytest.mark.parametrize("at", [2.2, 2.21])
def test_the_thumbnail_is_the_encoded_frame_nearest_its_time(tmp_path, at):
    short = Short(Canvas(), layers=[FrameNumber()], duration=2.5)
    manifest = render(short, tmp_path / "n.mp4", quality="draft", thumbnail_at=at, progress=False)
    level = np.asarray(Image.open(manifest.thumbnail).convert("L"), dtype=float).mean()
    assert level == pytest.approx(66 * 3, abs=1.5)  # frame 66; its neighbours are 3 away
