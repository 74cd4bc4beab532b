"""Faults under load: nothing accepted is lost, nothing is rendered twice or half-written.

While 24 cheap renders are submitted through the real API and two workers render them,
a worker is SIGKILLed mid-render (and restarted, as a supervisor would), our own Redis
crashes with jobs queued and comes back empty (no persistence: its messages are gone),
and the API is SIGKILLed and restarted while the client is still submitting. The client
retries what fails with the same Idempotency-Key. Afterwards every accepted job must be
succeeded with exactly one playable MP4, no `.partial` file anywhere, and every job
record the API listed before its restart served unchanged after it (see fault_drill.py;
bench/faults.py runs the same drill with 200 jobs).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import pytest
from kombu import Connection
from kombu.exceptions import OperationalError

from neuroshorts.apps.service import queue
from neuroshorts.apps.service.queue import make_celery
from neuroshorts.apps.service.reconcile import send, sweep
from neuroshorts.apps.service.store import JobStore, NewJob
from neuroshorts.settings import Settings
from support.fault_drill import Drill, RedisServer, standard_faults

pytestmark = [pytest.mark.services, pytest.mark.slow]

JOBS = 24


@pytest.fixture(scope="module")
def drill(tmp_path_factory):
    drill = Drill(
        tmp_path_factory.mktemp("faults"),
        jobs=JOBS,
        burst=8,
        interval=0.75,
        faults=standard_faults(JOBS, worker_kills=1),
        deadline=300,
    )
    drill.run()
    return drill


def test_every_accepted_job_ends_once_with_one_output_and_none_is_lost(drill):
    outcome = drill.outcome
    assert outcome.problems == []
    assert outcome.jobs == JOBS
    assert outcome.states == {"succeeded": JOBS}


def test_the_faults_hit_work_in_flight_and_the_service_recovered_it(drill):
    """A drill proves nothing unless each fault destroyed something that had to come back."""
    assert [fault.at is not None for fault in drill.faults] == [True] * len(drill.faults)
    for job_id in drill.killed_jobs:
        job = drill.service.store.get(job_id)
        assert job.state == "succeeded" and job.attempt >= 2, "rendered again after the kill"
    assert drill.lost_at_crash > 0, "Redis took queued jobs' messages down with it"
    assert drill.outcome.resent >= drill.lost_at_crash, "the reconciler sent them again"
    assert drill.snapshot, "the API had job records to keep across its restart"
    assert drill.outcome.submit_retries > 0, "the client met the API (or Redis) down"


# -- the reconciler's side of it, one fault at a time, on a Redis of our own --------------


def test_the_reconciler_thread_starts_with_the_idna_codec_already_loaded(tmp_path):
    """Its first connection and the API's first address lookup load that codec; two
    threads importing it at once met CPython's import race (the API died at start in CI)."""
    code = textwrap.dedent(f"""
        import sys, threading
        from neuroshorts.apps.service.queue import make_celery
        from neuroshorts.apps.service.reconcile import Reconciler
        from neuroshorts.apps.service.store import JobStore
        from neuroshorts.settings import Settings

        settings = Settings(data_dir={str(tmp_path)!r})
        reconciler = Reconciler(JobStore(settings.database_url), settings, make_celery(settings))
        loaded = []
        reconciler._thread = threading.Thread(
            target=lambda: loaded.append("encodings.idna" in sys.modules)
        )
        assert "encodings.idna" not in sys.modules, "a fresh process has not loaded it yet"
        reconciler.start()
        reconciler._thread.join()
        print(loaded)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[True]"


@pytest.fixture
def broker(tmp_path, request):
    """A private redis-server (AOF when the test's parameter says so), and the service's
    settings, Celery app and store on it; no workers, so sent messages stay countable."""
    server = RedisServer(tmp_path / "redis", aof=getattr(request, "param", False))
    server.start()
    settings = Settings(data_dir=tmp_path / "data", broker_url=server.url, resend_after=0.5)
    app, store = make_celery(settings), JobStore(settings.database_url)
    yield server, settings, app, store
    store.close()
    server.stop()


def messages(settings: Settings) -> int:
    with Connection(settings.broker_url) as connection:
        return connection.default_channel.queue_declare(settings.queue).message_count


def stored_jobs(store: JobStore, count: int) -> list[str]:
    news = [NewJob("blip", {"color": f"#00000{i}"}, f"/nowhere/{i}.mp4") for i in range(count)]
    return [job.id for job, _ in store.create_many(news)]


def test_a_job_stored_but_never_sent_is_sent_once_its_grace_is_over(broker):
    """The API died between storing a job and sending it (or the broker refused the send)."""
    _, settings, app, store = broker
    sweep(store, settings, app)  # plants the canary
    (job_id,) = stored_jobs(store, 1)
    assert sweep(store, settings, app) == []
    assert messages(settings) == 0, "within its grace the API may still be sending it"
    time.sleep(settings.resend_after + 0.1)
    assert sweep(store, settings, app) == [job_id]
    assert sweep(store, settings, app) == []
    assert messages(settings) == 1


def test_jobs_sent_are_not_sent_again_by_the_reconciler(broker):
    _, settings, app, store = broker
    sweep(store, settings, app)  # plants the canary
    jobs = stored_jobs(store, 3)
    send(store, settings, app, [store.get(job_id) for job_id in jobs])
    time.sleep(settings.resend_after + 0.1)
    assert sweep(store, settings, app) == []
    assert messages(settings) == 3


@pytest.mark.parametrize(
    ("broker", "resent"), [(False, 3), (True, 0)], indirect=["broker"], ids=["empty", "aof"]
)
def test_a_restarted_broker_gets_every_queued_job_it_forgot(broker, resent):
    server, settings, app, store = broker
    sweep(store, settings, app)  # plants the canary
    jobs = stored_jobs(store, 3)
    send(store, settings, app, [store.get(job_id) for job_id in jobs])
    assert messages(settings) == 3

    server.crash()
    server.start()

    assert messages(settings) == 3 - resent, "without persistence Redis comes back empty"
    assert sorted(sweep(store, settings, app)) == sorted(jobs[:resent])
    assert sweep(store, settings, app) == []
    assert messages(settings) == 3


def test_lost_jobs_a_sweep_did_not_send_again_are_sent_by_the_next(broker, monkeypatch):
    """The sweep that found the broker empty planted the canary, then stopped after one
    job: its API died, or the broker went away. The next sweep finds the canary in place
    and must still send the other two."""
    server, settings, app, store = broker
    sweep(store, settings, app)  # plants the canary
    jobs = stored_jobs(store, 3)
    send(store, settings, app, [store.get(job_id) for job_id in jobs])
    server.crash()
    server.start()

    enqueue, sent = queue.enqueue, []

    def dies_after_the_first(app, settings, job_id):
        if sent:
            raise OperationalError("the API died here")
        enqueue(app, settings, job_id)
        sent.append(job_id)

    monkeypatch.setattr(queue, "enqueue", dies_after_the_first)
    with pytest.raises(OperationalError):
        sweep(store, settings, app)
    monkeypatch.undo()
    assert messages(settings) == 1
    time.sleep(settings.resend_after + 0.1)
    assert sorted(sweep(store, settings, app)) == sorted(set(jobs) - set(sent))
    assert messages(settings) == 3


def test_a_send_waits_out_a_broker_restart_instead_of_failing_the_request(broker):
    server, settings, app, store = broker
    (job_id,) = stored_jobs(store, 1)
    server.crash()
    restart = threading.Timer(1.5, server.start)
    restart.start()
    try:
        send(store, settings, app, [store.get(job_id)])
    finally:
        restart.join()
    assert messages(settings) == 1
