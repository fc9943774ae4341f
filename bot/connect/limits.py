"""How often the connect page answers one address, and how many posts one link may take.

In-process: each web process counts its own requests, which bounds guessing at a password
through one link to a few tries per process; the link itself expires within 10 minutes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque

from bot.clock import Clock

MAX_KEYS = 10_000  # addresses and links remembered; the oldest are forgotten first


class RateLimit:
    """At most `limit` hits per key in any `window_seconds`; thread-safe."""

    def __init__(self, limit: int, window_seconds: float, clock: Clock) -> None:
        self._limit = limit
        self._window = window_seconds
        self._clock = clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = self._clock.monotonic()
        with self._lock:
            hits = self._hits.pop(key, None) or deque()
            while hits and hits[0] <= now - self._window:
                hits.popleft()
            allowed = len(hits) < self._limit
            if allowed:
                hits.append(now)
            self._hits[key] = hits
            while len(self._hits) > MAX_KEYS:
                self._hits.popitem(last=False)
            return allowed
