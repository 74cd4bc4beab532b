"""`neuroshorts serve` is the whole service in one command; `submit --wait` uses it."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from support.media import probe
from support.process_groups import group_members
from support.service_stack import START_DEADLINE, free_port, wait_for

pytestmark = [pytest.mark.services, pytest.mark.render, pytest.mark.slow]


def test_serve_runs_api_and_worker_in_one_command_and_submit_waits_for_the_video(tmp_path):
    port = free_port()
    env = os.environ | {
        "NEUROSHORTS_DATA_DIR": str(tmp_path / "data"),
        "NEUROSHORTS_LOG_FILE": str(tmp_path / "serve.log"),
        "NEUROSHORTS_QUEUE": f"cli-{port}",
    }
    command = [sys.executable, "-m", "neuroshorts"]
    draft = ["-p", "script", "Hi.", "-p", "quality", "draft"]
    with open(tmp_path / "serve.out", "wb") as out:
        server = subprocess.Popen(
            [*command, "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:

        def ready() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, START_DEADLINE, "serve to answer /readyz", every=0.25)
        url = f"http://127.0.0.1:{port}"
        waiting = subprocess.Popen(
            [*command, "submit", "explainer", *draft, "--wait", "--url", url],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        answers = healthz_twice_on_one_connection(port, idle=6.0)
        stdout, stderr = waiting.communicate(timeout=300)
        refused = subprocess.run(
            [*command, "submit", "explainer", "-p", "speed", "fast", "--url", url],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(120)

    assert waiting.returncode == 0, stderr
    video = Path(stdout.strip().splitlines()[-1])
    assert video.parent == tmp_path / "data" / "renders"
    assert probe(video).video_codec == "h264"
    assert refused.returncode == 2 and "parameters.speed" in refused.stderr
    assert server.returncode == 0
    assert group_members(server.pid) == [], "the worker stopped with the API"
    assert answers == [200, 200], "an idle connection outlives a client pool's 5 s expiry"


def healthz_twice_on_one_connection(port: int, idle: float) -> list[int]:
    """Statuses of two GET /healthz on one kept-alive connection, `idle` seconds apart.

    http.client reads each whole response (uvicorn writes head and body separately), and
    it reuses the socket it has; a connection the server closed meanwhile answers 0.
    """
    statuses = []
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for attempt in range(2):
            if attempt:
                time.sleep(idle)
            first_socket = connection.sock
            try:
                connection.request("GET", "/healthz")
                response = connection.getresponse()
                response.read()
            except (http.client.RemoteDisconnected, ConnectionError):
                statuses.append(0)
                continue
            reused = attempt == 0 or connection.sock is first_socket
            statuses.append(response.status if reused else 0)
    finally:
        connection.close()
    return statuses
