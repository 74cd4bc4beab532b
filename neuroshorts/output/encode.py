"""Compositor: stream a `Short`'s frames into ffmpeg and write the finished short.

Frames come from `Short.planes`, composed in yuv420p, the encoder's own format; the
studio preview shows the same frames converted to RGB (`Short.frame`). They are piped
raw into the ffmpeg that imageio-ffmpeg ships, one at a time, lent to a widened pipe
rather than copied into it (`framepipe.py`), composed on one thread that takes only the
CPU x264's threads leave: memory stays flat however long the video is, ffmpeg does no
pixel conversion, and x264 gets nearly all of the CPU (the measurements behind each
choice: docs/decisions/compositor.md).

Every file is written under a temporary name and moved into place only when complete,
so a failed render never leaves a playable-looking half video.
"""

from __future__ import annotations

import logging
import os
import platform
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from importlib.metadata import version
from pathlib import Path

import cv2
import imageio_ffmpeg
from PIL import Image
from tqdm import tqdm

import neuroshorts
from neuroshorts.captions import CaptionLayer, Page, write_sidecars
from neuroshorts.errors import RenderError
from neuroshorts.output.bundle import Bundle
from neuroshorts.output.cores import encoder_threads
from neuroshorts.output.files import atomic_path, write_text_atomic
from neuroshorts.output.framepipe import FramePipe
from neuroshorts.output.idle import run_when_idle
from neuroshorts.output.manifest import CaptionCue, Manifest
from neuroshorts.output.memory import KEEP_FREED
from neuroshorts.output.progress import FrameCounter
from neuroshorts.output.timing import Stages
from neuroshorts.scene import Short
from neuroshorts.scene.planes import Planes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Quality:
    """Output size and x264 settings for one quality level."""

    name: str
    scale: float
    preset: str
    crf: int
    audio_bitrate: str = "160k"


QUALITIES = {
    # Half size and the fastest preset: for checking timing and layout, not for posting.
    "draft": Quality("draft", 0.5, "ultrafast", 26),
    # Full 1080x1920. Measured on 10 s of the reference short (Ken Burns photo, title,
    # captions): veryfast at CRF 18 matched medium at CRF 20 in SSIM (0.9965 vs 0.9970)
    # and in size (2.1 vs 2.0 MB per 10 s) at about a third of the encode time, and the
    # platforms re-encode every upload anyway. Faster presets than veryfast tripled the
    # file for no visible gain.
    "final": Quality("final", 1.0, "veryfast", 18),
}


def get_quality(name: str) -> Quality:
    if name not in QUALITIES:
        raise ValueError(f"quality: {name!r} is not one of {', '.join(QUALITIES)}")
    return QUALITIES[name]


#: Frames are composed as BT.709 limited-range YUV (see `neuroshorts.scene.planes`); saying so
#: on input and output keeps ffmpeg from converting and players from guessing.
_BT709_TV = [
    "-colorspace",
    "bt709",
    "-color_primaries",
    "bt709",
    "-color_trc",
    "bt709",
    "-color_range",
    "tv",
]


def ffmpeg_command(
    short: Short, output: Path, quality: Quality, threads: int | None = None
) -> list[str]:
    """The ffmpeg invocation that encodes raw yuv420p frames from stdin plus the audio,
    x264 on `threads` threads (None: its own)."""
    canvas = short.canvas
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "yuv420p",
        "-video_size",
        f"{canvas.width}x{canvas.height}",
        "-framerate",
        str(canvas.fps),
        *_BT709_TV,
        "-i",
        "pipe:0",
    ]
    if short.audio is not None:
        command += ["-i", short.audio.path, "-map", "0:v", "-map", "1:a"]
        # The narration ends before the video's tail: pad it with silence to the end.
        command += ["-af", "apad", "-c:a", "aac", "-b:a", quality.audio_bitrate]
        command += ["-ar", "48000", "-ac", "2"]
    command += [
        *_BT709_TV,
        "-c:v",
        "libx264",
        *(["-threads:v", str(threads)] if threads else []),
        "-preset",
        quality.preset,
        "-crf",
        str(quality.crf),
        "-movflags",
        "+faststart",
        "-t",
        f"{short.frame_count / canvas.fps:.6f}",
        str(output),
    ]
    return command


def encode(
    short: Short,
    output: str | Path,
    quality: Quality,
    *,
    progress: bool = True,
    keep: int | None = None,
) -> Planes | None:
    """Encode `short` (at its own canvas size) to an H.264/AAC MP4 at `output`; return
    frame number `keep` as it was encoded, if asked for. That is the thumbnail's: composed
    again after the encode, its caption state long forgotten, it took 20 ms of the tail."""
    output = Path(output)
    kept: list[Planes] = []
    with (
        atomic_path(output) as partial,
        tempfile.TemporaryFile() as errors,
        encoder_threads() as threads,
    ):
        command = ffmpeg_command(short, partial, quality, threads)
        log.debug("ffmpeg: %s", " ".join(command))
        # Not a settings read: ffmpeg's environment, this one's over its malloc's defaults.
        environment = KEEP_FREED | os.environ
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=errors, env=environment)
        frames = FramePipe(process.stdin)
        try:
            with opencv_on_one_thread():
                label = f"render {output.name}"
                run_when_idle(lambda stop: _feed(short, frames, label, progress, stop, keep, kept))
            frames.close()
        except BrokenPipeError:
            pass  # ffmpeg exited early; its exit status and stderr say why
        except BaseException:
            process.kill()
            process.wait()
            raise
        status = process.wait()
        frames.release()  # ffmpeg has read every frame it ever will
        if status != 0:
            errors.seek(0)
            message = errors.read().decode(errors="replace").strip()
            raise RenderError(f"ffmpeg failed to encode {output.name}: {message}")
    log.info("wrote %s (%d frames)", output, short.frame_count)
    return kept[0] if kept else None


def _feed(
    short: Short,
    pipe: FramePipe,
    label: str,
    progress: bool,
    stop: threading.Event,
    keep: int | None,
    kept: list[Planes],
) -> None:
    """Compose every frame of `short` into `pipe`, unless `stop` is set first; frame
    number `keep` goes into `kept` too (frames are never written after they are sent)."""
    frames = tqdm(
        short.times(),
        total=short.frame_count,
        unit="frame",
        desc=label,
        disable=not progress,
        mininterval=1.0,
    )
    counter = FrameCounter(short.frame_count)
    for done, t in enumerate(frames, 1):
        if stop.is_set():
            return
        planes = short.planes(t)
        pipe.send(planes.buffer)
        if done - 1 == keep:
            kept.append(planes)
        counter.update(done)


@contextmanager
def opencv_on_one_thread() -> Iterator[None]:
    """OpenCV's own threads set to one inside the block (how frames are composed while
    they are encoded), and back to what they were after it."""
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(threads)


def versions() -> dict[str, str]:
    return {
        "neuroshorts": neuroshorts.__version__,
        "python": platform.python_version(),
        "ffmpeg": imageio_ffmpeg.get_ffmpeg_version(),
        "piper-tts": version("piper-tts"),
    }


def render(
    short: Short,
    output: str | Path,
    *,
    quality: str = "final",
    captions: Sequence[Page] = (),
    stages: Stages | None = None,
    narration_duration: float | None = None,
    thumbnail_at: float | None = None,
    progress: bool = True,
) -> Manifest:
    """Render `short` to `output` with its thumbnail, caption sidecars and manifest beside it.

    The short is laid out at the quality's size (draft is half of final), so one
    template serves both. `captions` become SRT, WebVTT and ASS files styled like the
    short's caption layer. `narration_duration` records how long the voice speaks (the
    soundtrack runs on under music). The thumbnail is the frame at `thumbnail_at`
    seconds, else the one `thumbnail_time` picks. Returns the manifest that was written.
    """
    settings = get_quality(quality)
    output = Path(output).resolve()
    stages = stages or Stages()
    sized = short.resized(short.canvas.scaled(settings.scale))
    at = thumbnail_time(sized) if thumbnail_at is None else thumbnail_at
    if not 0 <= at < sized.duration:
        raise RenderError(
            f"thumbnail_at: {at!r} s is outside the short; expected 0 to {sized.duration:.2f} s"
        )
    keep = min(round(at * sized.canvas.fps), sized.frame_count - 1)  # the frame nearest `at`
    with stages("encode"):
        frame = encode(sized, output, settings, progress=progress, keep=keep)
    with stages("extras"):
        bundle = Bundle(output)
        with atomic_path(bundle.thumbnail) as partial:
            Image.fromarray(frame.to_rgb()).save(partial, "JPEG", quality=90)
        layer = next((lay for lay in sized.layers if isinstance(lay, CaptionLayer)), None)
        sidecars = write_sidecars(captions, output, sized.canvas, layer) if captions else {}
    manifest = Manifest(
        video=str(output),
        duration=sized.frame_count / sized.canvas.fps,
        width=sized.canvas.width,
        height=sized.canvas.height,
        fps=sized.canvas.fps,
        quality=settings.name,
        narration_duration=narration_duration,
        **{kind: str(path) for kind, path in sidecars.items()},
        captions=[
            CaptionCue(text=page.text, start=round(page.start, 3), end=round(page.end, 3))
            for page in captions
        ],
        thumbnail=str(bundle.thumbnail),
        stages=stages.seconds,
        versions=versions(),
    )
    write_text_atomic(bundle.manifest, manifest.model_dump_json(indent=2))
    return manifest


def thumbnail_time(short: Short) -> float:
    """When the thumbnail is taken: the middle of the first headline layer's time on
    screen (a hook title or quote card, fully faded in), else 1.5 s in, when the first
    caption and the opening picture are up."""
    for layer in short.layers:
        if layer.headline:
            start, end = layer.span.start, min(layer.span.end, short.duration)
            if start < end:
                return (start + end) / 2
    return min(1.5, short.duration / 2)


def preview(short: Short, t: float, width: int = 540) -> Image.Image:
    """The frame at `t` laid out at preview size, as an image a notebook displays."""
    height = 2 * round(width * short.canvas.height / short.canvas.width / 2)
    sized = short.resized(replace(short.canvas, width=width, height=height))
    return Image.fromarray(sized.frame(t))
