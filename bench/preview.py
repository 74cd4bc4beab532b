"""Benchmark: how long the studio preview waits for one frame of the reference short.

Times `Short.frame(t)` (compose in yuv420p, convert to RGB: exactly what the preview
shows) at random t of the 30 s reference short from `render.py`, at 540x960 and
1080x1920, after one warm-up frame per size (artwork is rasterised once per canvas).
Baseline, measured in the same run: a plain numpy copy of a full RGB frame of the same
size, the least any frame function can cost. Also printed against the 33 ms budget of
one frame at 30 fps. Usage: python bench/preview.py [--frames 60]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import render as render_bench

from neuroshorts.scene import Short


def median_ms(action, count: int) -> float:
    times = []
    for index in range(count):
        started = time.perf_counter()
        action(index)
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="neuroshorts-bench-") as tmp:
        short, _ = render_bench.build_short(Path(tmp), 30.0)
    rng = np.random.default_rng(0)
    times = rng.uniform(0, short.duration, args.frames)
    print(f"load: {os.getloadavg()[0]:.2f} (1-min average), {os.cpu_count()} cores")
    for width, height in ((540, 960), (1080, 1920)):
        sized = Short(
            replace(short.canvas, width=width, height=height),
            short.audio,
            short.layers,
            duration=short.duration,
        )
        sized.frame(0.0)
        ours = median_ms(lambda i, sized=sized: sized.frame(times[i]), args.frames)
        source = np.full((height, width, 3), 7, dtype=np.uint8)
        copy = median_ms(lambda _, source=source: source.copy(), args.frames)
        print(
            f"{width}x{height}: Short.frame median {ours:5.1f} ms = {ours / copy:4.1f}x a numpy "
            f"frame copy ({copy:.2f} ms), {ours / (1000 / 30):.2f}x the 33 ms frame budget"
        )


if __name__ == "__main__":
    main()
