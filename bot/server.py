"""The production web server: waitress, on one socket bound before any process starts serving.

waitress reads each request whole (headers and body) on its event loop before a thread sees
it, so a slow or stalled client holds a connection, not a thread; it refuses bodies over
MAX_BODY_BYTES unread. bot/connections.py adds what waitress has no setting for: a deadline for
each request's headers and body, and room made at the connection limit. Memory per connection
stays small: headers up to MAX_HEADER_BYTES, and a body's first INBUF_BYTES in memory, the
rest in a temporary file. With `workers` > 1 the parent binds the socket once and forks that
many processes, each serving it with its own threads, cache and queues; the parent only
restarts a process that dies and passes SIGTERM on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import signal
import socket
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from bot.config import ConfigError
from bot.connections import guarded_server
from bot.slack.front import MAX_BODY_BYTES
from bot.startup import WAITING_FOR_DATABASE, Starting

log = logging.getLogger(__name__)

THREADS = 8  # request threads per process: they verify and ack, the answers run elsewhere
CONNECTION_LIMIT = 1000  # open connections per process; at the limit the longest waiting close
CHANNEL_TIMEOUT = 30  # seconds an idle connection stays open
HEADER_SECONDS = 5  # a request's headers must be complete this long after its first byte
BODY_SECONDS = 10  # and its body this long after its headers (1 MB at 100 kB/s)
MAINTENANCE_SECONDS = 1  # how often the deadlines are checked
MAX_HEADER_BYTES = 16 * 1024  # Slack sends about 1 kB
INBUF_BYTES = 32 * 1024  # of a body, kept in memory; the rest waits in a temporary file
BACKLOG = 1024
RESTART_PAUSE = 1.0  # seconds between restarts of a process that died at once
QUICK_DEATH = 5.0  # a process that dies sooner than this after its start "died at once"
MAX_QUICK_DEATHS = 5
STOP_WAIT_SECONDS = 5.0  # for the start to notice a stop

Wait = Callable[[threading.Event], bool]


def bind(port: int, host: str = "0.0.0.0") -> socket.socket:  # noqa: S104 - serves the platform
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    return sock


def serve(
    load: Callable[[], Any],
    *,
    port: int,
    workers: int,
    threads: int = THREADS,
    wait: Wait | None = None,
) -> int:
    """Serve the app `load()` builds on 0.0.0.0:`port` until SIGTERM or SIGINT.

    `wait(stop)`, when given, runs before `load()` and returns once what the app needs is
    there (False: stopped first); meanwhile the port answers /healthz with 503 "starting".
    """
    _raise_open_files_limit()
    sock = bind(port)
    if workers <= 1:
        return serve_socket(load, sock, threads=threads, wait=wait)
    return _Supervisor(load, sock, workers, threads, wait).run()


def serve_socket(
    load: Callable[[], Any], sock: socket.socket, *, threads: int, wait: Wait | None = None
) -> int:
    """One process: serve `sock` with waitress and the app `load()` builds; close it on the
    way out. Without `wait` the app is built first (requests wait in the backlog meanwhile);
    with it the port serves at once, /healthz saying 503 "starting" until the app is built."""
    starting = Starting()
    if wait is None:
        starting.ready(load())
    else:
        starting.waiting_for = WAITING_FOR_DATABASE
    stopping = threading.Event()
    failed = threading.Event()
    server = guarded_server(
        starting,
        sock,
        header_seconds=HEADER_SECONDS,
        body_seconds=BODY_SECONDS,
        threads=threads,
        connection_limit=CONNECTION_LIMIT,
        channel_timeout=CHANNEL_TIMEOUT,
        cleanup_interval=MAINTENANCE_SECONDS,
        max_request_body_size=MAX_BODY_BYTES,
        max_request_header_size=MAX_HEADER_BYTES,
        inbuf_overflow=INBUF_BYTES,
        asyncore_use_poll=True,  # select() stops at 1024 descriptors
        expose_tracebacks=False,
        ident="releases-bot",
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("signal %s: finishing the requests in progress", signum)
        stopping.set()
        raise SystemExit(0)  # waitress's loop catches it and stops its threads

    def build() -> None:
        try:
            if wait is not None and not wait(stopping):
                return
            starting.waiting_for = None
            starting.ready(load())
        except Exception as exc:
            if isinstance(exc, ConfigError):  # one line for an operator, as at the start
                log.error("the web process cannot start: %s", exc)
            else:
                log.exception("the web process could not start")
            failed.set()
            os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    builder = threading.Thread(target=build, name="start", daemon=True)
    if starting.app is None:
        builder.start()
    try:
        server.run()
    finally:
        stopping.set()
        with contextlib.suppress(OSError):
            sock.close()
        if builder.is_alive():
            builder.join(timeout=STOP_WAIT_SECONDS)
        close = getattr(starting.app, "close", None)
        if callable(close):
            close()
    log.info("web process stopped")
    return 1 if failed.is_set() else 0


class _Supervisor:
    """Forks `workers` processes that share the socket; restarts one that dies."""

    def __init__(
        self,
        load: Callable[[], Any],
        sock: socket.socket,
        workers: int,
        threads: int,
        wait: Wait | None = None,
    ) -> None:
        self._load = load
        self._wait = wait
        self._sock = sock
        self._workers = workers
        self._threads = threads
        self._children: dict[int, float] = {}  # pid -> started at
        self._stopping = False
        self._quick_deaths = 0

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        for _ in range(self._workers):
            self._spawn()
        while self._children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:  # pragma: no cover - PEP 475 retries, kept for clarity
                continue
            started = self._children.pop(pid, None)
            if started is None or self._stopping:
                continue
            log.warning("web process %d exited (status %d); starting another", pid, status)
            if time.monotonic() - started < QUICK_DEATH:
                self._quick_deaths += 1
                if self._quick_deaths >= MAX_QUICK_DEATHS:
                    log.error("web processes keep dying at start; stopping")
                    self._stop(signal.SIGTERM, None)
                    continue
                time.sleep(RESTART_PAUSE)
            else:
                self._quick_deaths = 0
            self._spawn()
        self._sock.close()
        return 1 if self._quick_deaths >= MAX_QUICK_DEATHS else 0

    def _spawn(self) -> None:
        pid = os.fork()
        if pid == 0:  # the child
            code = 1
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                code = serve_socket(
                    self._load, self._sock, threads=self._threads, wait=self._wait
                )
            except BaseException:
                log.exception("web process failed")
            finally:
                logging.shutdown()
                os._exit(code)
        self._children[pid] = time.monotonic()

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        if not self._stopping:
            log.info("signal %s: stopping %d web process(es)", signum, len(self._children))
        self._stopping = True
        for pid in list(self._children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)


def _raise_open_files_limit() -> None:
    """Each connection is a descriptor: allow CONNECTION_LIMIT and some to spare."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = CONNECTION_LIMIT + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
