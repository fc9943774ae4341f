"""Replays: a signed request is acted on once, however often it is sent within its window.

The guard is a Protocol so that a deployment of several processes can plug in one shared
store (Redis `SET key 1 NX EX ttl` answers the same question); one process keeps its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from cachetools import TLRUCache

# Genuine Slack traffic fills this, nobody else can (a key is stored only after its signature
# was verified); 100 000 requests in 5 minutes is far beyond one team's use.
DEFAULT_MAX_KEYS = 100_000


class ReplayGuard(Protocol):
    def first_time(self, key: str, ttl_seconds: float) -> bool:
        """True the first time `key` is seen within `ttl_seconds`; False for a repeat."""
        ...


class MemoryReplayGuard:
    """Keys kept in-process, each for its own TTL.

    cachetools' TLRUCache is its TTLCache with a time to live per item, which the Protocol's
    `ttl_seconds` asks for; the lock makes the check-and-set one step across threads.
    """

    def __init__(
        self, *, max_keys: int = DEFAULT_MAX_KEYS, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self._seen: TLRUCache[str, float] = TLRUCache(
            maxsize=max_keys, ttu=_expires_after_value, timer=timer
        )
        self._lock = threading.Lock()

    def first_time(self, key: str, ttl_seconds: float) -> bool:
        with self._lock:
            if key in self._seen:
                return False
            self._seen[key] = max(ttl_seconds, 0.0)
            return True


def _expires_after_value(key: str, ttl_seconds: float, now: float) -> float:
    return now + ttl_seconds
