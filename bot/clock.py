"""Time as a dependency: wall time for dates and token expiry, monotonic time for deadlines.

Everything that waits or compares times takes a `Clock` (the API client, the cache, the
answers, the notification store and worker), so tests move one fake clock forward instead of
sleeping, and nothing patches `time` globally.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
