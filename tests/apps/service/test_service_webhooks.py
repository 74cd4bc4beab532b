"""Webhook delivery to a real HTTP receiver on loopback: signed, retried, recorded, and
refused at delivery when the callback's host is not allowed.

The jobs are written to the store directly, as a job that skipped the API's check (an
older API, a script) would be: the worker's check at delivery is what stops them.
"""

from __future__ import annotations

import json
import socket

import pytest

from neuroshorts.apps.service import webhooks
from neuroshorts.apps.service.schemas import State
from neuroshorts.apps.service.store import JobStore, NewJob
from neuroshorts.settings import Settings
from support.receiver import Receiver
from support.service_stack import free_port

SECRET = "s3cret"


@pytest.fixture
def store(tmp_path):
    jobs = JobStore(f"sqlite:///{tmp_path / 'jobs.sqlite'}")
    yield jobs
    jobs.close()


@pytest.fixture
def settings(tmp_path):
    return Settings(
        data_dir=tmp_path, webhook_secret=SECRET, webhook_attempts=4, callback_hosts="127.0.0.1"
    )


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


# -- hosts a callback may not reach --------------------------------------------------------


@pytest.fixture
def resolver(monkeypatch):
    """Names resolved as a hostile DNS server would answer: `names[host]` is the address
    list given to each lookup in turn (the last one repeats). A DNS server of our own is
    not something a test can put in front of the system resolver, so this one is patched."""
    names: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in names:
            return real(host, port, *args, **kwargs)
        address = names[host].pop(0) if len(names[host]) > 1 else names[host][0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


def public(settings: Settings, **changes) -> Settings:
    """The settings with the default callback policy: public hosts only."""
    return settings.model_copy(update={"callback_hosts": "public", **changes})


def refused_at_delivery(store, settings, job_id: str, says: str) -> None:
    assert not webhooks.deliver(store, settings, job_id, sleep=lambda _: None)
    webhook = store.get(job_id).webhook
    assert webhook.state == "failed" and len(webhook.deliveries) == 1, "not tried again"
    assert says in webhook.deliveries[0].error, webhook.deliveries[0].error


@pytest.mark.parametrize(
    ("host", "says"),
    [
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("localhost", "localhost resolves to 127.0.0.1, a loopback address"),
        ("2130706433", "the IP address 127.0.0.1 in another notation"),
        ("0x7f.0.0.1", "the IP address 127.0.0.1 in another notation"),
        ("0177.0.0.1", "the IP address 127.0.0.1 in another notation"),
    ],
)
def test_a_loopback_callback_is_refused_and_the_listener_gets_nothing(
    store, settings, receiver, host, says
):
    url = receiver.url("/loopback").replace("127.0.0.1", host)
    refused_at_delivery(store, public(settings), finished_job(store, url), says)
    assert receiver.calls_to("/loopback") == []


def test_a_name_that_resolves_to_loopback_is_refused_also_when_it_changes(
    store, settings, receiver, resolver
):
    """Once public, then loopback (DNS rebinding): each attempt judges what it connects to."""
    url = receiver.url("/named").replace("127.0.0.1", "hooks.example.com")
    resolver["hooks.example.com"] = ["127.0.0.1"]
    refused_at_delivery(
        store, public(settings), finished_job(store, url), "hooks.example.com resolves to 127.0.0.1"
    )
    resolver["rebind.example.com"] = ["93.184.216.34", "127.0.0.1"]
    rebinding = receiver.url("/rebind").replace("127.0.0.1", "rebind.example.com")
    job_id = finished_job(store, rebinding)
    webhooks.check_url(rebinding, webhooks.callback_policy(public(settings)))  # looks fine
    socket.getaddrinfo("rebind.example.com", 80)  # the first answer: public
    refused_at_delivery(store, public(settings), job_id, "resolves to 127.0.0.1")
    assert receiver.calls_to("/named") == receiver.calls_to("/rebind") == []


def test_a_redirect_is_not_followed(store, settings, receiver, resolver):
    """A host the operator allows answers with a redirect to one that is not."""
    listener = Receiver()
    try:
        target = listener.url("/inside")
        resolver["hooks.example.com"] = ["127.0.0.1"]
        redirecting = receiver.url("/moved", [307], location=target)
        url = redirecting.replace("127.0.0.1", "hooks.example.com")
        allowed = public(settings, callback_hosts="public,hooks.example.com")
        refused_at_delivery(store, allowed, finished_job(store, url), "redirects are not followed")
        assert len(receiver.calls_to("/moved")) == 1, "the allowed host was called"
        assert listener.calls_to("/inside") == []
    finally:
        listener.close()


def test_a_host_allowed_by_name_gets_the_signed_callback(store, settings, receiver, resolver):
    """As the compose file allows n8n's service name, whose address is a private one."""
    resolver["n8n"] = ["127.0.0.1"]
    url = receiver.url("/webhook-waiting/41?signature=abc").replace("127.0.0.1", "n8n")
    job_id = finished_job(store, url)
    assert webhooks.deliver(store, public(settings, callback_hosts="public,n8n"), job_id)
    (call,) = receiver.calls_to("/webhook-waiting/41?signature=abc")
    assert webhooks.verify(call.body, call.headers[webhooks.SIGNATURE_HEADER], SECRET)
    assert call.headers["Host"] == url.split("/")[2], "the name, not the address it has"
