"""Replay guards: has this key (a Slack request's signature, say) been seen within its TTL?

`RedisReplayGuard` answers for every process that shares the Redis; while Redis is unreachable
it answers from this process's memory, which also remembers what it saw through Redis, so a
replay to the same process stays refused during an outage.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from typing import Protocol

import redis
from cachetools import TLRUCache

from bot.cache.redis.link import RedisLink, RedisUnreachable
from bot.clock import Clock, SystemClock

DEFAULT_MAX_KEYS = 100_000
MAX_READABLE_KEY = 200


class ReplayGuard(Protocol):
    def first_time(self, key: str, ttl_seconds: float) -> bool:
        """True the first time `key` is seen within `ttl_seconds`, False for a replay."""
        ...


class LocalReplayGuard:
    """Keys seen by this process, each forgotten after its own TTL (cachetools TLRUCache).

    Bounded: when full, the keys closest to expiry go first.
    """

    def __init__(self, *, max_keys: int = DEFAULT_MAX_KEYS, clock: Clock | None = None) -> None:
        clock = clock or SystemClock()
        self._clock = clock
        self._lock = threading.Lock()

        def expires(key: str, expiry: float, now: float) -> float:
            return expiry

        self._seen: TLRUCache[str, float] = TLRUCache(
            maxsize=max_keys, ttu=expires, timer=clock.monotonic
        )

    def first_time(self, key: str, ttl_seconds: float) -> bool:
        with self._lock:
            if key in self._seen:
                return False
            self._seen[key] = self._clock.monotonic() + ttl_seconds
            return True


class RedisReplayGuard:
    """Keys seen by any process: SET NX with an expiry in the shared Redis."""

    def __init__(
        self,
        link: RedisLink,
        *,
        prefix: str = "releases-bot:",
        fallback: LocalReplayGuard | None = None,
    ) -> None:
        self._link = link
        self._prefix = f"{prefix}replay:"
        self._local = fallback or LocalReplayGuard()

    def first_time(self, key: str, ttl_seconds: float) -> bool:
        name = self._prefix + _short(key)
        token = secrets.token_hex(8)
        ttl_ms = max(1, int(ttl_seconds * 1000))

        def claim(r: redis.Redis) -> bool:
            if r.set(name, token, nx=True, px=ttl_ms):
                return True
            # Our own token means the client resent the SET after a lost reply: still first.
            return bool(r.get(name) == token.encode())

        try:
            first = self._link.run(claim)
        except RedisUnreachable:
            return self._local.first_time(key, ttl_seconds)
        self._local.first_time(key, ttl_seconds)  # for when Redis goes away
        return first


def _short(key: str) -> str:
    if len(key) <= MAX_READABLE_KEY:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()
