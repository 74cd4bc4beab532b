"""Benchmark: reference shorts per minute through the embedded service, against x264 alone.

service  N final-quality reference shorts (the explainer template with render.py's
         script and title: 24.5 s, 1080x1920, narration from the cache) submitted at once
         to a real `neuroshorts api` with 1 worker, then with 2 workers (embedded
         broker, SQLite): shorts per minute from the first submit to the last job done.
         One job runs before the timing, so every narration comes from the cache and
         every worker process has started.
x264     the very frames of that short, composed beforehand into a raw file, encoded N
         times back to back by the render's own ffmpeg command: the encoder with no
         compositor, kernel, narration or queue.

The ratio is the service's shorts per minute over x264 alone's (target >= 0.85 with 2
workers). Each job's manifest times its kernel: `first_cell` is from the job's claim to
its first cell running (target <= 0.3 s with a warm kernel), `kernel.wait` how long it
waited for its kernel, `kernel.start` how long that kernel took to start (ahead of it).
x264 runs its own threads on every core, so 2 workers can approach it only by
overlapping each job's fixed part (kernel, soundtrack, extras) with the other's encode.

Usage: python bench/throughput.py [--jobs 4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import nbformat
from api import service, wait
from render import SCRIPT, TITLE, encoder_alone, raw_frames

from neuroshorts import templates
from neuroshorts.scene import Short

PARAMETERS = {"script": SCRIPT, "title": TITLE, "quality": "final"}


@contextmanager
def template_short(parameters: dict) -> Iterator[Short]:
    """The short the explainer template builds for `parameters`, built in this process:
    its cells run up to the one that makes `short` (the render cell is not run). The
    cells' namespace, which owns the soundtrack's folder, lives as long as the block."""
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


def submit(http: httpx.Client, parameters: dict) -> str:
    response = http.post("/v1/renders", json={"template": "explainer", "parameters": parameters})
    response.raise_for_status()
    return response.json()["id"]


def wait_jobs(http: httpx.Client, ids: list[str]) -> None:
    """Until every job has succeeded; any failure ends the benchmark."""

    def done() -> bool:
        states = [http.get(f"/v1/renders/{job}").json()["state"] for job in ids]
        if {"failed", "cancelled"} & set(states):
            raise SystemExit("a benchmark render did not succeed; see the worker logs")
        return all(state == "succeeded" for state in states)

    wait(done, "the renders", deadline=1800)


def service_rate(running, jobs: int) -> tuple[float, list[dict[str, float]]]:
    """Shorts per minute for `jobs` reference shorts submitted at once, and their stages."""
    with httpx.Client(base_url=running.url, timeout=60) as http:
        started = time.perf_counter()
        ids = [submit(http, PARAMETERS) for _ in range(jobs)]
        wait_jobs(http, ids)
        rate = jobs / ((time.perf_counter() - started) / 60)
        return rate, [http.get(f"/v1/renders/{job}").json()["manifest"]["stages"] for job in ids]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4)
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="neuroshorts-bench-") as tmp,
        template_short({**PARAMETERS, "output": ""}) as short,
    ):
        raw = Path(tmp) / "frames.yuv"
        sized = raw_frames(short, "final", raw)
        encodes = [
            encoder_alone(sized, raw, Path(tmp) / "x264.mp4", "final") for _ in range(args.jobs)
        ]
        x264 = args.jobs / (sum(encodes) / 60)
        print(f"x264   : {x264:5.2f} shorts/min ({statistics_line(encodes)})", flush=True)
        raw.unlink()
        with service("embedded", postgres=False) as running:
            running.add_worker()
            with httpx.Client(base_url=running.url, timeout=60) as http:
                wait_jobs(http, [submit(http, PARAMETERS)])  # narration into the cache
            one, stages = service_rate(running, args.jobs)
            print(f"service: 1 worker  {one:5.2f} shorts/min", flush=True)
            running.add_worker()
            two, more = service_rate(running, args.jobs)
            stages += more

    print(f"shorts : {args.jobs} x {short.duration:.1f} s, final 1080x1920, explainer template")
    print(f"load   : {os.getloadavg()[0]:.2f} (1-min average at the end), {os.cpu_count()} cores")
    print(f"service: 1 worker  {one:5.2f} shorts/min = {one / x264:.2f}x x264 alone")
    print(f"service: 2 workers {two:5.2f} shorts/min = {two / x264:.2f}x x264 alone (target 0.85x)")
    for stage in ("first_cell", "kernel.wait", "kernel.start"):
        values = [job[stage] for job in stages]
        print(f"{stage:12s}: median {statistics.median(values):.3f} s, max {max(values):.3f} s")


def statistics_line(seconds: list[float]) -> str:
    return "encodes " + ", ".join(f"{s:.1f}" for s in seconds) + " s"


if __name__ == "__main__":
    main()
