"""The database part of GET /healthz: a quick ping with a deadline, never a pile of waiters.

A ping runs on one thread of its own. It must answer within `timeout`; while an earlier ping
is still stuck (a database that does not answer at all), the next check says so at once
instead of starting another, so health checks stay fast and hold no request thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 2.0
OK = "ok"


class DatabaseProbe:
    def __init__(self, ping: Callable[[], None], *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._ping = ping
        self._timeout = timeout
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="health")
        self._running: Future[None] | None = None
        self._lock = threading.Lock()

    def check(self) -> str:
        """"ok", or what is wrong in a few words (the detail goes to the log)."""
        with self._lock:
            running = self._running
            if running is not None and not running.done():
                return "down: an earlier check still waits for an answer"
            future = self._running = self._executor.submit(self._ping)
        try:
            future.result(timeout=self._timeout)
        except FutureTimeout:
            log.warning("database health check: no answer within %.1f s", self._timeout)
            return f"down: no answer within {self._timeout:g} s"
        except Exception as exc:
            log.warning("database health check failed: %s: %s", type(exc).__name__, exc)
            return f"down: {type(exc).__name__}"
        return OK

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
