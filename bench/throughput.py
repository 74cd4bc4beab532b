"""Benchmark: reference shorts per minute through the embedded service, against x264 alone.

service  N final-quality reference shorts (the explainer template with render.py's
         script and title: 24.8 s, 1080x1920, narration from the cache) submitted at once
         to a real `neuroshorts api` (embedded broker, SQLite): shorts per minute from the
         first submit to the last job's webhook callback (received on loopback, as n8n
         learns of a render's end). Three services, one after the other: 1 worker; 2
         workers; 1 worker with --concurrency 2. Two renders at once either way: an
         encode that starts while the other encodes takes its share of the cores (one
         x264 thread on 2 cores), one that starts alone x264's own threads. Before the
         timing, a job a render at once puts the narration in the service's cache and
         starts every render process.
x264     the very frames of that short, composed beforehand into a raw file, encoded N
         times back to back by the render's own ffmpeg command: the encoder with no
         compositor, kernel, narration or queue. Measured before, between and after the
         service runs: this machine's speed drifted by up to 27% within minutes, so each
         service run is divided by the mean of the x264 runs on either side of it.

The ratio is the service's shorts per minute over x264 alone's (target >= 0.85 with 2
renders at once). Beside each rate: the whole machine's busy core-seconds a short
(/proc/stat). Each job's manifest times its stages: `first_cell` is from the job's claim
to its first cell running (target <= 0.3 s with a warm kernel), `kernel.wait` how long it
waited for its kernel, `kernel.start` how long that kernel took to start (ahead of it).
The 1-worker jobs' other stages follow, `encode` (composing and encoding) also over x264
alone's time for the same frames.

Usage: python bench/throughput.py [--jobs 4]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from api import service, wait
from render import PARAMETERS, encoder_alone, raw_frames, template_short

from support.receiver import Receiver  # tests/support: on the path since `api` put it there

#: The bench's webhook receiver listens on loopback, which callbacks may not reach unless allowed.
CALLBACKS = {"NEUROSHORTS_CALLBACK_HOSTS": "127.0.0.1"}
#: The services measured: a label, worker processes, renders at once in each.
PHASES = [
    ("1 worker", 1, 1),
    ("2 workers", 2, 1),
    ("1 worker, --concurrency 2", 1, 2),
]


def submit(http: httpx.Client, parameters: dict, callback_url: str) -> str:
    body = {"template": "explainer", "parameters": parameters, "callback_url": callback_url}
    response = http.post("/v1/renders", json=body)
    response.raise_for_status()
    return response.json()["id"]


def run_jobs(http: httpx.Client, receiver: Receiver, jobs: int) -> list[dict]:
    """Submit `jobs` renders at once; their records, as their callbacks bring them.

    The bench learns that a job ended from its webhook, as n8n does: polling every job
    every 0.2 s cost the API alone ~0.4 core-seconds a short (measured with 4 jobs and 1
    worker), taken from the renders being measured. A job that did not succeed ends the
    benchmark.
    """
    path = f"/done/{uuid.uuid4().hex}"
    callback_url = receiver.url(path)
    for _ in range(jobs):
        submit(http, PARAMETERS, callback_url)

    def records() -> list[dict]:
        ended = [json.loads(call.body) for call in receiver.calls_to(path)]
        if any(job["state"] != "succeeded" for job in ended):
            raise SystemExit("a benchmark render did not succeed; see the worker logs")
        return ended

    wait(lambda: len(records()) == jobs, "the renders' callbacks", deadline=1800)
    return records()


def busy_seconds() -> float:
    """Core-seconds the whole machine has spent busy so far (every process), from /proc/stat."""
    ticks = [int(field) for field in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # less idle, iowait


def service_rate(
    running, receiver: Receiver, jobs: int
) -> tuple[float, float, list[dict[str, float]]]:
    """Shorts per minute for `jobs` reference shorts submitted at once, the machine's
    core-seconds a short meanwhile, and the jobs' stages."""
    with httpx.Client(base_url=running.url, timeout=60) as http:
        started, busy = time.perf_counter(), busy_seconds()
        ended = run_jobs(http, receiver, jobs)
        rate = jobs / ((time.perf_counter() - started) / 60)
        return rate, (busy_seconds() - busy) / jobs, [job["manifest"]["stages"] for job in ended]


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
        x264_seconds: list[float] = []  # every encode's time, for the encode stage's ratio

        def x264_rate() -> float:
            busy = busy_seconds()
            encodes = [
                encoder_alone(sized, raw, Path(tmp) / "x264.mp4", "final") for _ in range(args.jobs)
            ]
            rate, cpu = args.jobs / (sum(encodes) / 60), (busy_seconds() - busy) / args.jobs
            print(
                f"x264   : {rate:5.2f} shorts/min, {cpu:4.1f} core-s a short "
                f"({statistics_line(encodes)})",
                flush=True,
            )
            x264_seconds.extend(encodes)
            return rate

        x264 = [x264_rate()]
        results = []
        for label, workers, concurrency in PHASES:
            results.append(phase(args.jobs, workers, concurrency))
            rate, cpu, _ = results[-1]
            print(f"service: {label:26s} {rate:5.2f} shorts/min, {cpu:4.1f} core-s a short")
            x264.append(x264_rate())

    print(f"shorts : {args.jobs} x {short.duration:.1f} s, final 1080x1920, explainer template")
    print(f"load   : {os.getloadavg()[0]:.2f} (1-min average at the end), {os.cpu_count()} cores")
    print(
        f"x264   : {', '.join(f'{rate:.2f}' for rate in x264)} shorts/min (before, between, after)"
    )
    for index, ((label, _, _), (rate, _, _)) in enumerate(zip(PHASES, results, strict=True)):
        around = statistics.mean(x264[index : index + 2])
        target = " (target 0.85x)" if index else ""
        print(
            f"service: {label:26s} {rate:5.2f} shorts/min = {rate / around:.2f}x x264 alone{target}"
        )
    stages = [job for _, _, jobs in results for job in jobs]
    for stage in ("first_cell", "kernel.wait", "kernel.start"):
        values = [job[stage] for job in stages]
        print(f"{stage:12s}: median {statistics.median(values):.3f} s, max {max(values):.3f} s")
    # With 1 worker a job has the machine to itself, as x264 alone had.
    alone_stages = results[0][2]
    for stage in ("soundtrack", "encode", "papermill"):
        values = [job[stage] for job in alone_stages]
        print(f"{stage:12s}: median {statistics.median(values):.3f} s with 1 worker")
    encode = statistics.median(job["encode"] for job in alone_stages)
    alone = statistics.median(x264_seconds)
    print(
        f"encode      : {encode / alone:.2f}x x264 alone's median {alone:.2f} s "
        "(the same frames, composed as they are encoded)"
    )


def phase(jobs: int, workers: int, concurrency: int) -> tuple[float, float, list[dict]]:
    """`service_rate` of a service of its own with `workers` worker processes of
    `concurrency` renders each, after one job a render at once has put the narration in its
    cache and started every render process."""
    env = CALLBACKS | {"NEUROSHORTS_CONCURRENCY": str(concurrency)}
    with (
        contextlib.closing(Receiver()) as receiver,
        service("embedded", postgres=False, env=env) as running,
    ):
        for _ in range(workers):
            running.add_worker()
        with httpx.Client(base_url=running.url, timeout=60) as http:
            run_jobs(http, receiver, workers * concurrency)
        return service_rate(running, receiver, jobs)


def statistics_line(seconds: list[float]) -> str:
    return "encodes " + ", ".join(f"{s:.1f}" for s in seconds) + " s"


if __name__ == "__main__":
    main()
