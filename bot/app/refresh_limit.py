"""How often one user may make the bot skip its cache: `refresh` is an uncached API call each.

A small per-user rate (a sliding window, in this process): past it, the user is told when
`refresh` works again, and the cached answer is one command without it away.
"""

from __future__ import annotations

import math
import threading
from collections import deque

from cachetools import TTLCache

from bot.clock import Clock

REFRESHES_PER_WINDOW = 3
WINDOW_SECONDS = 60.0
MAX_USERS = 10_000  # users remembered at once; the oldest go first


class RefreshLimit:
    def __init__(
        self,
        clock: Clock,
        *,
        per_window: int = REFRESHES_PER_WINDOW,
        window_seconds: float = WINDOW_SECONDS,
    ) -> None:
        self._clock = clock
        self.per_window = per_window
        self.window_seconds = window_seconds
        self._lock = threading.Lock()
        self._seen: TTLCache[str, deque[float]] = TTLCache(
            maxsize=MAX_USERS, ttl=window_seconds, timer=clock.monotonic
        )

    def wait(self, user: str) -> float:
        """0 and counted when `user` may refresh now; else the seconds until they may."""
        now = self._clock.monotonic()
        with self._lock:
            times = self._seen.get(user) or deque()
            while times and times[0] <= now - self.window_seconds:
                times.popleft()
            if len(times) >= self.per_window:
                self._seen[user] = times
                return times[0] + self.window_seconds - now
            times.append(now)
            self._seen[user] = times  # a new write: kept for a window from now
            return 0.0

    def refusal(self, user: str) -> str | None:
        """None (and counted) when `user` may refresh now; else what to tell them (mrkdwn)."""
        wait = self.wait(user)
        if wait <= 0:
            return None
        return (
            f"`refresh` asks MetaKraftwerk again, and you did that {self.per_window} times in "
            f"the last {self.window_seconds:g} s. Try again in {math.ceil(wait)} s, or leave "
            "out `refresh` for the cached answer."
        )
