"""Where both servers send their answers: response_url and a small Slack Web API stand-in.

One recorder behind two loopback listeners, plain HTTP and HTTPS. The Web API lives on the same
origin as the response URLs, so a bot that follows response URLs only on the origin of
SLACK_API_URL accepts them, and the bare Bolt app (which follows any URL) posts to the very
same place. Connections are kept alive (HTTP/1.1), as hooks.slack.com keeps them.
"""

from __future__ import annotations

import contextlib
import json
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socket import socket
from types import TracebackType
from typing import Any

RESPONSE_PREFIX = "/response/"
API_PREFIX = "/api/"


@dataclass(frozen=True, slots=True)
class Arrival:
    """One post to a response URL, stamped with `time.perf_counter()` when its body was read."""

    key: str
    at: float
    size: int
    body: dict[str, Any]


class Recorder:
    """The posts that arrived, by key; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._arrivals: dict[str, list[Arrival]] = {}
        self.api_calls = 0

    def record(self, arrival: Arrival) -> None:
        with self._lock:
            self._arrivals.setdefault(arrival.key, []).append(arrival)
            self._lock.notify_all()

    def count_api_call(self) -> None:
        with self._lock:
            self.api_calls += 1

    def first(self, key: str) -> Arrival | None:
        with self._lock:
            posts = self._arrivals.get(key)
            return posts[0] if posts else None

    def wait_all(self, keys: list[str], timeout: float) -> dict[str, Arrival]:
        """The first arrival of each key that arrived before the timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                missing = [k for k in keys if k not in self._arrivals]
                remaining = deadline - time.monotonic()
                if not missing or remaining <= 0:
                    break
                self._lock.wait(min(remaining, 0.5))
            return {k: self._arrivals[k][0] for k in keys if k in self._arrivals}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a burst must not meet SYN retries the real Slack would not cause
    recorder: Recorder
    tls: ssl.SSLContext | None = None

    def get_request(self) -> tuple[socket, Any]:
        sock, address = super().get_request()
        if self.tls is None:
            return sock, address
        # The handshake runs in the connection's own thread (see _Handler.setup), not here in
        # the accept loop, so one slow handshake does not hold up the others.
        return self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()
        super().setup()

    def handle(self) -> None:
        with contextlib.suppress(OSError):  # a client that hangs up mid-request, or TLS errors
            super().handle()

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._api(self.path.partition("?")[0])

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        path = self.path.partition("?")[0]
        if path.startswith(RESPONSE_PREFIX):
            at = time.perf_counter()
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {"unreadable": raw[:200].decode("utf-8", "replace")}
            key = path[len(RESPONSE_PREFIX) :]
            self.server.recorder.record(Arrival(key, at, len(raw), body))
            self._send(200, b"ok", "text/plain")
            return
        self._api(path)

    def _api(self, path: str) -> None:
        self.server.recorder.count_api_call()
        method = path.rsplit("/", 1)[-1]
        answer: dict[str, Any] = {"ok": True}
        if method == "auth.test":
            answer.update(
                url="https://example.slack.com/", team="Example", user="releases",
                team_id="T0001", user_id="UBOT", bot_id="BBOT",
            )
        self._send(200, json.dumps(answer).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Receiver:
    """`with Receiver(tls_context) as r:` listens on loopback over HTTP, and HTTPS if given."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.recorder = Recorder()
        self._servers: dict[str, _Server] = {"http": _Server(("127.0.0.1", 0), _Handler)}
        if tls is not None:
            self._servers["https"] = _Server(("127.0.0.1", 0), _Handler)
            self._servers["https"].tls = tls
        self._threads: list[threading.Thread] = []
        for server in self._servers.values():
            server.recorder = self.recorder

    @property
    def schemes(self) -> tuple[str, ...]:
        return tuple(self._servers)

    def origin(self, scheme: str) -> str:
        port = self._servers[scheme].server_address[1]
        return f"{scheme}://127.0.0.1:{port}"

    def api_url(self, scheme: str) -> str:
        """The Web API base, as SLACK_API_URL takes it (trailing slash)."""
        return f"{self.origin(scheme)}{API_PREFIX}"

    def response_url(self, scheme: str, key: str) -> str:
        return f"{self.origin(scheme)}{RESPONSE_PREFIX}{key}"

    def __enter__(self) -> Receiver:
        for scheme, server in self._servers.items():
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"receiver-{scheme}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
