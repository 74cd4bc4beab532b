"""Real servers on 127.0.0.1 for asset and storage tests: an HTTP server that records
every request, moto's S3 server and a Google Cloud Storage emulator."""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.server import ThreadedMotoServer


@dataclass
class Reply:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    #: Seconds to wait before answering (keeps a download in flight).
    delay: float = 0.0
    #: Send Content-Length; without it the body simply runs until the connection closes.
    length: bool = True


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]


class LoopbackServer:
    """Serves `routes` (path → Reply, or a function of the Request giving one); 404 else."""

    def __init__(self) -> None:
        self.routes: dict[str, Reply | Callable[[Request], Reply]] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self._server.server_port}"

    def url(self, path: str) -> str:
        return self.base + path

    def gets(self, path: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.method == "GET" and r.path == path)

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.do_GET()

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                request = Request(self.command, parts.path, parts.query, dict(self.headers))
                with server._lock:
                    server.requests.append(request)
                route = server.routes.get(parts.path, Reply(b"not found", 404))
                reply = route(request) if callable(route) else route
                time.sleep(reply.delay)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.length:
                    self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    def __enter__(self) -> LoopbackServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def moto_s3() -> Iterator[str]:
    """moto's S3 over real HTTP on a free loopback port; yields its endpoint URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def use_s3(monkeypatch, endpoint: str) -> None:
    """Point the standard AWS variables at `endpoint` with dummy keys, as an operator would."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)


@contextmanager
def gcs_emulator() -> Iterator[str]:
    """gcp-storage-emulator (in memory) in a process of its own on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [str(Path(sys.executable).parent / "gcp-storage-emulator"), "start"]
    server = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port), "--in-memory", "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(endpoint + "/", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"the GCS emulator did not answer on {endpoint}")
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=30)


def service_account(folder: Path, token_uri: str) -> Path:
    """A service-account key file (a new RSA key), as Google issues them, whose tokens
    come from `token_uri`: a loopback server stands in for Google's OAuth endpoint."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path = folder / "service-account.json"
    info = {
        "type": "service_account",
        "project_id": "neuroshorts-test",
        "private_key_id": "test-key",
        "private_key": pem,
        "client_email": "renders@neuroshorts-test.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": token_uri,
    }
    path.write_text(json.dumps(info))
    return path


def use_gcs(monkeypatch, endpoint: str, credentials: Path) -> None:
    """Point Google's standard variables at the emulator and the key file, as an operator
    would; no metadata-server probe can happen with a key file named. (conftest.py also
    sets gcsfs's switch for emulators before anything imports gcsfs.)"""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", endpoint)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(credentials))
    for name in ("GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CONFIG"):
        monkeypatch.delenv(name, raising=False)
