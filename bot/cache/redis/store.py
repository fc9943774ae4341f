"""The release cache's store on Redis: one set of answers and one fetch per key for every process.

- Keys: `releases-bot:cache:v<N>:[<scope>:]<kind>:<key>`; in distributed mode the scope is
  the MetaKraftwerk connection (`conn<id>`), since release ids are unique only inside one.
- Entries: `fresh:<key>` expires after its TTL (PX, and checked against the entry's `fetched_at`
  by the injected clock), `stale:<key>` after the stale age limit; both in codec.py's JSON.
- Single flight across processes: the first process to miss a key takes `lock:<key>` (SET NX PX
  with a random token), fetches, stores, writes the outcome under `done:<token>` and publishes
  on that channel, then releases the lock with a compare-and-delete script (never another
  holder's lock, should its own have expired). The others wait on that channel, with a short
  poll as a backstop, no longer than their own deadline. A failure the cache may answer with a
  stale copy (the API is down or answers garbage) reaches the waiters as it is, so an outage
  costs one upstream call; after any other failure each waiter tries for itself. A lock whose
  holder died expires, and a waiter takes over. The outcome holds no text (see codec.py): a
  waiter raises the failure in the bot's own words, or fetches for itself when the outcome is
  not one the bot writes, so whoever can write to Redis cannot put words in front of users.
- A local mirror (LocalStore) keeps what this process fetched or read: it answers alone while
  Redis is unreachable (see link.py), and it is what `known_releases()` looks at.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Hashable, Sequence
from functools import partial

import redis

from bot.cache.local import LocalStore
from bot.cache.port import Cached, CacheLimits, Loaded, StoreFactory
from bot.cache.redis.codec import (
    FORMAT,
    CorruptEntry,
    FetchOutcome,
    decode,
    decode_outcome,
    encode,
    encode_outcome,
    key_name,
)
from bot.cache.redis.link import RedisLink, RedisUnreachable
from bot.clock import Clock
from bot.metakraftwerk.single_flight import FlightTimeout

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "releases-bot:"
DEFAULT_WAIT = 10.0  # seconds a lookup without a deadline waits for another process's fetch
POLL_SECONDS = 0.05  # the backstop when a pub/sub message is missed
LOCK_MARGIN = 1.0  # a lock outlives its holder's budget by this much

# Deletes the lock only while it still holds our token.
RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisStore:
    """A CacheStore shared by every process that uses the same Redis and prefix."""

    def __init__(
        self,
        link: RedisLink,
        limits: CacheLimits,
        clock: Clock,
        *,
        prefix: str = DEFAULT_PREFIX,
        poll_seconds: float = POLL_SECONDS,
        scope: str = "",
    ) -> None:
        """`scope` names whose answers these are (a connection, `conn<id>`); one scope's keys,
        locks and outcomes never meet another's."""
        self._link = link
        self._limits = limits
        self._clock = clock
        self._local = LocalStore(limits, clock)
        self._prefix = f"{prefix}cache:v{FORMAT}:" + (f"{scope}:" if scope else "")
        self._poll = poll_seconds
        self._release = link.client.register_script(RELEASE_LOCK)

    @classmethod
    def factory(
        cls, link: RedisLink, *, prefix: str = DEFAULT_PREFIX, scope: str = ""
    ) -> StoreFactory:
        def build(limits: CacheLimits, clock: Clock) -> RedisStore:
            return cls(link, limits, clock, prefix=prefix, scope=scope)

        return build

    # ---- entries ------------------------------------------------------------------------

    def fresh(self, key: Hashable) -> Cached[object] | None:
        try:
            entry = self._read_fresh(key)
        except RedisUnreachable:
            return self._local.fresh(key)
        if entry is None:
            return None
        age = (self._clock.now() - entry.fetched_at).total_seconds()
        return entry if age < self._limits.ttl_for(key, entry) else None

    def stale(self, key: Hashable) -> Cached[object] | None:
        name = self._name("stale", key)
        try:
            raw = self._link.run(lambda r: r.get(name))
        except RedisUnreachable:
            return self._local.stale(key)
        return self._decode(key, raw, name) or self._local.stale(key)

    def put(self, items: Sequence[tuple[Hashable, Cached[object]]]) -> None:
        self._local.put(items)
        stale_ms = _ms(self._limits.stale_max_age_seconds)

        def store(r: redis.Redis) -> None:
            pipe = r.pipeline(transaction=False)
            for key, entry in items:
                value = encode(key, entry)
                pipe.set(self._name("fresh", key), value, px=_ms(self._limits.ttl_for(key, entry)))
                pipe.set(self._name("stale", key), value, px=stale_ms)
            pipe.execute()

        with contextlib.suppress(RedisUnreachable):  # then held here only
            self._link.run(store)

    def put_fresh(self, key: Hashable, entry: Cached[object]) -> None:
        self._local.put_fresh(key, entry)
        name, value = self._name("fresh", key), encode(key, entry)
        ttl = self._limits.ttl_for(key, entry)
        with contextlib.suppress(RedisUnreachable):
            self._link.run(lambda r: r.set(name, value, px=_ms(ttl)))

    def held(self) -> list[Cached[object]]:
        return self._local.held()

    def sizes(self) -> tuple[int, int]:
        return self._local.sizes()

    def clear(self) -> None:
        """Forget every entry, here and in Redis (locks in use are left to their holders)."""
        self._local.clear()

        def delete(r: redis.Redis) -> None:
            for kind in ("fresh", "stale"):
                batch: list[bytes] = []
                for name in r.scan_iter(match=_glob_escape(f"{self._prefix}{kind}:") + "*"):
                    batch.append(name)
                    if len(batch) >= 500:
                        r.delete(*batch)
                        batch.clear()
                if batch:
                    r.delete(*batch)

        try:
            self._link.run(delete)
        except RedisUnreachable:
            log.warning("could not clear the shared cache: %s is unreachable", self._link.name)

    def backend(self) -> dict[str, str]:
        return self._link.check()

    def close(self) -> None:
        self._link.close()

    # ---- one fetch across processes ---------------------------------------------------------

    def load(
        self,
        key: Hashable,
        fetch: Callable[[], Cached[object]],
        *,
        refresh: bool,
        wait: float | None,
    ) -> Loaded:
        budget = DEFAULT_WAIT if wait is None else max(wait, 0.0)
        give_up = time.monotonic() + budget
        lock = self._name("lock", key)
        lock_ms = _ms(budget + LOCK_MARGIN)
        first = True  # the cache has just missed: go straight for the lock
        while True:
            if not first:
                if time.monotonic() >= give_up:
                    raise FlightTimeout("gave up waiting for another process's fetch")
                entry = None if refresh else self.fresh(key)
                if entry is not None:
                    return Loaded(entry, here=False)
            first = False
            token = secrets.token_hex(16)
            try:
                holder = self._link.run(partial(_take, lock=lock, token=token, lock_ms=lock_ms))
            except RedisUnreachable:
                return Loaded(fetch(), here=True)  # on our own until Redis is back
            if holder == token.encode():
                return self._lead(key, fetch, refresh, lock, token, lock_ms)
            if holder is None:
                continue  # released just now: look again
            try:
                outcome = self._link.run(
                    partial(self._wait, lock=lock, holder=holder, give_up=give_up)
                )
            except RedisUnreachable:
                return Loaded(fetch(), here=True)
            if outcome is None:
                continue  # the holder's lock expired without an outcome: take over
            if outcome.kind == "ok":
                try:
                    entry = self._read_fresh(key)  # just stored: fresh by definition
                except RedisUnreachable:
                    return Loaded(fetch(), here=True)
                if entry is not None:
                    return Loaded(entry, here=False)
                continue
            error = outcome.error()
            if error is not None:
                raise error
            if outcome.kind == "unreadable":
                log.warning("ignoring an unreadable fetch outcome in Redis; fetching here")
            # A failure only the holder's caller should see, or an outcome nobody can vouch
            # for (its lock may be forged too, and never released): fetch for ourselves.
            return Loaded(fetch(), here=True)

    def _lead(
        self,
        key: Hashable,
        fetch: Callable[[], Cached[object]],
        refresh: bool,
        lock: str,
        token: str,
        lock_ms: int,
    ) -> Loaded:
        if not refresh:  # stored by another process between our miss and our lock?
            entry = self.fresh(key)
            if entry is not None:
                self._finish(lock, token, encode_outcome(None), lock_ms)
                return Loaded(entry, here=False)
        try:
            entry = fetch()
        except BaseException as exc:
            self._finish(lock, token, encode_outcome(exc), lock_ms)
            raise
        self._finish(lock, token, encode_outcome(None), lock_ms)
        return Loaded(entry, here=True)

    def _finish(self, lock: str, token: str, outcome: str, lock_ms: int) -> None:
        """Tell the waiters how the fetch went, then release the lock if it is still ours."""
        done = self._prefix + "done:" + token

        def publish(r: redis.Redis) -> None:
            pipe = r.pipeline(transaction=True)
            pipe.set(done, outcome, px=lock_ms)
            pipe.publish(done, "1")
            self._release(keys=[lock], args=[token], client=pipe)
            pipe.execute()

        with contextlib.suppress(RedisUnreachable):  # waiters then fetch for themselves
            self._link.run(publish)

    def _wait(
        self, r: redis.Redis, lock: str, holder: bytes, give_up: float
    ) -> FetchOutcome | None:
        """The outcome of `holder`'s fetch; None when its lock went away without one."""
        done = self._prefix + "done:" + holder.decode("ascii", "replace")
        with r.pubsub(ignore_subscribe_messages=True) as channel:
            channel.subscribe(done)
            while True:
                raw, current = r.mget(done, lock)
                if raw is not None:
                    return decode_outcome(raw)
                if current != holder:
                    return None
                left = give_up - time.monotonic()
                if left <= 0:
                    raise FlightTimeout("gave up waiting for another process's fetch")
                channel.get_message(timeout=min(left, self._poll))

    def _read_fresh(self, key: Hashable) -> Cached[object] | None:
        """The entry under `fresh:<key>` (within its PX, whatever the injected clock says)."""
        name = self._name("fresh", key)
        entry = self._decode(key, self._link.run(lambda r: r.get(name)), name)
        if entry is not None:
            self._local.keep_stale(key, entry)
        return entry

    # ---- helpers ------------------------------------------------------------------------

    def _name(self, kind: str, key: Hashable) -> str:
        return f"{self._prefix}{kind}:{key_name(key)}"

    def _decode(self, key: Hashable, raw: object, name: str) -> Cached[object] | None:
        if raw is None:
            return None
        if not isinstance(raw, bytes | str):
            log.warning("ignoring %s in Redis: not a string value", name)
            return None
        try:
            return decode(key, raw)
        except CorruptEntry as exc:
            log.warning("ignoring %s in Redis, treated as a miss: %s", name, exc)
            return None


def _take(r: redis.Redis, lock: str, token: str, lock_ms: int) -> bytes | None:
    """Take the lock, or learn who holds it: our own token back means it is ours (also when
    the client resent the SET after a lost reply)."""
    pipe = r.pipeline(transaction=True)
    pipe.set(lock, token, nx=True, px=lock_ms)
    pipe.get(lock)
    _, holder = pipe.execute()
    return holder if isinstance(holder, bytes) else None


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
