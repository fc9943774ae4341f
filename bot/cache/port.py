"""Where the release cache keeps its answers: this process's memory, or a store shared by many.

ReleaseCache decides what to fetch, when to fall back to stale data and what to count; a
`CacheStore` only holds entries (fresh for a TTL, stale copies beyond it) and runs one load
per key at a time across every process that shares it. Its backends: `LocalStore`
(bot/cache/local.py), the in-process default, and `RedisStore` (bot/cache/redis/store.py),
which shares one Redis between processes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar

from bot.clock import Clock

T_co = TypeVar("T_co", covariant=True)
GROUPS_KEY = "groups"
DEFAULT_STALE_MAX_AGE = 24 * 3600.0
DEFAULT_NAMES_TTL = 15 * 60.0


@dataclass(frozen=True, slots=True)
class Cached(Generic[T_co]):
    """An answer and how fresh it is; `reason` says why stale data was served."""

    value: T_co
    fetched_at: datetime
    stale: bool = False
    reason: str | None = None

    def age(self, now: datetime) -> timedelta:
        return max(timedelta(0), now - self.fetched_at)


@dataclass(frozen=True, slots=True)
class CacheLimits:
    """How long entries live and how many one process keeps."""

    ttl_seconds: float = 60.0
    names_ttl_seconds: float = DEFAULT_NAMES_TTL
    max_entries: int = 1024
    stale_max_age_seconds: float = DEFAULT_STALE_MAX_AGE

    def ttl_for(self, key: Hashable, entry: Cached[object]) -> float:
        """Names live long; "no names" (the endpoint failed or is missing) only a TTL."""
        has_names = key == GROUPS_KEY and bool(entry.value)
        return max(self.ttl_seconds, self.names_ttl_seconds) if has_names else self.ttl_seconds


@dataclass(frozen=True, slots=True)
class Loaded:
    """The outcome of `CacheStore.load`: `here` is False when another caller's fetch served it."""

    entry: Cached[object]
    here: bool


class CacheStore(Protocol):
    """Entries by key: fresh ones for their TTL, and a stale copy of each for fallbacks."""

    def fresh(self, key: Hashable) -> Cached[object] | None: ...

    def stale(self, key: Hashable) -> Cached[object] | None:
        """The last good entry for `key`, however old (the cache checks its age)."""
        ...

    def put(self, items: Sequence[tuple[Hashable, Cached[object]]]) -> None:
        """Store each entry as fresh and as the stale copy of its key."""
        ...

    def put_fresh(self, key: Hashable, entry: Cached[object]) -> None:
        """Store an entry as fresh only, never to be served as a stale copy."""
        ...

    def load(
        self,
        key: Hashable,
        fetch: Callable[[], Cached[object]],
        *,
        refresh: bool,
        wait: float | None,
    ) -> Loaded:
        """Run `fetch` (which stores what it got), unless another process already does.

        Callers in one process are already coalesced by the cache; this coalesces processes.
        `wait` bounds how long a caller waits for another process's fetch (FlightTimeout).
        """
        ...

    def held(self) -> list[Cached[object]]:
        """Every entry this process holds, fresh or stale: what it has seen lately."""
        ...

    def sizes(self) -> tuple[int, int]:
        """Fresh and stale entries held in this process."""
        ...

    def clear(self) -> None: ...

    def backend(self) -> dict[str, str]:
        """For /healthz: which backend serves, and the shared one's state."""
        ...

    def close(self) -> None: ...


StoreFactory = Callable[[CacheLimits, Clock], CacheStore]
