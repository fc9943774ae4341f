"""The cache port's in-process backend: what this process fetched, in its own memory.

The default without CACHE_URL, and the Redis backend's mirror of what it read or wrote.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence

from cachetools import LRUCache, TLRUCache

from bot.cache.port import Cached, CacheLimits, Loaded
from bot.clock import Clock


class LocalStore:
    """The in-process store: a TTL cache (timed by the injected clock) and a bounded LRU."""

    def __init__(self, limits: CacheLimits, clock: Clock) -> None:
        self._lock = threading.Lock()

        def time_to_use(key: Hashable, entry: Cached[object], now: float) -> float:
            return now + limits.ttl_for(key, entry)

        self._fresh: TLRUCache[Hashable, Cached[object]] = TLRUCache(
            maxsize=limits.max_entries, ttu=time_to_use, timer=clock.monotonic
        )
        self._stale: LRUCache[Hashable, Cached[object]] = LRUCache(maxsize=limits.max_entries)

    def fresh(self, key: Hashable) -> Cached[object] | None:
        with self._lock:
            return self._fresh.get(key)

    def stale(self, key: Hashable) -> Cached[object] | None:
        with self._lock:
            return self._stale.get(key)

    def put(self, items: Sequence[tuple[Hashable, Cached[object]]]) -> None:
        with self._lock:
            for key, entry in items:
                self._fresh[key] = entry
                self._stale[key] = entry

    def put_fresh(self, key: Hashable, entry: Cached[object]) -> None:
        with self._lock:
            self._fresh[key] = entry

    def keep_stale(self, key: Hashable, entry: Cached[object]) -> None:
        """Remember a copy for fallbacks without making it fresh here."""
        with self._lock:
            held = self._stale.get(key)
            if held is None or held.fetched_at <= entry.fetched_at:
                self._stale[key] = entry

    def load(
        self,
        key: Hashable,
        fetch: Callable[[], Cached[object]],
        *,
        refresh: bool,
        wait: float | None,
    ) -> Loaded:
        return Loaded(fetch(), here=True)

    def held(self) -> list[Cached[object]]:
        with self._lock:
            return list(self._stale.values()) + list(self._fresh.values())

    def sizes(self) -> tuple[int, int]:
        with self._lock:
            return len(self._fresh), len(self._stale)

    def clear(self) -> None:
        with self._lock:
            self._fresh.clear()
            self._stale.clear()

    def backend(self) -> dict[str, str]:
        return {"backend": "local"}

    def close(self) -> None:
        """Nothing to release: memory only."""
