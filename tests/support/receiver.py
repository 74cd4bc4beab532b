"""A webhook receiver on 127.0.0.1: records every POST, answers with scripted statuses."""

from __future__ import annotations

import http.server
import threading
from dataclasses import dataclass


@dataclass
class Call:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """Answers the POSTs to each path with the statuses given for it, then 200."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.script: dict[str, list[int]] = {}
        self.locations: dict[str, str] = {}
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str, statuses: list[int] | None = None, location: str = "") -> str:
        """The URL of `path`, answered with `statuses` in turn (a redirect to `location`)."""
        self.script[path] = list(statuses or [])
        self.locations[path] = location
        return f"http://127.0.0.1:{self._server.server_port}{path}"

    def calls_to(self, path: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.path == path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.calls.append(Call(self.path, dict(self.headers), body))
                    statuses = receiver.script.get(self.path, [])
                    status = statuses.pop(0) if statuses else 200
                self.send_response(status)
                if location := receiver.locations.get(self.path):
                    self.send_header("Location", location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        return Handler
