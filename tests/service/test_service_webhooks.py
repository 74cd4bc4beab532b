"""Webhook delivery to a real HTTP receiver on loopback: signed, retried, recorded."""

from __future__ import annotations

import json

import pytest
from receiver import Receiver
from service_stack import free_port

from neuroshorts.service import webhooks
from neuroshorts.service.config import Settings
from neuroshorts.service.schemas import State
from neuroshorts.service.store import JobStore, NewJob

SECRET = "s3cret"


@pytest.fixture
def store(tmp_path):
    jobs = JobStore(f"sqlite:///{tmp_path / 'jobs.sqlite'}")
    yield jobs
    jobs.close()


@pytest.fixture
def settings(tmp_path):
    return Settings(data_dir=tmp_path, webhook_secret=SECRET, webhook_attempts=4)


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def finished_job(store: JobStore, callback_url: str) -> str:
    job, _ = store.create(NewJob("explainer", {"script": "Hi."}, "/x.mp4", callback_url))
    running = store.claim(
        job.id, "host", 1, max_attempts=3, lease=60, holder_alive=lambda h, p: True
    ).job
    store.finish(running, State.succeeded, manifest={"video": "/x.mp4"})
    return job.id


def test_the_callback_carries_the_job_and_a_signature_that_verifies(store, settings, receiver):
    job_id = finished_job(store, receiver.url("/hook"))
    assert webhooks.deliver(store, settings, job_id)
    (call,) = receiver.calls_to("/hook")
    assert json.loads(call.body)["id"] == job_id
    assert json.loads(call.body)["state"] == "succeeded"
    assert call.headers["X-NeuroShorts-Event"] == "render.succeeded"
    signature = call.headers[webhooks.SIGNATURE_HEADER]
    assert signature.startswith("sha256=")
    assert webhooks.verify(call.body, signature, SECRET)
    assert not webhooks.verify(call.body + b" ", signature, SECRET), "a changed body fails"
    assert not webhooks.verify(call.body, signature, "other secret")
    assert not webhooks.verify(call.body, None, SECRET)


def test_a_receiver_failing_twice_gets_the_call_on_the_third_attempt(store, settings, receiver):
    job_id = finished_job(store, receiver.url("/flaky", [500, 500]))
    pauses: list[float] = []
    assert webhooks.deliver(store, settings, job_id, sleep=pauses.append)
    assert len(receiver.calls_to("/flaky")) == 3
    webhook = store.get(job_id).webhook
    assert webhook.state == "delivered"
    assert [(d.attempt, d.status) for d in webhook.deliveries] == [(1, 500), (2, 500), (3, 200)]
    assert "HTTP 500" in webhook.deliveries[0].error and webhook.deliveries[2].error is None
    assert pauses == [settings.webhook_backoff, 2 * settings.webhook_backoff], "backoff doubles"
    assert webhooks.deliver(store, settings, job_id), "already delivered: not called again"
    assert len(receiver.calls_to("/flaky")) == 3


def test_attempts_run_out_against_a_dead_receiver_and_are_all_recorded(store, settings):
    job_id = finished_job(store, f"http://127.0.0.1:{free_port()}/gone")
    assert not webhooks.deliver(store, settings, job_id, sleep=lambda _: None)
    webhook = store.get(job_id).webhook
    assert webhook.state == "failed" and len(webhook.deliveries) == settings.webhook_attempts
    assert all(d.status is None and "ConnectError" in d.error for d in webhook.deliveries)


def test_a_running_job_is_not_called_back(store, settings, receiver):
    job, _ = store.create(NewJob("explainer", {}, "/x.mp4", receiver.url("/early")))
    assert not webhooks.deliver(store, settings, job.id)
    assert receiver.calls_to("/early") == []
