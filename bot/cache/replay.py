"""Replay guards: has this key (a Slack request's signature, say) been seen within its TTL?

`RedisReplayGuard` answers for every process that shares the Redis; while Redis is unreachable
it answers from this process's memory, which also remembers what it saw through Redis, so a
replay to the same process stays refused during an outage.

The check runs in the request threads, before the ack: a Redis that answers, but slowly (a
busy or distant server), must not hold them. So the guard waits for Redis at most
`wait_seconds`; a slower reply counts as "slow", this process's memory answers instead for
`retry_after` seconds, and the log says so once (at most every `log_every` seconds).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as WaitedTooLong
from typing import Protocol

import redis
from cachetools import TLRUCache

from bot.cache.redis.link import RedisLink, RedisUnreachable
from bot.clock import Clock, SystemClock

log = logging.getLogger(__name__)

DEFAULT_MAX_KEYS = 100_000
MAX_READABLE_KEY = 200
# Redis answers a SET in about a millisecond; an ack has 3 s, shared with 99 others in a burst.
DEFAULT_WAIT_SECONDS = 0.15
DEFAULT_SLOW_RETRY_AFTER = 5.0  # seconds on the local guard after a slow reply
DEFAULT_SLOW_LOG_EVERY = 300.0  # seconds between two "Redis is slow" warnings
# Threads that wait for Redis on the request threads' behalf: a slow reply holds one of them.
CALL_THREADS = 4


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
    """Keys seen by any process: SET NX with an expiry in the shared Redis, waited for briefly."""

    def __init__(
        self,
        link: RedisLink,
        *,
        prefix: str = "releases-bot:",
        fallback: LocalReplayGuard | None = None,
        wait_seconds: float = DEFAULT_WAIT_SECONDS,
        retry_after: float = DEFAULT_SLOW_RETRY_AFTER,
        log_every: float = DEFAULT_SLOW_LOG_EVERY,
        clock: Clock | None = None,
    ) -> None:
        self._link = link
        self._prefix = f"{prefix}replay:"
        self._local = fallback or LocalReplayGuard()
        self._wait = wait_seconds
        self._slow = SlowReplies(
            link.name, wait_seconds, retry_after=retry_after, log_every=log_every, clock=clock
        )
        # Its threads start with the first check: in a web process, after the fork.
        self._calls = ThreadPoolExecutor(CALL_THREADS, thread_name_prefix="replay-check")

    def first_time(self, key: str, ttl_seconds: float) -> bool:
        if not self._slow.may_try():
            return self._local.first_time(key, ttl_seconds)
        name = self._prefix + _short(key)
        token = secrets.token_hex(8)
        ttl_ms = max(1, int(ttl_seconds * 1000))

        def claim(r: redis.Redis) -> bool:
            if r.set(name, token, nx=True, px=ttl_ms):
                return True
            # Our own token means the client resent the SET after a lost reply: still first.
            return bool(r.get(name) == token.encode())

        call = self._calls.submit(self._link.run, claim)
        try:
            first = call.result(timeout=self._wait)
        except RedisUnreachable:
            self._slow.answered()
            return self._local.first_time(key, ttl_seconds)
        except WaitedTooLong:
            self._slow.too_slow()  # the call finishes on its own thread; its answer is not needed
            return self._local.first_time(key, ttl_seconds)
        self._slow.answered()
        self._local.first_time(key, ttl_seconds)  # for when Redis goes away
        return first

    @property
    def slow(self) -> bool:
        """Redis lately answered a check too slowly: the local guard answers for now."""
        return self._slow.slow

    def close(self) -> None:
        self._calls.shutdown(wait=False, cancel_futures=True)


class SlowReplies:
    """Whether Redis lately answered a replay check too slowly; one log line per episode."""

    def __init__(
        self,
        name: str,
        wait_seconds: float,
        *,
        retry_after: float,
        log_every: float,
        clock: Clock | None = None,
    ) -> None:
        self._name = name
        self._wait = wait_seconds
        self._retry_after = retry_after
        self._log_every = log_every
        self._clock: Clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._slow = False
        self._warned = False  # this slow spell was logged (not suppressed by `log_every`)
        self._next_try = 0.0
        self._last_warning: float | None = None

    @property
    def slow(self) -> bool:
        return self._slow

    def may_try(self) -> bool:
        """While slow, one caller per `retry_after` tries Redis again; the others go local."""
        if not self._slow:
            return True
        with self._lock:
            now = self._clock.monotonic()
            if now < self._next_try:
                return False
            self._next_try = now + self._retry_after
            return True

    def too_slow(self) -> None:
        with self._lock:
            now = self._clock.monotonic()
            self._next_try = now + self._retry_after
            was_slow, self._slow = self._slow, True
            warn = not was_slow and (
                self._last_warning is None or now - self._last_warning >= self._log_every
            )
            if warn:
                self._last_warning = now
                self._warned = True
        if warn:
            log.warning(
                "%s is slow: a replay check got no reply within %.2f s; requests are checked "
                "against this process's memory (retrying Redis every %.0f s)",
                self._name,
                self._wait,
                self._retry_after,
            )

    def answered(self) -> None:
        """Redis answered in time (or is down, which RedisLink reports): not slow any more."""
        if not self._slow:
            return
        with self._lock:
            warned = self._slow and self._warned
            self._slow = self._warned = False
        if warned:
            log.info("%s answers replay checks in time again", self._name)


def _short(key: str) -> str:
    if len(key) <= MAX_READABLE_KEY:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()
