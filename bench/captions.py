"""Benchmark: what captions cost per frame during a render, against the frame budget.

caption  for every frame of a 1080x1920 30 fps short, the caption layer's work in
         `Short.planes` (the frame the encoder is given): finding the page and state,
         rasterising it the first time it is seen (amortised over the frames), and
         alpha-blending it onto the frame.
compose  the whole `Short.planes` of the same short (Ken Burns background, title card,
         captions), measured in the same run: the compositor's real per-frame cost.

Both are printed as a share of the frame budget (1/30 s) and as a ratio to each other,
so the figures compare like with like on whatever machine runs them. Word timings are
synthetic (evenly paced), so no voice is needed.
Usage: python bench/captions.py [--seconds 30] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from neuroshorts import captions, visuals
from neuroshorts.scene import Canvas, Short, Span, Word, blend

SCRIPT = (
    "Octopuses are stranger than they look. Each one has three hearts and blue blood. "
    "Two hearts push blood through the gills, while the third sends it around the body. "
    "Two thirds of an octopus's neurons live in its arms, so each arm can taste, touch "
    "and decide on its own. ¿Sabías que cambian de color en una fracción de segundo? 🐙"
)
WORDS_PER_SECOND = 2.6


def timed_words(seconds: float) -> list[Word]:
    words, step = [], 1 / WORDS_PER_SECOND
    texts = SCRIPT.split()
    for index in range(int(seconds * WORDS_PER_SECOND) - 1):
        start = index * step
        words.append(Word(texts[index % len(texts)], start, start + 0.85 * step))
    return words


def build_short(style: str, seconds: float) -> tuple[Short, captions.CaptionLayer]:
    look = captions.CaptionLook(emphasis=captions.parse_emphasis("hearts:#ff3b30, blood:🩸"))
    layer = captions.CaptionLayer(captions.paginate(timed_words(seconds)), style, look)
    layers = [
        visuals.background("builtin:aurora", Span(0, seconds)),
        visuals.TitleCard("Eight arms, three hearts", Span(0, 3.0)),
        layer,
    ]
    return Short(Canvas(), None, layers, duration=seconds), layer


def caption_seconds(short: Short, layer: captions.CaptionLayer) -> list[float]:
    """Per frame: the caption layer's patch lookup (or first rasterisation) and blend."""
    frame = short.planes(0.0)
    costs = []
    for t in short.times():
        started = time.perf_counter()
        patch = layer.patch(t, short.canvas)
        if patch is not None:
            blend(frame, patch)
        costs.append(time.perf_counter() - started)
    return costs


def compose_seconds(short: Short) -> list[float]:
    costs = []
    for t in short.times():
        started = time.perf_counter()
        short.planes(t)
        costs.append(time.perf_counter() - started)
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure; median kept")
    args = parser.parse_args()

    runs = range(args.repeats)
    compose = statistics.median(
        statistics.mean(compose_seconds(build_short("karaoke", args.seconds)[0])) for _ in runs
    )
    canvas = Canvas()
    budget = 1 / canvas.fps
    print(
        f"short: {args.seconds:.0f} s, {canvas.width}x{canvas.height}, "
        f"{round(args.seconds * canvas.fps)} frames, budget {budget * 1000:.1f} ms/frame, "
        f"median of {args.repeats} runs"
    )
    print(
        f"compose (whole frame, karaoke captions): {compose * 1000:6.2f} ms/frame "
        f"= {compose / budget:5.1%} of budget"
    )
    print("style      caption ms/frame  median ms  p95 ms  share of budget  share of compose")
    for style in captions.STYLES:
        samples = sorted(
            (caption_seconds(*build_short(style, args.seconds)) for _ in runs),
            key=statistics.mean,
        )
        costs = samples[len(samples) // 2]
        mean = statistics.mean(costs)
        median = statistics.median(costs)
        p95 = statistics.quantiles(costs, n=20)[-1]
        print(
            f"{style:10} {mean * 1000:16.2f} {median * 1000:10.2f} {p95 * 1000:7.2f} "
            f"{mean / budget:16.1%} {mean / compose:17.1%}"
        )


if __name__ == "__main__":
    main()
