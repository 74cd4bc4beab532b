"""Benchmark: our render of a 30 s final-quality short against the encode floor.

ours   `neuroshorts.render.render` of a 30 s 1080x1920 short built like the explainer
       template (Ken Burns over the bundled image, title card, word captions, Piper
       narration): frames composed in Python, streamed into x264.
floor  ffmpeg decoding that very MP4 and re-encoding its frames and audio with the same
       x264/AAC settings: what the encoder alone costs for this content (plus a decode).

Both run in this process, one after the other, so the ratio compares like with like on
whatever machine runs it. Usage: python bench/render.py [--seconds 30] [--quality final]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg

from neuroshorts.engines import audio, subtitle, visuals
from neuroshorts.render import get_quality, render
from neuroshorts.scene import Canvas, Short, Span

SCRIPT = (
    "Octopuses are stranger than they look. Each one has three hearts and blue blood. "
    "Two hearts push blood through the gills, while the third sends it around the body. "
    "Two thirds of an octopus's neurons live in its arms, so each arm can taste, touch "
    "and decide on its own. They change colour in a fraction of a second, yet most of "
    "them are colour blind. And when food runs short, some will even eat their own arms."
)


def build_short(workdir: Path, seconds: float) -> tuple[Short, list[subtitle.Page]]:
    narration = audio.narrate(SCRIPT, workdir / "narration.wav")
    pages = subtitle.paginate(narration.words)
    layers = [
        visuals.background("builtin:aurora", Span(0, seconds)),
        visuals.TitleCard("Eight arms, three hearts", Span(0, 3.0)),
        subtitle.CaptionLayer(pages),
    ]
    return Short(Canvas(), narration.track(), layers, duration=seconds), pages


def floor(video: Path, out: Path, quality: str) -> float:
    settings = get_quality(quality)
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-i",
        str(video),
        "-c:v",
        "libx264",
        "-preset",
        settings.preset,
        "-crf",
        str(settings.crf),
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-b:a",
        settings.audio_bitrate,
        "-movflags",
        "+faststart",
        str(out),
    ]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--quality", default="final")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="neuroshorts-bench-") as tmp:
        workdir = Path(tmp)
        short, pages = build_short(workdir, args.seconds)
        started = time.perf_counter()
        manifest = render(
            short, workdir / "ours.mp4", quality=args.quality, captions=pages, progress=False
        )
        ours = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        base = floor(workdir / "ours.mp4", workdir / "floor.mp4", args.quality)

    frames = round(manifest.duration * manifest.fps)
    print(f"short: {manifest.duration:.1f} s, {manifest.width}x{manifest.height}, {frames} frames")
    print(f"ours : {ours:6.1f} s  ({frames / ours:5.1f} fps, peak RSS {peak_mb:.0f} MB)")
    print(f"floor: {base:6.1f} s  ({frames / base:5.1f} fps, ffmpeg re-encoding our frames)")
    print(f"ratio: {ours / base:.2f}x the encode floor")


if __name__ == "__main__":
    main()
