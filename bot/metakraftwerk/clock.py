"""Time as a dependency: wall time for dates and token expiry, monotonic time for deadlines.

Everything that waits or compares times takes a `Clock`, so tests can move time forward
instead of sleeping, and nothing patches `time` globally.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current wall time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps; only differences mean anything."""
        ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class ManualClock:
    """A clock that moves only when told to; `sleep` advances it instead of waiting."""

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

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)
            self._monotonic += seconds


@dataclass(frozen=True, slots=True)
class Deadline:
    """One total time budget for a lookup, shared by its retries, logins and related calls."""

    clock: Clock = field(repr=False)
    seconds: float
    started: float

    @classmethod
    def start(cls, clock: Clock, seconds: float) -> Deadline:
        return cls(clock=clock, seconds=seconds, started=clock.monotonic())

    def remaining(self) -> float:
        return max(0.0, self.started + self.seconds - self.clock.monotonic())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def describe(self) -> str:
        """The budget as users read it, e.g. '8 s' or '0.5 s'."""
        return f"{self.seconds:g} s"
