"""Deadlines and a full house for waitress: what its own settings do not bound.

waitress closes a connection only after `channel_timeout` seconds *without a byte*, so a client
that sends one byte every 20 s holds a connection for ever, and at `connection_limit` it stops
accepting: a thousand such clients stop every answer, /healthz included. Here each request must
arrive in time (its headers within `header_seconds` of its first byte, its body within
`body_seconds` after them), and at the limit the connections that have waited longest for a
request of their own (partial or idle, never one being served) are closed to make room, so a
new connection (a platform's probe, Slack with a signed command) is always taken.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from typing import Any, cast

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

log = logging.getLogger(__name__)

ROOM_FRACTION = 20  # at the limit, close 1/20 of it (50 of 1000) at once
LOG_EVERY = 60.0  # seconds between two log lines about closed connections


class DeadlineChannel(HTTPChannel):
    """An HTTPChannel that knows since when it waits for the request it is receiving."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.idle_since = time.monotonic()  # no request yet, or the last one is complete
        self.request_began: float | None = None  # the first byte of the one being received
        self.headers_done: float | None = None
        self._timed: object | None = None

    def received(self, data: bytes) -> bool:
        result = super().received(data)
        now = time.monotonic()
        request = self.request
        if request is None:
            if self._timed is not None:
                self.idle_since = now
            self._timed = self.request_began = self.headers_done = None
            return result
        if request is not self._timed:  # a new request began in this data
            self._timed, self.request_began, self.headers_done = request, now, None
        if self.headers_done is None and request.headers_finished:
            self.headers_done = now
        return result

    def late(self, now: float, header_seconds: float, body_seconds: float) -> bool:
        """True when the request being received missed its header or its body deadline."""
        if self.request_began is None or self.will_close:
            return False
        if self.headers_done is None:
            return now - self.request_began > header_seconds
        return now - self.headers_done > body_seconds

    def waiting_since(self) -> float | None:
        """Since when it waits for a client's request; None while it serves or answers one."""
        if self.requests or self.total_outbufs_len or self.will_close or self.close_when_flushed:
            return None
        return self.request_began if self.request_began is not None else self.idle_since


class GuardedServer(TcpWSGIServer):
    """waitress's TCP server with request deadlines, and room made at the connection limit."""

    channel_class = DeadlineChannel

    def __init__(
        self, *args: Any, header_seconds: float, body_seconds: float, **kwargs: Any
    ) -> None:
        self.header_seconds = header_seconds
        self.body_seconds = body_seconds
        self._late = self._evicted = 0
        self._logged_at = -LOG_EVERY
        super().__init__(*args, **kwargs)

    def _channels(self) -> list[DeadlineChannel]:
        return list(cast(dict[int, DeadlineChannel], self.active_channels).values())

    def readable(self) -> bool:
        # waitress's own readable(), with room made instead of no longer accepting.
        now = time.time()
        if now >= self.next_channel_cleanup:
            self.next_channel_cleanup = int(now + self.adj.cleanup_interval)
            self.maintenance(int(now))
        if not self.accepting:
            return False
        if len(cast(dict[int, object], self._map)) < self.adj.connection_limit:  # type: ignore[attr-defined]
            return True
        self._make_room()
        return False  # those close in this round of the loop; the next one accepts

    def maintenance(self, now: int) -> None:
        super().maintenance(now)  # idle for channel_timeout
        monotonic = time.monotonic()
        for channel in self._channels():
            if channel.late(monotonic, self.header_seconds, self.body_seconds):
                channel.will_close = True
                self._late += 1
        self._log(monotonic)

    def _make_room(self) -> None:
        waiting = [
            (since, channel)
            for channel in self._channels()
            if (since := channel.waiting_since()) is not None
        ]
        waiting.sort(key=lambda pair: pair[0])
        for _, channel in waiting[: max(1, self.adj.connection_limit // ROOM_FRACTION)]:
            channel.will_close = True
            self._evicted += 1
        self._log(time.monotonic())

    def _log(self, now: float) -> None:
        """One line a minute at most: an attack of many connections must not flood the log."""
        if not (self._late or self._evicted) or now - self._logged_at < LOG_EVERY:
            return
        log.warning(
            "closed %d connection(s) whose request was late (headers within %g s, body within "
            "%g s) and %d that waited longest for a request at the connection limit (%d)",
            self._late, self.header_seconds, self.body_seconds, self._evicted,
            self.adj.connection_limit,
        )
        self._logged_at = now
        self._late = self._evicted = 0


def guarded_server(
    app: Callable[..., Any],
    sock: socket.socket,
    *,
    header_seconds: float,
    body_seconds: float,
    **adjustments: Any,
) -> GuardedServer:
    """What waitress's create_server builds for one TCP socket, as a GuardedServer."""
    adj = Adjustments(sockets=[sock], **adjustments)
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adj.threads)
    return GuardedServer(
        app,
        {},
        True,
        sock,
        dispatcher=dispatcher,
        adj=adj,
        bind_socket=False,
        sockinfo=(sock.family, sock.type, sock.proto, sock.getsockname()),
        header_seconds=header_seconds,
        body_seconds=body_seconds,
    )
