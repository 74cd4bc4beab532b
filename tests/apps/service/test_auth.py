"""The API key guards every route but health and the API's own description, and no secret
is ever written to a log.

Public without a key, by decision: `/healthz` and `/readyz` (probes carry no key), and
`/openapi.json`, `/docs`, `/docs/oauth2-redirect`, `/redoc`: the description of the API
holds no data and no secret, and n8n, form builders and people need it before they hold
a key. Every other route, including any added later, must answer 401 to a missing or
wrong key; the route list is read from the app, so a new unguarded route fails here.
(Webhook signatures are verified in test_service_webhooks.py.)
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import fsspec
import httpx
import pytest
from fastapi.routing import iter_route_contexts

from neuroshorts.apps.service.api import create_app
from neuroshorts.apps.service.webhooks import SIGNATURE_HEADER, verify
from support.loopback import moto_s3
from support.receiver import Receiver
from support.service_stack import (
    START_DEADLINE,
    free_port,
    postgres_database,
    running_stack,
    wait_for,
)

pytestmark = pytest.mark.services

KEY = "k-" + uuid.uuid4().hex
PUBLIC = {"/healthz", "/readyz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
WRONG_KEYS = ["", KEY[:-1], KEY + "x", KEY.upper(), "x" * len(KEY), "wrong"]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    root = tmp_path_factory.mktemp("auth")
    with running_stack(root, "embedded", workers=0, api_key=KEY) as stack:
        yield stack


def routes(stack) -> list[tuple[str, str]]:
    """Every (method, path) the app serves, path parameters filled in."""
    app = create_app(stack.settings, sweep=False)
    found = [
        (method, re.sub(r"\{[^}]+\}", "0" * 32, route.path))
        for route in iter_route_contexts(app.routes)
        for method in sorted(route.methods or ())
        if method != "HEAD"
    ]
    app.state.store.close()
    return found


def test_every_route_but_the_public_ones_refuses_a_missing_or_wrong_key(api):
    every = routes(api)
    assert len(every) >= 15 and {path for _, path in every} >= PUBLIC
    guarded = 0
    with httpx.Client(base_url=api.url, timeout=30) as http:
        for method, path in every:
            anonymous = http.request(method, path)
            if path in PUBLIC:
                assert anonymous.status_code == 200, (method, path, anonymous.text)
                continue
            guarded += 1
            attempts = [anonymous] + [
                http.request(method, path, headers={"X-API-Key": wrong}) for wrong in WRONG_KEYS
            ]
            attempts.append(http.request(method, path, headers={"X-API-Key": b"\xe9t\xe9"}))
            for response in attempts:
                assert response.status_code == 401, (method, path, response.text)
                error = response.json()["error"]
                assert error["field"] == "X-API-Key" and error["reason"], error
                assert KEY not in response.text
            with_key = http.request(method, path, headers={"X-API-Key": KEY})
            assert with_key.status_code != 401, (method, path)
    assert guarded >= 9


# -- secrets and logs -------------------------------------------------------------------

SECRETS = {
    "api key": "api-" + uuid.uuid4().hex,
    "webhook secret": "hook-" + uuid.uuid4().hex,
    "AWS secret": "aws-" + uuid.uuid4().hex,
    "database password": "db-" + uuid.uuid4().hex,
}
BUCKET = "secrets-" + uuid.uuid4().hex[:12]


@pytest.mark.render
@pytest.mark.slow
def test_no_secret_reaches_any_log_of_a_full_run(tmp_path):
    """`neuroshorts -v serve` (API and worker, debug logging) with every secret set:
    requests with the key, a render uploaded to S3 with the AWS secret, a job store on
    PostgreSQL whose URL has a password, a signed webhook. Then every line the processes
    wrote (stdout, stderr, log files, the job's own log) is searched for each secret."""
    port = free_port()
    receiver = Receiver()
    with moto_s3() as endpoint, postgres_database(uuid.uuid4().hex[:10]) as database:
        aws = {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "AKIDTEST",
            "AWS_SECRET_ACCESS_KEY": SECRETS["AWS secret"],
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        with pytest.MonkeyPatch.context() as patch:
            for name, value in aws.items():
                patch.setenv(name, value)
            fsspec.filesystem("s3", skip_instance_cache=True).mkdir(BUCKET)
        database = database.replace("postgres@", f"postgres:{SECRETS['database password']}@")
        env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")} | aws
        env |= {
            "NEUROSHORTS_DATA_DIR": str(tmp_path / "data"),
            "NEUROSHORTS_LOG_FILE": str(tmp_path / "logs" / "serve.log"),
            "NEUROSHORTS_DATABASE_URL": database,
            "NEUROSHORTS_API_KEY": SECRETS["api key"],
            "NEUROSHORTS_WEBHOOK_SECRET": SECRETS["webhook secret"],
            "NEUROSHORTS_CALLBACK_HOSTS": "127.0.0.1",
            "NEUROSHORTS_OUTPUT_URL_PREFIXES": f"s3://{BUCKET}/renders/",
            "NEUROSHORTS_QUEUE": "secrets-" + uuid.uuid4().hex[:8],
        }
        out = (tmp_path / "serve.out").open("wb")
        serve = subprocess.Popen(
            [sys.executable, "-m", "neuroshorts", "-v", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            job = _run_one_job(f"http://127.0.0.1:{port}", receiver)
        finally:
            serve.send_signal(signal.SIGTERM)
            try:
                serve.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(serve.pid, signal.SIGKILL)
                serve.wait()
            out.close()
            receiver.close()

    written = {path: path.read_text(errors="replace") for path in _logs(tmp_path)}
    everything = "\n".join(written.values())
    assert job["id"] in everything and "webhook" in everything, "the logs cover the run"
    assert "ready." in everything, "the worker's own start is in the logs"
    for what, secret in SECRETS.items():
        leaks = [str(path) for path, text in written.items() if secret in text]
        assert not leaks, f"the {what} is written in {leaks}"


def _run_one_job(url: str, receiver: Receiver) -> dict:
    """Use every secret once: the key on requests, the webhook secret on the callback,
    the AWS secret for the upload, the database password on every store access."""
    key = {"X-API-Key": SECRETS["api key"]}
    with httpx.Client(base_url=url, timeout=30) as http:

        def up() -> bool:
            try:
                return http.get("/readyz").status_code == 200
            except httpx.TransportError:
                return False

        wait_for(up, START_DEADLINE, "serve to be ready", every=0.25)
        assert http.get("/v1/templates").status_code == 401
        assert http.get("/v1/templates", headers=key).status_code == 200
        body = {
            "template": "explainer",
            "parameters": {"script": "Hello there.", "quality": "draft"},
            "output": f"s3://{BUCKET}/renders/clip.mp4",
            "callback_url": receiver.url("/secrets"),
        }
        created = http.post("/v1/renders", json=body, headers=key)
        assert created.status_code == 202, created.text
        job_id = created.json()["id"]
        (call,) = wait_for(lambda: receiver.calls_to("/secrets"), 240, "the callback", every=0.5)
        job = http.get(f"/v1/renders/{job_id}", headers=key).json()
    assert job["state"] == "succeeded", job["error"]
    assert job["manifest"]["video"].startswith(f"s3://{BUCKET}/")
    assert verify(call.body, call.headers[SIGNATURE_HEADER], SECRETS["webhook secret"])
    return job


def _logs(root: Path) -> list[Path]:
    """Everything the run wrote that is a log: process output and every .log file."""
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".log", ".out"))
