"""When and how long to wait before trying MetaKraftwerk again.

A small loop rather than stamina: the loop must share one deadline with logins and related
lookups, cap every attempt's timeout at the time left, give up at once when a Retry-After points
beyond that deadline, and take an injected clock so tests of backoff do not sleep. stamina
(via tenacity) sleeps and measures time through globals, and its hook cannot say "stop now".
"""

from __future__ import annotations

import email.utils
import random
from dataclasses import dataclass
from datetime import UTC, datetime

# 501 and 505 say the server will never do it; waiting does not help.
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 507, 508, 509, 520, 521, 522, 523, 524})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter; the deadline, not an attempt count, ends the retries."""

    initial: float = 0.1
    maximum: float = 2.0
    exp_base: float = 2.0
    jitter: float = 1.0  # each wait is stretched by up to this fraction, at random
    connect_timeout: float = 3.0  # below the deadline, so an unreachable host gets a 2nd try
    max_attempts: int = 6

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """The wait after failed attempt number `attempt` (1-based)."""
        base = min(self.maximum, self.initial * self.exp_base ** max(0, attempt - 1))
        return min(self.maximum, base * (1.0 + self.jitter * rng.random()))


def is_retryable_status(status: int) -> bool:
    return status in _RETRY_STATUSES


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
