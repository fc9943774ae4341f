"""One Redis connection pool, and whether Redis answers right now.

Every Redis call of the cache and the replay guard goes through `RedisLink.run`. A failure
(connection refused, a timeout, an error reply) marks Redis unreachable and is logged once;
for `retry_after` seconds callers are then told so at once, without touching the network, and
use their in-process fallback. After that one caller tries Redis again; when that works, it is
logged once more and everyone is back on Redis. Timeouts are short: a lookup must never wait
long for a cache, since the API itself is only a few seconds away.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import TypeVar

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from bot.clock import Clock, SystemClock
from bot.config import redact_url

log = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_TIMEOUT = 0.5
DEFAULT_RETRY_AFTER = 2.0
MAX_REASON = 200


class RedisUnreachable(Exception):
    """Redis did not answer (now, or lately); the caller uses its in-process fallback."""


class RedisLink:
    """A Redis client with short timeouts and an up/down state shared by all its users."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        name: str,
        clock: Clock | None = None,
        retry_after: float = DEFAULT_RETRY_AFTER,
    ) -> None:
        self.client = client
        self.name = name
        self._clock: Clock = clock or SystemClock()
        self._retry_after = retry_after
        self._lock = threading.Lock()
        self._reason: str | None = None  # None while Redis answers; the detail, for the log
        self._fault = ""  # the same in fixed words, for /healthz (no address, no raw bytes)
        self._next_try = 0.0
        # Bumped at each change of state: a call that started before the latest change (one
        # that hung while another failed, say) does not flip the state back and log again.
        self._epoch = 0

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retry_after: float = DEFAULT_RETRY_AFTER,
        clock: Clock | None = None,
    ) -> RedisLink:
        client = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            # One immediate retry on a fresh connection, so that a pooled connection which a
            # Redis restart closed is replaced silently; never a backoff that would stall lookups.
            retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
        )
        return cls(client, name=f"Redis at {redact_url(url)}", clock=clock, retry_after=retry_after)

    def run(self, op: Callable[[redis.Redis], T]) -> T:
        """`op(client)`, or RedisUnreachable when Redis fails or failed less than a while ago."""
        epoch = self._epoch
        if not self._may_try():
            raise RedisUnreachable(self._reason or "unreachable")
        try:
            result = op(self.client)
        except (redis.RedisError, ConnectionError) as exc:  # not the caller's own timeouts
            raise RedisUnreachable(self._went_down(exc, epoch)) from exc
        if self._reason is not None:
            self._came_back(epoch)
        return result

    @property
    def up(self) -> bool:
        return self._reason is None

    def check(self) -> dict[str, str]:
        """Ping (unless Redis failed a moment ago) and report the state, for /healthz."""
        with contextlib.suppress(RedisUnreachable):
            self.run(lambda client: client.ping())
        return self.state()

    def state(self) -> dict[str, str]:
        reason = self._reason
        if reason is None:
            return {"backend": "redis", "redis": "ok"}
        return {"backend": "local", "redis": f"unreachable: {self._fault or 'no connection'}"}

    def close(self) -> None:
        self.client.close()

    def _may_try(self) -> bool:
        if self._reason is None:
            return True
        with self._lock:
            now = self._clock.monotonic()
            if now < self._next_try:
                return False
            self._next_try = now + self._retry_after  # one caller tries; the others wait
            return True

    def _went_down(self, exc: BaseException, epoch: int) -> str:
        reason = " ".join(str(exc).split())[:MAX_REASON] or type(exc).__name__
        with self._lock:
            change = self._reason is None and epoch == self._epoch
            if change:
                self._reason = reason
                self._fault = _fault(exc)
                self._epoch += 1
                self._next_try = self._clock.monotonic() + self._retry_after
        if change:
            log.warning(
                "%s is unreachable; this process uses its own cache and replay guard "
                "until it is back: %s",
                self.name,
                reason,
            )
        else:
            log.debug("%s failed again: %s", self.name, reason)
        return reason

    def _came_back(self, epoch: int) -> None:
        with self._lock:
            change = self._reason is not None and epoch == self._epoch
            if change:
                self._reason = None
                self._epoch += 1
        if change:
            log.warning("%s is reachable again; its shared cache is used again", self.name)


def _fault(exc: BaseException) -> str:
    """What went wrong in a few fixed words: Redis's own text may name hosts or carry bytes."""
    if isinstance(exc, redis.AuthenticationError):
        return "credentials refused"
    if isinstance(exc, redis.TimeoutError | TimeoutError):
        return "no answer in time"
    if isinstance(exc, redis.ConnectionError | ConnectionError):
        return "no connection"
    return "an error reply"
