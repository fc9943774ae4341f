"""A TTL cache in front of the API: fresh answers, one upstream call per key, stale on error.

- Answers stay fresh for `ttl_seconds` (cachetools TLRUCache, timed by the injected clock);
  release group names, which rarely change, for `names_ttl_seconds` (15 minutes by default).
- Single flight: concurrent misses of one key make one upstream call; when it fails, every
  waiter gets that failure at once. cachetools' `cached(condition=...)` instead lets each waiter
  retry in turn, so N waiters during an outage make N calls and the last waits N deadlines.
  Measured with 20 threads and a fetch failing after 50 ms: cachetools made 20 calls and its
  slowest caller waited 1.0 s; this cache made 1 call, every caller failed after ~0.05 s
  (tests/cache/test_release_cache.py asserts the call counts).
- Stale on error: when the API is unavailable or answers garbage, an expired answer for the same
  key (kept in a bounded LRU beyond the TTL, up to `stale_max_age_seconds`) is returned marked
  stale, with the reason; "not found" and credential errors are never masked.
- A list answer also fills the by-id entries of the releases it contains.
- Entries live in a `CacheStore` (bot/cache/port.py): this process's memory by
  default, or one Redis shared by every process (`CACHE_URL`), which also makes single flight
  span processes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol, cast

from bot.cache.local import LocalStore
from bot.cache.port import (
    DEFAULT_NAMES_TTL,
    DEFAULT_STALE_MAX_AGE,
    GROUPS_KEY,
    Cached,
    CacheLimits,
    Loaded,
    StoreFactory,
)
from bot.clock import Clock, Deadline, SystemClock
from bot.config import Settings
from bot.metakraftwerk.errors import BadResponse, Unavailable
from bot.metakraftwerk.filter import ApiFilter
from bot.metakraftwerk.models import Release
from bot.metakraftwerk.single_flight import FlightTimeout, SingleFlight

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_NAMES_TTL", "GROUPS_KEY", "Cached", "ReleaseCache", "ReleaseSource"]


class ReleaseSource(Protocol):
    """What the cache needs from the client (MetaKraftwerkClient, or a fake in tests)."""

    def new_deadline(self) -> Deadline: ...

    def list_releases(
        self, f: ApiFilter | None = None, *, deadline: Deadline | None = None
    ) -> tuple[Release, ...]: ...

    def get_release(self, release_id: int, *, deadline: Deadline | None = None) -> Release: ...

    def fetch_groups(self, *, deadline: Deadline | None = None) -> dict[int, str]: ...


# Failures that older data can stand in for; 404s and credential errors must reach the user.
STALE_OK: tuple[type[Exception], ...] = (Unavailable, BadResponse)


class ReleaseCache:
    """Thread-safe cache keyed by ApiFilter, ("release", id) and "groups"."""

    def __init__(
        self,
        source: ReleaseSource,
        *,
        ttl_seconds: float = 60.0,
        max_entries: int = 1024,
        clock: Clock | None = None,
        stale_max_age_seconds: float = DEFAULT_STALE_MAX_AGE,
        wait_timeout: float | None = None,
        names_ttl_seconds: float | None = None,
        store: StoreFactory | None = None,
    ) -> None:
        self._source = source
        self._clock: Clock = clock or SystemClock()
        self._lock = threading.RLock()
        limits = CacheLimits(
            ttl_seconds=ttl_seconds,
            names_ttl_seconds=DEFAULT_NAMES_TTL if names_ttl_seconds is None else names_ttl_seconds,
            max_entries=max_entries,
            stale_max_age_seconds=stale_max_age_seconds,
        )
        self._store = (store or LocalStore)(limits, self._clock)
        self._stale_max_age = timedelta(seconds=stale_max_age_seconds)
        self._flight: SingleFlight[Hashable, Loaded] = SingleFlight()
        self._wait_timeout = wait_timeout
        self._stats = dict.fromkeys(("hits", "misses", "coalesced", "stale", "errors"), 0)
        # known_releases() for the same held entries: (their ids, the entries, the answer).
        self._known: tuple[frozenset[int], list[Cached[object]], tuple[Release, ...]] | None
        self._known = None

    @classmethod
    def from_settings(
        cls,
        source: ReleaseSource,
        settings: Settings,
        clock: Clock | None = None,
        store: StoreFactory | None = None,
    ) -> ReleaseCache:
        return cls(
            source,
            ttl_seconds=settings.cache_ttl_seconds,
            max_entries=settings.cache_max_entries,
            clock=clock,
            wait_timeout=settings.api_deadline_seconds + 2.0,
            store=store,
        )

    def new_deadline(self) -> Deadline:
        return self._source.new_deadline()

    # ---- lookups ------------------------------------------------------------------------

    def releases(
        self, f: ApiFilter, *, refresh: bool = False, deadline: Deadline | None = None
    ) -> Cached[tuple[Release, ...]]:
        def fetch() -> tuple[Release, ...]:
            return self._source.list_releases(f, deadline=deadline)

        result = self._get(f, fetch, refresh, deadline)
        return cast(Cached[tuple[Release, ...]], result)

    def release(
        self, release_id: int, *, refresh: bool = False, deadline: Deadline | None = None
    ) -> Cached[Release]:
        def fetch() -> Release:
            return self._source.get_release(release_id, deadline=deadline)

        return cast(Cached[Release], self._get(("release", release_id), fetch, refresh, deadline))

    def groups(
        self, *, refresh: bool = False, deadline: Deadline | None = None, fetch: bool = True
    ) -> Cached[Mapping[int, str]]:
        """Group names, never raising: stale names, or {} (callers then show group ids).

        With `fetch=False` only what is held is used; a lookup that already fell back to stale
        releases should not spend another deadline on names.
        """
        if not fetch:
            held = self._peek(GROUPS_KEY)
            now = self._clock.now()
            return cast(Cached[Mapping[int, str]], held or Cached({}, now, True, "not fetched"))

        def fetch_names() -> dict[int, str]:
            return self._source.fetch_groups(deadline=deadline)

        try:
            return cast(
                Cached[Mapping[int, str]], self._get(GROUPS_KEY, fetch_names, refresh, deadline)
            )
        except Unavailable as exc:
            return Cached({}, self._clock.now(), True, exc.user_message)
        except Exception as exc:  # an endpoint that is missing or odd: ids will do for a TTL
            log.warning("release group names are unavailable, showing ids: %s", exc)
            empty: Cached[object] = Cached({}, self._clock.now())
            self._store.put_fresh(GROUPS_KEY, empty)
            return cast(Cached[Mapping[int, str]], empty)

    def known_releases(self) -> tuple[Release, ...]:
        """Every release held, fresh or stale (newest copy of each), e.g. to recognise names.

        Remembered while the held entries stay the same ones (entries are immutable): every
        list answer asks for it, and walking every held release each time cost more than the
        rest of a warm lookup.
        """
        entries = self._store.held()
        ids = frozenset(map(id, entries))
        known = self._known
        if known is not None and known[0] == ids:
            return known[2]
        newest: dict[int, tuple[datetime, Release]] = {}
        for entry in entries:
            value = entry.value
            items = value if isinstance(value, tuple) else (value,)
            for item in items:
                if isinstance(item, Release):
                    seen = newest.get(item.id)
                    if seen is None or seen[0] <= entry.fetched_at:
                        newest[item.id] = (entry.fetched_at, item)
        releases = tuple(release for _, release in newest.values())
        self._known = (ids, entries, releases)  # the entries held keep their ids unique
        return releases

    def stats(self) -> dict[str, int]:
        """Counters for logs and /healthz: hits, misses, coalesced, stale, errors; and gauges.

        `coalesced` counts lookups served by another caller's fetch, in this process or (with
        a shared store) in another; `entries` and `stale_entries` are what this process holds.
        """
        with self._lock:
            counters = dict(self._stats)
        entries, held = self._store.sizes()
        return {
            **counters,
            "entries": entries,
            "stale_entries": held,
            "in_flight": self._flight.in_flight(),
            "waiting": self._flight.waiting(),
        }

    def backend(self) -> dict[str, str]:
        """Which store serves ("local" or "redis") and, with Redis configured, its state."""
        return self._store.backend()

    def clear(self) -> None:
        self._store.clear()

    def close(self) -> None:
        """Release the shared store's connections; the cache keeps working in-process."""
        self._store.close()

    # ---- machinery ----------------------------------------------------------------------

    def _get(
        self,
        key: Hashable,
        fetch: Callable[[], object],
        refresh: bool,
        deadline: Deadline | None = None,
    ) -> Cached[object]:
        if not refresh:
            entry = self._store.fresh(key)
            if entry is not None:
                with self._lock:
                    self._stats["hits"] += 1
                return entry

        def fetch_and_store() -> Cached[object]:
            with self._lock:
                self._stats["misses"] += 1
            entry = Cached(fetch(), self._clock.now())
            self._store.put([(key, entry), *self._by_id(entry)])
            return entry

        # A caller joining a call already in flight waits no longer than its own budget allows.
        wait = self._wait_timeout
        if deadline is not None:
            wait = deadline.remaining() if wait is None else min(wait, deadline.remaining())

        def load() -> Loaded:
            return self._store.load(key, fetch_and_store, refresh=refresh, wait=wait)

        try:
            outcome = self._flight.run(key, load, wait)
        except FlightTimeout:
            exc: Exception = Unavailable("MetaKraftwerk did not answer in time", cause="timeout")
            return self._fallback(key, exc)
        except STALE_OK as exc:
            return self._fallback(key, exc)
        except Exception:
            with self._lock:
                self._stats["errors"] += 1
            raise
        if not outcome.leader or not outcome.value.here:
            with self._lock:
                self._stats["coalesced"] += 1
        return outcome.value.entry

    def _fallback(self, key: Hashable, exc: Exception) -> Cached[object]:
        """Serve the last good answer for `key`, marked stale, or re-raise `exc`."""
        reason = getattr(exc, "user_message", str(exc))
        held = self._store.stale(key)
        with self._lock:
            self._stats["errors"] += 1
            if held is not None and self._clock.now() - held.fetched_at <= self._stale_max_age:
                self._stats["stale"] += 1
                age = held.age(self._clock.now())
                log.warning("serving %s from %s ago: %s", _describe(key), age, reason)
                return replace(held, stale=True, reason=reason)
        raise exc

    def fresh_groups(self) -> Cached[Mapping[int, str]] | None:
        """Group names if they are held and fresh; None when a lookup would call the API."""
        return cast(Cached[Mapping[int, str]] | None, self._store.fresh(GROUPS_KEY))

    def _peek(self, key: Hashable) -> Cached[object] | None:
        fresh = self._store.fresh(key)
        if fresh is not None:
            return fresh
        held = self._store.stale(key)
        return None if held is None else replace(held, stale=True, reason="not refreshed")

    @staticmethod
    def _by_id(entry: Cached[object]) -> list[tuple[Hashable, Cached[object]]]:
        """A list answer's releases as by-id entries, fetched at the same time."""
        releases = entry.value
        if not isinstance(releases, tuple):
            return []
        return [
            (("release", release.id), Cached(release, entry.fetched_at))
            for release in releases
            if isinstance(release, Release)
        ]


def _describe(key: Hashable) -> str:
    if isinstance(key, ApiFilter):
        params = key.params()
        return "releases " + (" ".join(f"{k}={v}" for k, v in params.items()) or "(all)")
    if isinstance(key, tuple) and len(key) == 2:
        return f"release {key[1]}"
    return str(key)
