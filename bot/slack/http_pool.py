"""Kept-alive connections for answers and Web API calls: urllib3's PoolManager, and a retry
policy that sends a request again only when the server cannot have acted on it.

Sent again (urllib3's `Retry`, `SafeRetry` below):
- a connection that could not be made: refused, unreachable, a connect timeout, or a TLS
  handshake the peer reset, closed or let time out. Nothing of the request was sent. Up to
  `RESENDS` times, with a short back-off.
- a request on a reused kept-alive connection that was reset or closed before the first byte
  of a reply: the server, or a load balancer in front of it, dropped the idle connection as the
  request went out (the race every HTTP/1.1 client meets; browsers resend then too). It goes
  again on the next idle connection or a new one, without waiting and outside the budget.
Not sent again: the same failure on a new connection (a server that accepted a connection,
read the request and dropped it may have acted on it), a read timeout, a reply cut off after
its first byte, a refused certificate (it is refused again), and any HTTP status. A
response_url takes up to five posts and has no idempotency key: a second copy of an answer
would be shown twice, so only the class above is resent.

urllib3 drops an idle connection the server closed before using it; `IDLE_EXPIRY_SECONDS`
drops one idle longer than that too (as httpx does), so a connection a NAT or load balancer
forgot without a word is seldom reused. At most `maxsize` idle connections wait per origin,
in one pool shared by all threads: a thread that ends leaves nothing open.
"""

from __future__ import annotations

import http.client
import logging
import ssl
import time
from collections.abc import Callable
from typing import Any, cast
from urllib.request import getproxies

from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, PoolManager, Timeout
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import (
    ClosedPoolError,
    ConnectTimeoutError,
    MaxRetryError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

log = logging.getLogger(__name__)

CONNECT_SECONDS = 5.0
READ_SECONDS = 10.0
IDLE_EXPIRY_SECONDS = 5.0  # as httpx keeps an idle connection
RESENDS = 3  # connections that could not be made; stale ones do not count (SafeRetry)
BACKOFF_SECONDS = 0.2  # no wait, then 0.4 s, 0.8 s: a blip passes, an outage is not waited out
BACKOFF_MAX_SECONDS = 2.0
MAX_STALE = 32  # the idle connections a pool keeps (make_pool_manager's maxsize)
MAX_ORIGINS = 4  # pools kept: answers go to one or two origins, Web API calls to one

# A handshake that failed this way may work on the next connection; a refused certificate
# or protocol (other ssl.SSLErrors) will not.
_HANDSHAKE_DROPPED = (ConnectionError, TimeoutError, ssl.SSLEOFError, ssl.SSLZeroReturnError)
# A reply that never started: RemoteDisconnected is a ConnectionResetError.
_DROPPED = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)


class NotSent(ConnectTimeoutError):
    """A new connection failed before the request went out (as urllib3's own
    NewConnectionError, a ConnectTimeoutError so that `Retry` counts it as a connect error)."""


class StaleConnection(ConnectTimeoutError):
    """A reused kept-alive connection was dropped before any byte of the reply."""


class _HTTPConnection(HTTPConnection):
    """urllib3's connection, plus: the idle expiry; telling a stale reused connection from a
    new one that failed; and the request's header block and body in one send, as http.client
    sends them (urllib3 makes two system calls and two TCP segments of them)."""

    _replies = 0
    _idle_since = 0.0
    _idle_expiry = IDLE_EXPIRY_SECONDS
    _clock: Callable[[], float] = staticmethod(time.monotonic)
    _holding = False
    _held: bytes | None = None

    def connect(self) -> None:
        self._replies = 0
        try:
            super().connect()
        except _HANDSHAKE_DROPPED as exc:
            raise NotSent(f"dropped while connecting: {type(exc).__name__}") from exc

    def endheaders(
        self, message_body: Any = None, *, encode_chunked: bool = False
    ) -> None:
        self._holding = True  # the header block's send is held for the body's
        try:
            super().endheaders(message_body, encode_chunked=encode_chunked)
        finally:
            self._holding = False

    def send(self, data: Any) -> None:
        if self._holding and self._held is None and isinstance(data, bytes):
            self._held = data
            return
        held, self._held = self._held, None
        if held is not None and isinstance(data, bytes):
            data = held + data
        elif held is not None:
            super().send(held)
        super().send(data)

    def getresponse(self) -> Any:
        reused = self._replies > 0
        try:
            held, self._held = self._held, None
            if held is not None:  # a request without a body
                super().send(held)
            response = super().getresponse()
        except _DROPPED as exc:
            if reused:
                raise StaleConnection(f"kept-alive: {type(exc).__name__}") from exc
            raise
        self._replies += 1
        self._idle_since = self._clock()
        return response

    def close(self) -> None:
        self._held = None
        super().close()

    @property
    def is_connected(self) -> bool:
        fresh = self._replies == 0 or self._clock() - self._idle_since <= self._idle_expiry
        return fresh and super().is_connected


class _HTTPSConnection(_HTTPConnection, HTTPSConnection):
    """The same over TLS (HTTPSConnection's connect, under the overrides above)."""


class SafeRetry(Retry):
    """`Retry` that replaces a stale kept-alive connection without counting it against the
    budget or backing off (each one costs an idle connection, of which a pool keeps at most
    `MAX_STALE`: after a load balancer forgot all of them, an answer still gets through), and
    says in one line, without the URL (a response_url carries a token), what it sends again
    and why."""

    def increment(
        self, method: str | None = None, url: str | None = None, *args: Any, **kwargs: Any
    ) -> SafeRetry:
        error = kwargs.get("error")
        base: Retry = self
        if isinstance(error, StaleConnection) and isinstance(self.connect, int) and sum(
            isinstance(h.error, StaleConnection) for h in self.history
        ) < MAX_STALE:
            base = self.new(connect=self.connect + 1)
        retry = cast(SafeRetry, Retry.increment(base, method, url, *args, **kwargs))
        if error is not None:
            log.info("sending again after %s", describe(error))
        return retry

    def get_backoff_time(self) -> float:
        if self.history and isinstance(self.history[-1].error, StaleConnection):
            return 0.0
        return super().get_backoff_time()


def retry_policy() -> SafeRetry:
    """Connect errors (and stale connections, see the module) only; urllib3's POST-less
    read retries, status retries and redirects off."""
    return SafeRetry(
        total=None, connect=RESENDS, read=0, other=0, status=0, redirect=False,
        backoff_factor=BACKOFF_SECONDS, backoff_max=BACKOFF_MAX_SECONDS,
        raise_on_status=False,
    )


class Pools(PoolManager):
    """urllib3's PoolManager on the connection classes above; after `close()` it opens
    nothing new (a post then fails with ClosedPoolError instead of opening a socket that
    nobody would close)."""

    def __init__(
        self, *, idle_expiry: float = IDLE_EXPIRY_SECONDS,
        clock: Callable[[], float] = time.monotonic, **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        kept = {"_idle_expiry": idle_expiry, "_clock": staticmethod(clock)}
        self.pool_classes_by_scheme = {
            "http": type("HTTPPool", (HTTPConnectionPool,), {
                "ConnectionCls": type("HTTPConnection", (_HTTPConnection,), kept),
            }),
            "https": type("HTTPSPool", (HTTPSConnectionPool,), {
                "ConnectionCls": type("HTTPSConnection", (_HTTPSConnection,), kept),
            }),
        }
        self._closed = False
        self._by_origin: dict[tuple[str, str, int], HTTPConnectionPool] = {}

    def pool_for(self, scheme: str, host: str, port: int) -> HTTPConnectionPool:
        """The origin's pool, found by a dict lookup instead of PoolManager's key building
        and lock each request (a fifth of urllib3's CPU per answer)."""
        origin = (scheme, host, port)
        pool = self._by_origin.get(origin)
        if pool is None or pool.pool is None:  # not made yet, or evicted and so closed
            pool = self.connection_from_host(host, port, scheme)
            if len(self._by_origin) >= MAX_ORIGINS:
                self._by_origin.clear()
            self._by_origin[origin] = pool
        return pool

    def connection_from_pool_key(
        self, pool_key: Any, request_context: dict[str, Any]
    ) -> HTTPConnectionPool:
        if self._closed:
            raise ClosedPoolError(cast(Any, None), "the connection pools are closed")
        return super().connection_from_pool_key(pool_key, request_context)

    def close(self) -> None:
        """Close the idle connections; one in use is closed when its reply is read."""
        self._closed = True
        pools = list(self._by_origin.values())
        self._by_origin.clear()
        for key in self.pools.keys():  # noqa: SIM118 (the container cannot be iterated)
            pool = self.pools.get(key)
            if pool is not None:
                pools.append(pool)
        self.clear()  # forgets the pools without closing them
        for pool in pools:
            pool.close()


def make_pool_manager(
    ssl_context: ssl.SSLContext, *, connect_seconds: float = CONNECT_SECONDS,
    read_seconds: float = READ_SECONDS, maxsize: int = MAX_STALE,
    idle_expiry: float = IDLE_EXPIRY_SECONDS, clock: Callable[[], float] = time.monotonic,
) -> Pools:
    """The pools for a process's answers (or its Web API calls)."""
    return Pools(
        idle_expiry=idle_expiry, clock=clock, num_pools=MAX_ORIGINS, maxsize=maxsize, block=False,
        retries=retry_policy(),
        timeout=Timeout(connect=connect_seconds, read=read_seconds), ssl_context=ssl_context,
    )


def proxy_in_environment() -> bool:
    """Whether the environment names an HTTP proxy: the pools would not use it, so the
    callers send through a client that does (httpx, urllib)."""
    return bool({"http", "https", "all"} & set(getproxies()))


def describe(error: BaseException) -> str:
    """The failure's root cause for a log line: its type, and whether it was a stale
    connection or a connection that could not be made."""
    if isinstance(error, MaxRetryError) and error.reason is not None:
        if isinstance(error.reason, ConnectTimeoutError):  # the class that is sent again
            return f"{describe(error.reason)}, {RESENDS + 1} tries"
        return describe(error.reason)
    if isinstance(error, ConnectTimeoutError) and error.__cause__ is not None:
        # NotSent, StaleConnection, and urllib3's NewConnectionError (refused, no such host)
        kind = "on a kept-alive connection" if isinstance(error, StaleConnection) else (
            "connecting"
        )
        return f"{type(error.__cause__).__name__} {kind}"
    if isinstance(error, ReadTimeoutError):
        return "ReadTimeoutError (not sent again: it may have arrived)"
    if isinstance(error, (ProtocolError, SSLError)):
        inner = next((a for a in error.args if isinstance(a, BaseException)), None)
        if isinstance(inner, _DROPPED):
            name = type(inner).__name__
            return f"{name} on a new connection (not sent again: it may have arrived)"
        if inner is not None:
            return describe(inner)
    if error.__cause__ is not None and type(error).__module__.startswith("urllib3"):
        return describe(error.__cause__)
    return type(error).__name__


def headers_of(response: BaseHTTPResponse) -> http.client.HTTPMessage:
    """The reply's headers as urllib's `urlopen` gives them (repeated names kept)."""
    message = http.client.HTTPMessage()
    for name, value in response.headers.iteritems():
        message[name] = value
    return message


def _quiet_retry_warning(record: logging.LogRecord) -> bool:
    """urllib3 logs each retry with the request's target, which for a response_url holds its
    token; `SafeRetry` logs the retry without it."""
    return not (isinstance(record.msg, str) and record.msg.startswith("Retrying ("))


logging.getLogger("urllib3.connectionpool").addFilter(_quiet_retry_warning)
