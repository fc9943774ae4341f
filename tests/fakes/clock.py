"""The one fake clock of the test suite: time moves only when a test says so."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class FakeClock:
    """A `bot.clock.Clock` that moves only when told to; `sleep` advances it instead of waiting.

    Thread-safe, so concurrent tests (and the worker thread) can share one.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
        self._monotonic = 1000.0
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._monotonic

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
        self.advance(max(seconds, 0.0))

    def advance(self, delta: float | timedelta) -> None:
        """Move wall and monotonic time forward by seconds or a timedelta."""
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else delta
        with self._lock:
            self._now += timedelta(seconds=seconds)
            self._monotonic += seconds

    def set(self, now: datetime) -> None:
        """Jump the wall time (monotonic time keeps going forward by the same amount or 0)."""
        with self._lock:
            self._monotonic += max(0.0, (now - self._now).total_seconds())
            self._now = now
