"""Benchmark: 200 jobs through the real API while workers, Redis and the API are killed.

fault-free  the jobs submitted (a burst, then a steady trickle) and rendered by two workers
            with nothing going wrong: the baseline throughput of this machine, right now.
faults      the same submissions while one worker is SIGKILLed mid-render twice (restarted
            a second later, as a supervisor would), our own Redis is crashed with jobs
            queued and restarted (without persistence by default: it comes back empty),
            and the API is SIGKILLed and restarted while the client is still submitting.

Both runs use `neuroshorts api` and `neuroshorts worker` processes, a private
`redis-server` on a free port (never the machine's shared one) and a SQLite job store
(or a fresh PostgreSQL database with --postgres). Jobs render the `blip` test template
(one second of solid colour, no voice), so the queue is under test, not the encoder.
The client sends every job with an Idempotency-Key and retries connection errors and
5xx answers. Afterwards the drill checks the promises (tests/support/fault_drill.py):
every accepted job terminal exactly once, one playable MP4 per succeeded job and none
for others, no `.partial` anywhere, job records unchanged across the API restart. Exits
1 if any is broken.

Usage: python bench/faults.py [--jobs 200] [--no-baseline] [--aof] [--postgres] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from support.fault_drill import Drill, Outcome, standard_faults  # noqa: E402
from support.service_stack import postgres_database  # noqa: E402

#: The client's pacing: a quarter of the jobs at once, then one every half second, so
#: submissions span the first faults (the API restart happens at half submitted).
BURST_SHARE, INTERVAL = 0.25, 0.5


def run(root: Path, jobs: int, *, faults: bool, aof: bool, postgres: bool) -> Drill:
    with contextlib.ExitStack() as stack:
        tag = f"bench_{uuid.uuid4().hex[:10]}"
        database = stack.enter_context(postgres_database(tag)) if postgres else ""
        drill = Drill(
            root,
            jobs=jobs,
            burst=max(1, int(jobs * BURST_SHARE)),
            interval=INTERVAL,
            faults=standard_faults(jobs, worker_kills=2) if faults else [],
            aof=aof,
            database_url=database,
            deadline=max(900.0, jobs * 10.0),
        )
        drill.run()
        return drill


def report(name: str, drill: Drill, baseline: Outcome | None) -> None:
    outcome = drill.outcome
    assert outcome is not None
    states = ", ".join(f"{count} {state}" for state, count in sorted(outcome.states.items()))
    print(f"\n{name}: {outcome.jobs} jobs accepted → {states}")
    print(f"  time to drain (first submit → last job terminal): {outcome.drained:.1f} s")
    throughput = f"  throughput: {outcome.per_minute:.1f} jobs/min"
    if baseline is not None:
        throughput += f" ({outcome.per_minute / baseline.per_minute:.2f}x the fault-free run)"
    print(throughput)
    print(
        f"  jobs rendered again: {outcome.redelivered} ({outcome.extra_attempts} extra attempts);"
        f" duplicate messages skipped by workers: {outcome.duplicates_skipped};"
        f" jobs the reconciler sent again: {outcome.resent}"
    )
    print(f"  attempts that lost their job to another attempt: {outcome.superseded}")
    print(f"  client retries (API or broker down): {outcome.submit_retries}")
    start = drill.submitter.first or 0.0
    for fault in sorted(outcome.faults, key=lambda f: f.at or 0.0):
        when = f"{fault.at - start:6.1f} s" if fault.at is not None else "never"
        print(f"  {when}  {fault.name}: {fault.note}")
    if drill.snapshot:
        print(f"  job records compared across the API restart: {len(drill.snapshot)}")
    print("  promises: " + ("all kept" if not outcome.problems else "BROKEN"))
    for problem in outcome.problems:
        print(f"    - {problem}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--no-baseline", action="store_true", help="skip the fault-free run")
    parser.add_argument("--aof", action="store_true", help="Redis with AOF (fsync always)")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL job store")
    parser.add_argument("--keep", action="store_true", help="keep the runs' folders and logs")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="neuroshorts-faults-"))
    redis_mode = "AOF, fsync always" if args.aof else "no persistence"
    store = "PostgreSQL" if args.postgres else "SQLite"
    print(f"{args.jobs} blip jobs, 2 workers, Redis ({redis_mode}), {store} job store")
    print(f"load average before: {os.getloadavg()[0]:.1f}; runs in {folder}")
    baseline = None
    if not args.no_baseline:
        clean = run(
            folder / "baseline", args.jobs, faults=False, aof=args.aof, postgres=args.postgres
        )
        report("fault-free", clean, None)
        baseline = clean.outcome
    started = time.monotonic()
    faulty = run(folder / "faults", args.jobs, faults=True, aof=args.aof, postgres=args.postgres)
    report("faults", faulty, baseline)
    print(f"\nwall time of the fault run: {time.monotonic() - started:.0f} s")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    broken = bool(faulty.outcome and faulty.outcome.problems) or bool(
        baseline and baseline.problems
    )
    if not args.keep and not broken:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    elif broken:
        print(f"logs kept in {folder}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
