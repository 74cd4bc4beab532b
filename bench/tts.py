"""Piper synthesis speed as a multiple of realtime (issue 3 target: at least 10x).

Both numbers of the ratio are measured in this run: seconds of narration produced over
wall-clock seconds spent producing them, through the engine's own path (sentence by
sentence, with the phoneme alignments word timing needs). The model load is timed
separately, because a worker pays it once per process. espeak-ng is shown for scale.

    .venv/bin/python bench/tts.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from neuroshorts.audio.espeak import EspeakNarrator
from neuroshorts.audio.piper_voice import BUNDLED, PiperNarrator
from neuroshorts.audio.speech import Voice
from neuroshorts.audio.textnorm import spoken_forms

SCRIPT = (
    "Octopuses have three hearts. Two pump blood through the gills, and one sends it to "
    "the rest of the body. Their blood is blue, because it carries copper instead of iron. "
    "When an octopus swims, the heart that serves the body stops beating, which is why "
    "they prefer to crawl. In 2024, divers counted more than 300 of them near a single "
    "reef, each hiding in a den no bigger than a coffee cup. They can taste with their "
    "arms, change colour in a fraction of a second, and squeeze through any gap larger "
    "than their beak."
)


def realtime_factor(voice: Voice, runs: int) -> tuple[float, float]:
    """Median audio seconds per wall second over `runs`, and the audio's length."""
    spoken = spoken_forms(SCRIPT.split(), voice.language)
    factors, seconds = [], 0.0
    for _ in range(runs):
        began = time.perf_counter()
        speech = voice.speak(spoken, speed=1.0, pause=0.35)
        elapsed = time.perf_counter() - began
        seconds = speech.duration
        factors.append(seconds / elapsed)
    return statistics.median(factors), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs

    began = time.perf_counter()
    piper = PiperNarrator(BUNDLED)
    piper.piper  # noqa: B018 - loading the model is what is timed here
    load = time.perf_counter() - began
    piper_factor, seconds = realtime_factor(piper, runs)
    espeak_factor, _ = realtime_factor(EspeakNarrator("en"), runs)

    print(f"narration: {seconds:.1f} s of speech, median of {runs} runs")
    print(f"piper {BUNDLED}: {piper_factor:.1f}x realtime (model load {load:.2f} s, once)")
    print(f"espeak-ng en: {espeak_factor:.0f}x realtime")
    print(f"target >= 10x: {'met' if piper_factor >= 10 else 'NOT met'}")
    cores, load = os.cpu_count(), os.getloadavg()[0]
    print(f"machine: {cores} cores, load average {load:.1f} (run it on an idle machine)")


if __name__ == "__main__":
    main()
