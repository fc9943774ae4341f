"""A cap on requests in flight per upstream host: every tenant calls the same MetaKraftwerk.

The poll pool bounds the threads of one worker; this bounds what they send to one host, so
that a pool sized for many hosts (or for slow ones) cannot crowd one of them. It is per process:
the fleet's cap is this times the number of workers.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

DEFAULT_PER_HOST = 8


class HostLimits:
    """One bounded semaphore per host, made on first use; safe to share between threads."""

    def __init__(self, per_host: int = DEFAULT_PER_HOST) -> None:
        if per_host < 1:
            raise ValueError("per_host must be at least 1")
        self.per_host = per_host
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._busy: dict[str, int] = {}

    def _semaphore(self, host: str) -> threading.BoundedSemaphore:
        with self._lock:
            if host not in self._slots:
                self._slots[host] = threading.BoundedSemaphore(self.per_host)
                self._busy[host] = 0
            return self._slots[host]

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        """Wait for a free slot for `host`, hold it for the request(s) inside."""
        semaphore = self._semaphore(host)
        semaphore.acquire()
        self._count(host, +1)
        try:
            yield
        finally:
            self._count(host, -1)
            semaphore.release()

    def try_slot(self, host: str) -> bool:
        """Take a slot without waiting; the caller gives it back with `release`."""
        if not self._semaphore(host).acquire(blocking=False):
            return False
        self._count(host, +1)
        return True

    def release(self, host: str) -> None:
        self._count(host, -1)
        self._semaphore(host).release()

    def in_flight(self, host: str) -> int:
        with self._lock:
            return self._busy.get(host, 0)

    def _count(self, host: str, step: int) -> None:
        with self._lock:
            self._busy[host] += step
