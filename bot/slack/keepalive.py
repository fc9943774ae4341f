"""One kept-alive HTTP/1.1 connection, on the standard library's http.client: a posting
thread's own (bot/slack/thread_clients.py).

An answer is one small POST whose reply is read and dropped. Measured in one process against
a local waitress server, 5,000 posts of a 3 KB answer on one kept-alive connection: httpcore
(h11 events and its pool's bookkeeping) cost 176 µs of CPU a post, http.client 80 µs; httpx's
client on top of httpcore cost more again. That was a tenth of the web process's CPU per
command. What httpcore's pool added that matters is kept: an idle connection is dropped after
`idle_expiry` seconds, and one the server closed (readable while idle) is replaced before use.
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.request import getproxies

CONNECT_SECONDS = 5.0
READ_SECONDS = 10.0
IDLE_EXPIRY_SECONDS = 5.0  # as httpx keeps an idle connection

# What a failed connection or exchange raises (TimeoutError and ssl.SSLError are OSErrors).
POST_ERRORS: tuple[type[Exception], ...] = (OSError, http.client.HTTPException)


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    reason: str
    headers: http.client.HTTPMessage
    body: bytes


class KeptConnection:
    """One connection at a time, to whichever origin the last post went to; not thread-safe
    (one per thread)."""

    def __init__(
        self,
        ssl_context: ssl.SSLContext,
        *,
        connect_seconds: float = CONNECT_SECONDS,
        read_seconds: float = READ_SECONDS,
        idle_expiry: float = IDLE_EXPIRY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ssl = ssl_context
        self._connect_seconds = connect_seconds
        self._read_seconds = read_seconds
        self._idle_expiry = idle_expiry
        self._clock = clock
        self._conn: http.client.HTTPConnection | None = None
        self._idle: _IdleCheck | None = None
        self._origin: tuple[str, str, int] | None = None
        self._idle_since = 0.0
        self.opened = 0  # connections made, for tests and diagnostics

    @property
    def connected(self) -> bool:
        return self._conn is not None

    def post(
        self, origin: tuple[str, str, int], target: str, body: bytes,
        headers: Mapping[str, str],
    ) -> int:
        """POST `body` to `target` (path and query, already encoded) at `origin` (scheme,
        host, port); the status. Raises one of POST_ERRORS when it failed, and then drops the
        connection, so the next post starts on a new one."""
        self.send(origin, "POST", target, body, headers)
        return self.receive().status

    def send(
        self, origin: tuple[str, str, int], method: str, target: str, body: bytes | None,
        headers: Mapping[str, str],
    ) -> None:
        """The request, on the kept connection or a new one; `receive` reads the reply. What
        fails here failed before the server could answer (as urlopen tells the two apart)."""
        conn = self._usable(origin)
        try:
            conn.request(method, target, body=body, headers=dict(headers))
        except BaseException:
            self.close()
            raise

    def receive(self) -> Reply:
        """The reply to what `send` sent, read whole; the connection is kept if it may be."""
        conn = self._conn
        if conn is None:
            raise http.client.ResponseNotReady("nothing was sent")
        try:
            response = conn.getresponse()
            body = response.read()
        except BaseException:
            self.close()
            raise
        if response.will_close:
            self.close()
        else:
            self._idle_since = self._clock()
        return Reply(response.status, response.reason, response.msg, body)

    def close(self) -> None:
        conn, self._conn, self._origin, self._idle = self._conn, None, None, None
        if conn is not None:
            conn.close()

    def _usable(self, origin: tuple[str, str, int]) -> http.client.HTTPConnection:
        conn = self._conn
        if conn is not None and (
            origin != self._origin
            or self._clock() - self._idle_since > self._idle_expiry
            or self._idle is None
            or self._idle.closed_by_peer()
        ):
            self.close()
            conn = None
        if conn is None:
            conn = self._open(origin)
        return conn

    def _open(self, origin: tuple[str, str, int]) -> http.client.HTTPConnection:
        scheme, host, port = origin
        conn = (
            http.client.HTTPSConnection(
                host, port, timeout=self._connect_seconds, context=self._ssl
            )
            if scheme == "https"
            else http.client.HTTPConnection(host, port, timeout=self._connect_seconds)
        )
        try:
            conn.connect()
            if conn.sock is None:
                raise ConnectionError("http.client made no socket")
            conn.sock.settimeout(self._read_seconds)
            idle = _IdleCheck(conn.sock)
        except BaseException:
            conn.close()
            raise
        self._conn, self._origin, self._idle = conn, origin, idle
        self.opened += 1
        return conn


class _IdleCheck:
    """Whether the server closed an idle kept-alive connection: an idle connection is never
    readable, unless the server closed it (or sent what nobody asked for); either way it cannot
    carry the next request. A poll object registered once costs a third of select() per check.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._poll = select.poll() if hasattr(select, "poll") else None
        if self._poll is not None:
            self._poll.register(sock, select.POLLIN | select.POLLPRI)

    def closed_by_peer(self) -> bool:
        try:
            if self._poll is not None:
                return bool(self._poll.poll(0))
            return bool(select.select([self._sock], [], [], 0)[0])
        except (OSError, ValueError):
            return True


def proxy_in_environment() -> bool:
    """Whether the environment names an HTTP proxy: http.client would not use it, so the
    callers send through a client that does (httpx, urllib)."""
    return bool({"http", "https", "all"} & set(getproxies()))


class ConnectionShelf:
    """Idle kept-alive connections that any thread borrows one at a time and puts back.

    For clients shared by threads that come and go (the worker serves channels on a new pool
    of threads each batch): a connection kept per thread would be left open by every thread
    that ended. At most `max_idle` wait on the shelf; the last one put back is lent first.
    """

    def __init__(self, factory: Callable[[], KeptConnection], max_idle: int = 8) -> None:
        self._factory = factory
        self._max_idle = max_idle
        self._idle: list[KeptConnection] = []
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def borrowed(self) -> Iterator[KeptConnection]:
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._factory()
        try:
            yield conn
        finally:
            self._put_back(conn)

    def idle(self) -> int:
        with self._lock:
            return len(self._idle)

    def close(self) -> None:
        """Close the idle connections; one lent out now is closed when it comes back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _put_back(self, conn: KeptConnection) -> None:
        if conn.connected:
            with self._lock:
                if not self._closed and len(self._idle) < self._max_idle:
                    self._idle.append(conn)
                    return
        conn.close()
