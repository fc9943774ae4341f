"""The posting thread's kept-alive connection, against a real HTTP/1.1 server on loopback:
reused while it lasts, replaced when it expired, when the server closed it, or after a failure."""

from __future__ import annotations

import http.client
import select
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bot.slack.keepalive import ConnectionShelf, KeptConnection
from tests.waiting import wait_for


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, idle_timeout: float | None = None) -> None:
        self.connections = 0
        self.paths: list[str] = []
        self.close_after: set[str] = set()  # paths answered with Connection: close
        self.hang_up: set[str] = set()  # paths whose request is read, then the socket closed
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = idle_timeout  # a connection idle this long is hung up on

            def setup(self) -> None:
                super().setup()
                server.connections += 1

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.paths.append(self.path)
                if self.path in server.hang_up:
                    self.close_connection = True
                    return
                self.send_response(201)
                self.send_header("Content-Length", "2")
                if self.path in server.close_after:
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(b"ok")

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def origin(self) -> tuple[str, str, int]:
        return ("http", "127.0.0.1", int(self.server_address[1]))


def _serve(srv: _Server) -> Iterator[_Server]:
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join()


@pytest.fixture
def server() -> Iterator[_Server]:
    yield from _serve(_Server())


@pytest.fixture
def impatient_server() -> Iterator[_Server]:
    yield from _serve(_Server(idle_timeout=0.2))


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _connection(clock: _Clock | None = None) -> KeptConnection:
    return KeptConnection(ssl.create_default_context(), clock=clock or _Clock())


HEADERS = {"Content-Type": "application/json"}


def test_posts_share_one_connection_and_return_the_status(server: _Server) -> None:
    conn = _connection()
    assert [conn.post(server.origin, f"/p{i}", b"{}", HEADERS) for i in range(3)] == [201] * 3
    assert server.paths == ["/p0", "/p1", "/p2"]
    assert (server.connections, conn.opened) == (1, 1)
    conn.close()
    assert not conn.connected


def test_an_idle_connection_expires(server: _Server) -> None:
    clock = _Clock()
    conn = KeptConnection(ssl.create_default_context(), clock=clock, idle_expiry=5.0)
    conn.post(server.origin, "/a", b"{}", HEADERS)
    clock.now += 4.9
    conn.post(server.origin, "/b", b"{}", HEADERS)
    assert conn.opened == 1
    clock.now += 5.1
    conn.post(server.origin, "/c", b"{}", HEADERS)
    assert (server.connections, conn.opened) == (2, 2)


def test_a_connection_the_server_closed_is_replaced_before_use(server: _Server) -> None:
    conn = _connection()
    server.close_after.add("/last")
    conn.post(server.origin, "/last", b"{}", HEADERS)  # answered with Connection: close
    assert not conn.connected
    assert conn.post(server.origin, "/next", b"{}", HEADERS) == 201
    assert conn.opened == 2


def test_a_connection_the_server_timed_out_while_idle_is_not_used(
    impatient_server: _Server,
) -> None:
    server = impatient_server
    conn = _connection()
    conn.post(server.origin, "/a", b"{}", HEADERS)
    sock = conn._conn.sock if conn._conn is not None else None
    assert sock is not None
    wait_for(lambda: bool(select.select([sock], [], [], 0)[0]))  # the server hung up
    assert conn.post(server.origin, "/b", b"{}", HEADERS) == 201  # on a new one, no error
    assert (server.paths, conn.opened) == (["/a", "/b"], 2)


def test_a_failed_exchange_drops_the_connection(server: _Server) -> None:
    conn = _connection()
    server.hang_up.add("/hang")
    with pytest.raises(http.client.RemoteDisconnected):
        conn.post(server.origin, "/hang", b"{}", HEADERS)
    assert not conn.connected
    assert conn.post(server.origin, "/after", b"{}", HEADERS) == 201
    assert conn.opened == 2


def test_another_origin_gets_its_own_connection(server: _Server) -> None:
    other = _Server()
    thread = threading.Thread(target=other.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    try:
        conn = _connection()
        conn.post(server.origin, "/a", b"{}", HEADERS)
        conn.post(other.origin, "/b", b"{}", HEADERS)
        conn.post(other.origin, "/c", b"{}", HEADERS)
        assert (server.paths, other.paths) == (["/a"], ["/b", "/c"])
        assert conn.opened == 2
    finally:
        other.shutdown()
        other.server_close()
        thread.join()


def test_an_unreachable_origin_raises_and_keeps_nothing() -> None:
    conn = _connection()
    probe = _Server()
    origin = probe.origin
    probe.server_close()
    with pytest.raises(ConnectionRefusedError):
        conn.post(origin, "/x", b"{}", HEADERS)
    assert not conn.connected


def test_the_shelf_keeps_at_most_max_idle_and_closes_what_comes_back_after_close(
    server: _Server,
) -> None:
    shelf = ConnectionShelf(_connection, max_idle=1)
    with shelf.borrowed() as first, shelf.borrowed() as second:
        assert first is not second
        first.post(server.origin, "/a", b"{}", HEADERS)
        second.post(server.origin, "/b", b"{}", HEADERS)
    assert shelf.idle() == 1
    assert [first.connected, second.connected].count(True) == 1
    with shelf.borrowed() as again:
        assert again in (first, second)  # the idle one is lent before a new one is made
        shelf.close()
    assert not again.connected
    assert shelf.idle() == 0
    assert server.connections == 2


def test_a_connection_that_failed_is_not_put_back(server: _Server) -> None:
    shelf = ConnectionShelf(_connection)
    server.hang_up.add("/hang")
    with shelf.borrowed() as conn, pytest.raises(http.client.RemoteDisconnected):
        conn.post(server.origin, "/hang", b"{}", HEADERS)
    assert shelf.idle() == 0
