"""The job store on SQLite and on PostgreSQL: claims, takeovers, fencing, idempotency.

Workers, the API and its reconciler change jobs concurrently; each change must win or lose
as a whole. These tests drive the store directly, with threads where races matter.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from neuroshorts.apps.service.schemas import State
from neuroshorts.apps.service.store import JobStore, NewJob
from neuroshorts.errors import IdempotencyConflict
from support.service_stack import postgres_database

pytestmark = pytest.mark.services


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def store(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'jobs.sqlite'}"
        jobs = JobStore(url)
        yield jobs
        jobs.close()
        return
    with postgres_database(uuid.uuid4().hex[:10]) as url:
        jobs = JobStore(url)
        yield jobs
        jobs.close()


def new(**changes) -> NewJob:
    values = {"template": "explainer", "parameters": {"script": "Hi."}, "output": "/x.mp4"}
    return NewJob(**(values | changes))


def alive(host, pid) -> bool:
    return True


def dead(host, pid) -> bool:
    return False


def claim(store, job_id, pid=100, holder_alive=alive, max_attempts=3):
    return store.claim(
        job_id, "host-a", pid, max_attempts=max_attempts, lease=60, holder_alive=holder_alive
    )


def test_a_job_is_claimed_once_while_its_holder_lives(store):
    job, created = store.create(new())
    assert created and job.state == State.queued and job.created_at.tzinfo == UTC
    with ThreadPoolExecutor(8) as pool:
        claims = list(pool.map(lambda pid: claim(store, job.id, pid), range(8)))
    winners = [c.job for c in claims if c.job is not None]
    assert len(winners) == 1 and winners[0].state == State.running and winners[0].attempt == 1
    assert claim(store, job.id).job is None


def test_a_dead_holder_is_replaced_and_its_attempt_fenced_out(store):
    job, _ = store.create(new())
    first = claim(store, job.id, pid=1).job
    assert store.report(job.id, 1, "encode", 0.5, 4242) is not None
    second = claim(store, job.id, pid=2, holder_alive=dead)
    assert second.job.attempt == 2 and second.previous_kernel == 4242
    assert store.report(job.id, 1, "encode", 0.6, 4242) is None, "the old attempt is fenced"
    assert store.finish(first, State.succeeded) is None
    closed = store.finish(second.job, State.succeeded, manifest={"video": "/x.mp4"})
    assert closed.state == State.succeeded and closed.progress == 1.0


def test_an_abandoned_job_is_requeued_then_claimed_again(store):
    job, _ = store.create(new())
    running = claim(store, job.id).job
    assert store.requeue(running)
    assert store.get(job.id).state == State.queued
    again = claim(store, job.id).job
    assert again.attempt == 2 and again.state == State.running


def test_a_job_whose_workers_keep_dying_fails_after_its_attempts(store):
    job, _ = store.create(new())
    for pid in (1, 2):
        assert claim(store, job.id, pid=pid, holder_alive=dead, max_attempts=2).job
    last = claim(store, job.id, pid=3, holder_alive=dead, max_attempts=2)
    assert last.job is None and last.closed.state == State.failed
    assert "gave up after 2 attempts" in last.closed.error


def test_cancel_is_immediate_when_queued_and_requested_when_running(store):
    queued, _ = store.create(new())
    assert store.request_cancel(queued.id).state == State.cancelled
    assert claim(store, queued.id).job is None
    running, _ = store.create(new())
    claim(store, running.id)
    requested = store.request_cancel(running.id)
    assert requested.state == State.running and requested.cancel_requested
    assert store.report(running.id, 1, "encode", 0.5, None).cancel_requested
    orphaned = claim(store, running.id, holder_alive=dead)
    assert orphaned.job is None and orphaned.closed.state == State.cancelled


def test_idempotency_keys_return_the_first_job_even_under_a_race(store):
    key = f"key-{uuid.uuid4().hex}"
    start = threading.Barrier(6)

    def create(_):
        start.wait()
        return store.create(new(idempotency_key=key, fingerprint="same"))

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(create, range(6)))
    assert len({job.id for job, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    with pytest.raises(IdempotencyConflict):
        store.create(new(idempotency_key=key, fingerprint="different"))


def test_a_batch_with_a_reused_key_stores_none_of_its_jobs(store):
    taken = f"key-{uuid.uuid4().hex}"
    first, _ = store.create(new(idempotency_key=taken, fingerprint="a"))
    before = store.count()
    with pytest.raises(IdempotencyConflict, match=taken):
        store.create_many([new(), new(idempotency_key=taken, fingerprint="b"), new()])
    assert store.count() == before
    twice = f"key-{uuid.uuid4().hex}"
    made = store.create_many([new(idempotency_key=twice, fingerprint="c")] * 2 + [new()])
    assert [created for _, created in made] == [True, False, True]
    assert made[0][0] == made[1][0] and store.count() == before + 2
    assert store.create_many([new(idempotency_key=taken, fingerprint="a")]) == [(first, False)]


def test_an_empty_idempotency_key_is_a_key(store):
    first, created = store.create(new(idempotency_key="", fingerprint="empty"))
    again, created_again = store.create(new(idempotency_key="", fingerprint="empty"))
    assert created and not created_again and again.id == first.id


def test_listing_filters_by_state_and_batch(store):
    batch = uuid.uuid4().hex
    ids = {store.create(new(batch_id=batch))[0].id for _ in range(3)}
    jobs, total = store.list_jobs(batch_id=batch)
    assert total == 3 and {job.id for job in jobs} == ids
    queued, _ = store.list_jobs(state=State.queued, batch_id=batch, limit=2)
    assert len(queued) == 2


def test_a_job_is_to_send_until_marked_sent_and_again_once_its_broker_forgot(store):
    jobs = [job for job, _ in store.create_many([new() for _ in range(3)])]
    ids = {job.id for job in jobs}
    assert ids <= {job.id for job in store.to_send(unsent_for=0)}
    moment = datetime.now(UTC)
    store.mark_sent([job.id for job in jobs], moment)
    assert ids.isdisjoint(job.id for job in store.to_send(unsent_for=0))
    store.forget_unsent(list(ids))
    assert all(store.get(job_id) for job_id in ids), "a job sent is never forgotten"
    assert ids.isdisjoint(job.id for job in store.unmark_sent(before=moment))
    forgot = {job.id for job in store.unmark_sent(before=datetime.now(UTC))}
    assert ids <= forgot, "sent before the broker was found empty"
    assert ids <= {job.id for job in store.to_send(unsent_for=0)}, "due until sent again"
