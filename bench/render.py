"""Benchmark: our render of a 30 s final-quality short against the encode floor and MoviePy.

ours     `neuroshorts.render` of a 30 s 1080x1920 short built like the explainer
         template (Ken Burns over the bundled image, title card, word captions, Piper
         narration; narration is synthesised before timing starts).
floor    ffmpeg decoding that very MP4 and re-encoding its frames and audio with the same
         x264/AAC settings: what the encoder alone costs for this content (plus a decode).
x264     our exact frames, composed beforehand into a raw file, encoded by the same ffmpeg
         command as ours: the encoder with no compositor at all. No renderer at this
         preset can be faster, so MoviePy's time over it bounds any speed-up against MoviePy.
moviepy  MoviePy `CompositeVideoClip` of the same composition (the same background image
         zoomed about its centre, the same title and caption artwork, the same audio),
         written with the same x264 preset and CRF.
cli      optional (`--cli`): the whole `neuroshorts render explainer` of the same script
         (kernel start, narration from the cache, encode), against x264 alone encoding
         that render's own frames ("x264 cli"): the template's short lasts as long as its
         narration (~25 s, not 30 s) and has word-highlighted captions. Both also report
         their CPU (every process: command, kernel, ffmpeg), and with it the CLI's floor
         on this machine: its CPU spread over every core, the soonest any schedule of
         that work could finish. Its parts, from the render's manifest: the encode stage
         (frames composed as x264 encodes them) over x264 alone, and the rest of the wall
         time (kernel start, soundtrack, the tail after the last frame).
compositor  the compositor's own cost, whatever the encoder: CPU milliseconds per frame
         to compose every frame of the short (all threads, no encode, no pipe), at the
         quality's size and at draft size.

Each round runs every contender once, back to back, so a busy machine slows them alike;
figures are medians over `--runs` rounds. Peak RSS is measured in a fresh process per
duration (30 s and 120 s, the script repeated to fill it), after the narration is cached,
so it is the compositor's memory, not the voice model's.

Usage: python bench/render.py [--runs 3] [--seconds 30] [--quality final] [--cli]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import imageio_ffmpeg

from neuroshorts import audio, captions, visuals
from neuroshorts.kernels.prestart import KERNEL_ENV
from neuroshorts.output.bundle import Bundle
from neuroshorts.output.encode import ffmpeg_command, get_quality, opencv_on_one_thread, render
from neuroshorts.output.memory import KEEP_FREED
from neuroshorts.scene import Canvas, Short, Span

SCRIPT = (
    "Octopuses are stranger than they look. Each one has three hearts and blue blood. "
    "Two hearts push blood through the gills, while the third sends it around the body. "
    "Two thirds of an octopus's neurons live in its arms, so each arm can taste, touch "
    "and decide on its own. They change colour in a fraction of a second, yet most of "
    "them are colour blind. And when food runs short, some will even eat their own arms."
)
TITLE = "Eight arms, three hearts"
ZOOM = (1.0, 1.12)
#: The explainer template's parameters for the same script, as the CLI and the service render it.
PARAMETERS = {"script": SCRIPT, "title": TITLE, "quality": "final"}


@contextmanager
def template_short(parameters: dict) -> Iterator[Short]:
    """The short the explainer template builds for `parameters`, built in this process:
    its cells run up to the one that makes `short` (the render cell is not run). The
    cells' namespace, which owns the soundtrack's folder, lives as long as the block.
    Imported here: the peak-RSS child imports this file, and these imports add 30 MB to it."""
    import nbformat

    from neuroshorts import templates

    notebook = nbformat.read(templates.find("explainer"), as_version=4)
    namespace: dict = {}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        exec(cell.source, namespace)
        if "parameters" in cell.metadata.get("tags", []):
            namespace.update(parameters)
        if "short" in namespace:
            yield namespace["short"]
            return
    raise SystemExit("the explainer template made no `short`")


def script_for(seconds: float) -> str:
    """The script repeated to fill `seconds` (it runs about 30 s once)."""
    return " ".join([SCRIPT] * max(1, math.ceil(seconds / 30)))


def build_short(workdir: Path, seconds: float) -> tuple[Short, list[captions.Page]]:
    narration = audio.narrate(script_for(seconds), workdir / "narration.wav")
    pages = captions.paginate(narration.words)
    layers = [
        visuals.background("builtin:aurora", Span(0, seconds), zoom=ZOOM[1]),
        visuals.TitleCard(TITLE, Span(0, 3.0)),
        captions.CaptionLayer(pages),
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
    return _timed(lambda: subprocess.run(command, check=True))


def raw_frames(short: Short, quality: str, out: Path) -> Short:
    """Write `short`'s frames at `quality`'s size to `out` as raw yuv420p; the sized short.

    The file (gigabytes) is on disk when this returns: left to the kernel's write-back, it
    slowed what was timed next (the first round's CLI kernel start, 0.7 -> 1.7 s)."""
    sized = short.resized(short.canvas.scaled(get_quality(quality).scale))
    with open(out, "wb") as raw:
        for t in sized.times():
            raw.write(sized.planes(t).buffer.data)
        raw.flush()
        os.fsync(raw.fileno())
    return sized


def compositor_ms(short: Short, quality: str) -> float:
    """CPU milliseconds (every thread of this process) to compose one frame of `short` at
    `quality`'s size as the encode does, averaged over all its frames; artwork is
    rasterised beforehand."""
    sized = short.resized(short.canvas.scaled(get_quality(quality).scale))
    for t in sized.times():  # first rasterisation of every caption and title state
        sized.planes(t)
    with opencv_on_one_thread():
        started = time.process_time()
        for t in sized.times():
            sized.planes(t)
        return (time.process_time() - started) * 1000 / sized.frame_count


def encoder_alone(sized: Short, raw: Path, out: Path, quality: str) -> float:
    """Our own ffmpeg command in our ffmpeg's environment, its stdin the composed frames in
    `raw` (ffmpeg reads a pipe faster than it reads the same file by name)."""
    command = ffmpeg_command(sized, out, get_quality(quality))
    environment = KEEP_FREED | os.environ
    with open(raw, "rb") as frames:
        return _timed(lambda: subprocess.run(command, stdin=frames, check=True, env=environment))


def moviepy_render(short: Short, pages: list[captions.Page], out: Path, quality: str) -> float:
    """The same composition through MoviePy, timed from clip building to the written file."""
    from moviepy import AudioFileClip, CompositeVideoClip, ImageClip, vfx

    settings = get_quality(quality)
    canvas = short.canvas.scaled(settings.scale)
    background, title, captions = short.layers
    base = background.picture(canvas).to_rgb()

    def scale(t: float) -> float:
        progress = visuals.ease_in_out(t / short.duration)
        return (ZOOM[0] + (ZOOM[1] - ZOOM[0]) * progress) / ZOOM[1]

    def build_and_write() -> None:
        clips = [
            ImageClip(base, duration=short.duration)
            .with_effects([vfx.Resize(scale)])
            .with_position("center")
        ]
        card = title.patch(1.0, canvas)
        clips.append(
            ImageClip(card.pixels, duration=title.span.duration)
            .with_position((card.x, card.y))
            .with_effects([vfx.CrossFadeIn(title.fade), vfx.CrossFadeOut(title.fade)])
        )
        for page in pages:
            patch = captions.patch(page.start, canvas)
            clips.append(
                ImageClip(patch.pixels, duration=page.end - page.start)
                .with_start(page.start)
                .with_position((patch.x, patch.y))
            )
        video = CompositeVideoClip(clips, size=(canvas.width, canvas.height), bg_color=(0, 0, 0))
        video = video.with_duration(short.duration).with_audio(AudioFileClip(short.audio.path))
        video.write_videofile(
            str(out),
            fps=canvas.fps,
            codec="libx264",
            preset=settings.preset,
            ffmpeg_params=["-crf", str(settings.crf)],
            audio_codec="aac",
            audio_bitrate=settings.audio_bitrate,
            logger=None,
        )

    return _timed(build_and_write)


def cli_render(out: Path, quality: str) -> float:
    """The whole `neuroshorts render` of the explainer template with the bench's script."""
    command = [
        str(Path(sys.executable).with_name("neuroshorts")),
        "render",
        "explainer",
        "-p",
        "script",
        SCRIPT,
        "-p",
        "title",
        TITLE,
        "-p",
        "quality",
        quality,
        "-o",
        str(out),
    ]
    return _timed(lambda: subprocess.run(command, check=True, capture_output=True))


def peak_rss(seconds: float, quality: str) -> dict[str, float]:
    """Render in a fresh process with a render kernel's environment and report its peak
    RSS (and ffmpeg's) in MB."""
    command = [sys.executable, __file__, "--rss-child", str(seconds), "--quality", quality]
    environment = KERNEL_ENV | os.environ
    result = subprocess.run(command, check=True, capture_output=True, text=True, env=environment)
    return json.loads(result.stdout.splitlines()[-1])


def rss_child(seconds: float, quality: str) -> None:
    """Render, and print this process's peak RSS and its ffmpeg's, in MB.

    Read from VmHWM, not `ru_maxrss`: the kernel folds into a child's `ru_maxrss` the
    memory of the parent it was forked from (it records the old image's peak at exec), so
    `ru_maxrss` showed this process with the benchmark's 790 MB and ffmpeg with this
    process's size.
    """
    ffmpeg_peak = 0.0
    done = threading.Event()

    def watch_children() -> None:
        nonlocal ffmpeg_peak
        while not done.wait(0.1):
            for child in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
                for pid in child.read_text().split():
                    ffmpeg_peak = max(ffmpeg_peak, high_water_mb(pid))

    watcher = threading.Thread(target=watch_children, daemon=True)
    watcher.start()
    with tempfile.TemporaryDirectory(prefix="neuroshorts-bench-") as tmp:
        short, pages = build_short(Path(tmp), seconds)
        render(short, Path(tmp) / "rss.mp4", quality=quality, captions=pages, progress=False)
    done.set()
    watcher.join()
    own = high_water_mb("self")
    print(json.dumps({"python_mb": round(own), "ffmpeg_mb": round(ffmpeg_peak)}))


def high_water_mb(pid: str) -> float:
    """Peak resident memory of process `pid` ("self" for this one) in MB; 0 once gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    line = next((line for line in status.splitlines() if line.startswith("VmHWM:")), "")
    return int(line.split()[1]) / 1024 if line else 0.0


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def children_cpu() -> float:
    """CPU seconds of every child process this one has waited for (and of theirs)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--quality", default="final")
    parser.add_argument("--moviepy-runs", type=int, help="default: --runs; 0 skips MoviePy")
    parser.add_argument("--cli", action="store_true", help="also time `neuroshorts render`")
    parser.add_argument("--rss-seconds", type=float, nargs="*", default=[30.0, 120.0])
    parser.add_argument("--rss-child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child, args.quality)
        return
    moviepy_runs = args.runs if args.moviepy_runs is None else args.moviepy_runs

    times: dict[str, list[float]] = {
        "ours": [],
        "floor": [],
        "x264": [],
        "moviepy": [],
        "cli": [],
        "x264 cli": [],
    }
    cpu: dict[str, list[float]] = {"cli": [], "x264 cli": []}
    #: Each round's CLI split into its encode stage, over x264 alone on the same frames, and
    #: the rest of its wall time (kernel start, soundtrack, the tail after the last frame).
    cli_parts: dict[str, list[float]] = {"encode": [], "rest": []}
    with tempfile.TemporaryDirectory(prefix="neuroshorts-bench-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        for seconds in args.rss_seconds:  # warm the narration cache for the RSS children
            audio.narrate(script_for(seconds), workdir / "warm.wav")
        short, pages = build_short(workdir, args.seconds)
        compositor = {q: compositor_ms(short, q) for q in dict.fromkeys([args.quality, "draft"])}
        raw = workdir / "frames.yuv"
        sized = raw_frames(short, args.quality, raw)
        if args.cli:  # the CLI renders the template's own short: its baseline is that short's
            cli_raw = workdir / "cli-frames.yuv"
            parameters = {**PARAMETERS, "quality": args.quality, "output": ""}
            cli_short = stack.enter_context(template_short(parameters))  # owns its soundtrack
            cli_sized = raw_frames(cli_short, args.quality, cli_raw)
        for run in range(args.runs):
            ours = workdir / "ours.mp4"
            started = time.perf_counter()
            render(short, ours, quality=args.quality, progress=False)
            times["ours"].append(time.perf_counter() - started)
            times["floor"].append(floor(ours, workdir / "floor.mp4", args.quality))
            times["x264"].append(encoder_alone(sized, raw, workdir / "x264.mp4", args.quality))
            if run < moviepy_runs:
                mp4 = workdir / "moviepy.mp4"
                times["moviepy"].append(moviepy_render(short, pages, mp4, args.quality))
            if args.cli:
                before = children_cpu()
                times["cli"].append(cli_render(workdir / "cli.mp4", args.quality))
                cpu["cli"].append(children_cpu() - before)
                before = children_cpu()
                x264_cli = encoder_alone(cli_sized, cli_raw, workdir / "x264-cli.mp4", args.quality)
                times["x264 cli"].append(x264_cli)
                cpu["x264 cli"].append(children_cpu() - before)
                manifest = json.loads(Bundle(workdir / "cli.mp4").manifest.read_text())
                cli_parts["encode"].append(manifest["stages"]["encode"] / x264_cli)
                cli_parts["rest"].append(times["cli"][-1] - manifest["stages"]["encode"])
            print(
                f"run {run + 1}: "
                + ", ".join(
                    f"{name} {values[-1]:.1f} s" for name, values in times.items() if values
                ),
                flush=True,
            )
        frames = short.frame_count
    rss = {seconds: peak_rss(seconds, args.quality) for seconds in args.rss_seconds}

    median = {name: statistics.median(values) for name, values in times.items() if values}
    size = short.canvas.scaled(get_quality(args.quality).scale)
    print(f"short: {args.seconds:.0f} s, {size.width}x{size.height}, {frames} frames")
    print(f"load : {os.getloadavg()[0]:.2f} (1-min average at the end), {os.cpu_count()} cores")
    for name, value in median.items():
        runs = ", ".join(f"{v:.1f}" for v in times[name])
        count = cli_sized.frame_count if "cli" in name else frames
        print(f"{name:8s}: {value:6.1f} s median ({count / value:5.1f} fps; runs {runs})")
    for name, ms in compositor.items():
        canvas = short.canvas.scaled(get_quality(name).scale)
        print(f"compose : {ms:.2f} ms CPU a frame at {canvas.width}x{canvas.height} ({name})")
    x264 = median["x264"]
    print(f"ratio   : ours {median['ours'] / median['floor']:.2f}x the encode floor")
    print(f"ratio   : ours {median['ours'] / x264:.2f}x x264 alone on raw frames ({x264:.1f} s)")
    if "moviepy" in median:
        print(f"speedup : ours {median['moviepy'] / median['ours']:.1f}x faster than MoviePy")
        bound = median["moviepy"] / median["x264"]
        print(f"bound   : x264 alone is {bound:.1f}x faster than MoviePy (no renderer can beat it)")
    if "cli" in median:
        cli, own = median["cli"], median["x264 cli"]
        print(
            f"ratio   : whole CLI render {cli / own:.2f}x x264 alone on the frames of its own "
            f"{cli_short.duration:.1f} s short ({own:.1f} s)"
        )
        rounds = [a / b for a, b in zip(times["cli"], times["x264 cli"], strict=True)]
        listed = ", ".join(f"{ratio:.2f}x" for ratio in rounds)
        print(
            f"rounds  : whole CLI / x264 alone in the same round {listed}, "
            f"median {statistics.median(rounds):.2f}x"
        )
        stage, rest = (statistics.median(values) for values in cli_parts.values())
        print(
            f"parts   : its encode stage {stage:.2f}x x264 alone on the same frames, the rest "
            f"{rest:.2f} s = {rest / own:.2f}x (kernel start, soundtrack, tail); medians of rounds"
        )
        work, alone = statistics.median(cpu["cli"]), statistics.median(cpu["x264 cli"])
        cores = os.cpu_count() or 1
        soonest = max(work / cores, own)  # nor before the encoder it waits for
        print(
            f"cpu     : whole CLI render {work:.1f} core-s, x264 alone {alone:.1f} core-s; "
            f"on {cores} cores the CLI's work cannot finish before {soonest:.1f} s, "
            f"{soonest / own:.2f}x x264 alone (its floor here)"
        )
    for seconds, peaks in rss.items():
        python, ffmpeg = peaks["python_mb"], peaks["ffmpeg_mb"]
        print(f"peak RSS {seconds:.0f} s: python {python} MB, ffmpeg {ffmpeg} MB")
    if len(rss) == 2:
        (short_s, a), (long_s, b) = rss.items()
        growth = b["python_mb"] / a["python_mb"] - 1
        print(f"RSS growth {short_s:.0f} s -> {long_s:.0f} s: {growth:+.1%}")


if __name__ == "__main__":
    main()
