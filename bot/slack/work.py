"""Work that follows an ack: a fixed pool of threads and a bounded queue in front of it.

An ack never waits for a thread: the listener offers its work here and, when the queue is
full, tells the user at once that the bot is busy instead of letting Slack time out.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)


class WorkQueue:
    def __init__(self, threads: int, limit: int, *, name: str) -> None:
        """`threads` run jobs; at most `limit` more wait for one."""
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)
        self._capacity = threads + limit
        self._name = name
        self._pending = 0
        self._closed = False
        self._idle = threading.Condition()

    @property
    def pending(self) -> int:
        """Jobs running or waiting."""
        with self._idle:
            return self._pending

    def submit(self, job: Callable[[], object]) -> bool:
        """Run `job` on the pool; False, at once, when the queue is full or closed."""
        with self._idle:
            if self._closed or self._pending >= self._capacity:
                return False
            self._pending += 1
        try:
            self._executor.submit(self._run, job)
        except RuntimeError:  # shut down between the check and here
            self._done()
            return False
        return True

    def close(self, timeout: float) -> None:
        """Take no more work, give what is queued `timeout` seconds to finish, drop the rest."""
        deadline = time.monotonic() + timeout
        with self._idle:
            self._closed = True
            while self._pending and (remaining := deadline - time.monotonic()) > 0:
                self._idle.wait(remaining)
            left = self._pending
        if left:
            log.warning("%s: %d job(s) unfinished at shutdown", self._name, left)
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _run(self, job: Callable[[], object]) -> None:
        try:
            job()
        except Exception:
            log.exception("%s: a job failed", self._name)
        finally:
            self._done()

    def _done(self) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()
