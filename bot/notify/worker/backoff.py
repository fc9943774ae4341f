"""How long a channel waits after Slack failed a post, and when its row is given up.

The wait is stored with the row (the outbox's `available_at`), so it must be one number decided
at the failure: exponential from a small base, capped well under a minute, with full jitter
(a uniform draw between 0 and that ceiling), so channels that failed together do not retry in
lockstep and a short blip costs seconds, not minutes. Libraries such as stamina or backoff
sleep inside a call; here nothing sleeps, the worker wakes when the next row is due.

A row is given up only when it has failed MIN_ATTEMPTS times AND was queued GIVE_UP_AFTER ago:
the short cap makes attempts cheap, so an attempt count alone would park a row within minutes
of an outage, and an age alone would park an old row (a channel paused for days) at its first
failure.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

RETRY_BASE_SECONDS = 1.0  # the first wait's ceiling; doubles with each failure
MAX_BACKOFF_SECONDS = 20.0  # no wait's ceiling is longer: Slack back means posts in seconds
MIN_ATTEMPTS = 12
GIVE_UP_AFTER = timedelta(days=1)
_MAX_EXPONENT = 60  # 2 ** 60 dwarfs any cap; beyond it the float would overflow

Uniform = Callable[[float, float], float]  # random.uniform's shape: a value in [a, b]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Full-jitter exponential back-off; `uniform` is the random source (injected in tests)."""

    base_seconds: float = RETRY_BASE_SECONDS
    cap_seconds: float = MAX_BACKOFF_SECONDS
    uniform: Uniform = random.uniform

    def ceiling(self, attempts: int) -> float:
        """The longest wait after `attempts` earlier failures (0 for the first failure)."""
        exponent = min(max(0, attempts), _MAX_EXPONENT)
        return min(self.cap_seconds, self.base_seconds * 2.0**exponent)

    def delay(self, attempts: int) -> timedelta:
        """A wait drawn uniformly from [0, ceiling]; a draw outside it is clamped."""
        ceiling = self.ceiling(attempts)
        drawn = self.uniform(0.0, ceiling)
        return timedelta(seconds=min(ceiling, max(0.0, drawn)))


def gives_up(attempts: int, queued_at: datetime, now: datetime) -> bool:
    """Whether a row that has now failed `attempts` times, queued at `queued_at`, is parked."""
    return attempts >= MIN_ATTEMPTS and now - queued_at >= GIVE_UP_AFTER
