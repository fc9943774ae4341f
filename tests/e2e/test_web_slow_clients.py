"""Slow and stalled clients against the web process with its default limits (bot/server.py).

Connections that never finish a request must neither hold every connection slot (so /healthz
and signed commands still answer) nor hold much memory, and each is closed once its request
is late: the header and body deadlines.
"""

from __future__ import annotations

import contextlib
import resource
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.server import BODY_SECONDS, CONNECTION_LIMIT, HEADER_SECONDS, MAINTENANCE_SECONDS
from tests.e2e.conftest import WebProcess, new_key
from tests.fakes.signing import post_signed, slash_command_body

pytestmark = pytest.mark.slow

# Past this the server has had its deadline and one maintenance round, and then some.
CLOSED_WITHIN = max(HEADER_SECONDS, BODY_SECONDS) + MAINTENANCE_SECONDS + 10


def _connect(web: WebProcess) -> socket.socket:
    host, port = web.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=5)


@pytest.fixture(autouse=True)
def descriptors() -> None:
    """Room for more connections than the server's limit (a soft limit of 1024 is common)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = CONNECTION_LIMIT + 512
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


@contextlib.contextmanager
def stalled(web: WebProcess, count: int, first: bytes) -> Iterator[list[socket.socket]]:
    """`count` connections that sent `first` and then nothing: requests that never complete."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = _connect(web)
            sock.sendall(first)
            sockets.append(sock)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_more_stalled_connections_than_the_limit_leave_healthz_and_commands_answering(
    web: WebProcess,
) -> None:
    with stalled(web, CONNECTION_LIMIT + 50, b"G") as sockets:
        assert len(sockets) == CONNECTION_LIMIT + 50
        # New connections, as a platform's probe and Slack open them (not web.http's pool).
        with httpx.Client(timeout=10) as fresh:
            assert fresh.get(f"{web.url}/healthz").status_code == 200
            key = new_key()
            body = slash_command_body("help", response_url=web.slack.response_url(key))
            assert post_signed(fresh, web.events_url, body).status_code == 200
        assert web.answer(key)["text"]
    # And the log says once what happened, not once per connection.
    assert web.log(tail=1_000_000).count("connection limit") <= 2, web.log()


def _closed_by_server(sock: socket.socket, drip: bytes, stop: threading.Event) -> bool:
    """Send `drip` a byte a second until the server closes the connection (True) or `stop`."""
    sock.settimeout(1.0)
    for byte in drip:
        if stop.is_set():
            return False
        try:
            sock.send(bytes([byte]))
            if sock.recv(1024) == b"":
                return True
        except TimeoutError:
            continue
        except OSError:
            return True
    return False


@pytest.mark.parametrize(
    ("first", "drip"),
    [
        pytest.param(b"", b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"a" * 200, id="headers"),
        pytest.param(
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n",
            b"a" * 200,
            id="body",
        ),
    ],
)
def test_a_request_that_trickles_in_a_byte_a_second_is_closed_at_its_deadline(
    web: WebProcess, first: bytes, drip: bytes
) -> None:
    stop = threading.Event()
    timer = threading.Timer(CLOSED_WITHIN, stop.set)
    timer.start()
    try:
        with _connect(web) as sock:
            sock.sendall(first)
            assert _closed_by_server(sock, drip, stop), "the server kept the connection open"
    finally:
        timer.cancel()


def test_stalled_partial_bodies_hold_little_memory(web: WebProcess) -> None:
    count, partial = 200, 500 * 1024
    head = (
        "POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {partial * 2}\r\n\r\n"
    ).encode()
    before = rss_kib(web.proc.pid)
    with stalled(web, count, head) as sockets:
        for sock in sockets:
            sock.sendall(b"a" * partial)
        for _ in range(3):  # by now the server has read what it was sent
            assert web.http.get(f"{web.url}/healthz", timeout=10).status_code == 200
        grown = rss_kib(web.proc.pid) - before
    # 200 x 500 kB is 100 MB; the server keeps at most a small buffer of each in memory.
    assert grown < 40 * 1024, f"RSS grew by {grown} KiB for {count} partial bodies"
