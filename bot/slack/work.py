"""Work that follows an ack: a fixed pool of threads and a bounded queue in front of it.

An ack never waits for a thread: the listener offers its work here and, when the queue is
full, tells the user at once that the bot is busy instead of letting Slack time out.

The threads take jobs from a `queue.SimpleQueue` (C, one lock): nobody waits for a job's
result, so the Future and its Condition that a ThreadPoolExecutor makes for every job would
be work for nothing. A thread starts when a job finds no idle one, up to `threads`.

`submit_later` offers a job after a delay (Slack's Retry-After, say) without holding a pool
thread meanwhile: one timer thread per queue keeps them all until they are due.
"""

from __future__ import annotations

import contextvars
import functools
import heapq
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

Job = Callable[[], object]
MAX_LATER = 1024  # jobs waiting for their time; more are refused


def _in_this_context(job: Job) -> Job:
    """The job run in a copy of the submitter's context: a request's installation token
    (bot/slack/tenant_token.py) goes with its answer to the thread that sends it."""
    return functools.partial(contextvars.copy_context().run, job)


class WorkQueue:
    def __init__(self, threads: int, limit: int, *, name: str, max_later: int = MAX_LATER) -> None:
        """`threads` run jobs; at most `limit` more wait for one, `max_later` for their time."""
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._max_threads = threads
        self._threads: list[threading.Thread] = []
        self._capacity = threads + limit
        self._name = name
        self._pending = 0
        self._idle_threads = 0  # threads that finished a job and nobody has claimed since
        self._closed = False
        self._idle = threading.Condition()
        self._later: list[tuple[float, int, Job]] = []  # a heap: (due, order, job)
        self._max_later = max_later
        self._order = itertools.count()
        self._later_due = threading.Condition()
        self._timer: threading.Thread | None = None

    @property
    def pending(self) -> int:
        """Jobs running or waiting."""
        with self._idle:
            return self._pending

    def submit(self, job: Job) -> bool:
        """Run `job` on the pool; False, at once, when the queue is full or closed."""
        thread: threading.Thread | None = None
        job = _in_this_context(job)
        with self._idle:
            if self._closed or self._pending >= self._capacity:
                return False
            self._pending += 1
            if self._idle_threads:
                self._idle_threads -= 1  # that thread will take this job
            elif len(self._threads) < self._max_threads:
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}_{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
        self._jobs.put(job)
        if thread is not None:
            thread.start()
        return True

    def submit_later(self, seconds: float, job: Job) -> bool:
        """Offer `job` to the pool in `seconds`; False, at once, when closed or `max_later` wait.

        When it is due and the queue is full, it is dropped with a warning.
        """
        with self._later_due:
            if self._closed or len(self._later) >= self._max_later:
                return False
            due = time.monotonic() + max(0.0, seconds)
            heapq.heappush(self._later, (due, next(self._order), _in_this_context(job)))
            self._later_due.notify()
            if self._timer is None:
                self._timer = threading.Thread(
                    target=self._offer_when_due, name=f"{self._name}_later", daemon=True
                )
                self._timer.start()
        return True

    @property
    def waiting_later(self) -> int:
        with self._later_due:
            return len(self._later)

    def close(self, timeout: float) -> None:
        """Take no more work, give what is queued `timeout` seconds to finish, drop the rest."""
        deadline = time.monotonic() + timeout
        with self._later_due:
            later, self._later = len(self._later), []
            self._closed = True  # read under either lock: it only ever turns True
            self._later_due.notify()
        if later:
            log.warning("%s: %d job(s) due later dropped at shutdown", self._name, later)
        with self._idle:
            self._closed = True
            while self._pending and (remaining := deadline - time.monotonic()) > 0:
                self._idle.wait(remaining)
            left = self._pending
            threads = len(self._threads)
        if left:
            log.warning("%s: %d job(s) unfinished at shutdown", self._name, left)
        dropped = 0
        while True:  # what no thread has taken yet is not started any more
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                dropped += 1
        if dropped:
            with self._idle:
                self._pending -= dropped
        for _ in range(threads):
            self._jobs.put(None)  # each thread stops after the job it is running

    def _offer_when_due(self) -> None:
        while True:
            with self._later_due:
                while not self._closed and (
                    not self._later or self._later[0][0] > time.monotonic()
                ):
                    self._later_due.wait(
                        self._later[0][0] - time.monotonic() if self._later else None
                    )
                if self._closed:
                    return
                _, _, job = heapq.heappop(self._later)
            if not self.submit(job):
                log.warning("%s: a job due now found the queue full; dropped", self._name)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                job()
            except Exception:
                log.exception("%s: a job failed", self._name)
            finally:
                self._done()

    def _done(self) -> None:
        with self._idle:
            self._pending -= 1
            # At most every thread: one that took an unclaimed job counts once.
            self._idle_threads = min(self._idle_threads + 1, len(self._threads))
            if self._closed:
                self._idle.notify_all()
