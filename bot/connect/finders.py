"""The finder of each workspace's MetaKraftwerk connection (distributed mode).

Release ids and names are unique only inside one MetaKraftwerk customer, so each connection
has parts of its own, built on first use: an httpx client on its allowlisted base URL, an API
client that starts from the sealed session token (and seals each new login back into the
store), a release cache with its own single flight, whose Redis keys carry the connection
(`conn<id>`), and a finder over it. One process keeps the parts of the connections used most
recently (`max_connections`); an evicted connection's clients are closed once the lookups
that may still use them are over.

A workspace reads its own connection, else its org's. A reconnect (a new `connected_at`)
gets new parts, so a changed account or base URL is used at once.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from cachetools import TTLCache

from bot.app.caller import Caller
from bot.app.finder import ReleaseFinder
from bot.cache.redis.link import RedisLink
from bot.cache.release_cache import ReleaseCache
from bot.cache.setup import cache_store
from bot.clock import Clock, Deadline
from bot.config import Secret, Settings
from bot.connect.records import Connection
from bot.connect.store import ConnectionStore
from bot.connect.verify import WRONG_LOGIN
from bot.logs import register_secrets
from bot.metakraftwerk.auth import StoredSession
from bot.metakraftwerk.client import MetaKraftwerkClient, make_http_client
from bot.metakraftwerk.errors import ConnectionFailing, CredentialsRejected, NotConnected
from bot.metakraftwerk.filter import ApiFilter
from bot.metakraftwerk.models import Release
from bot.secret_box import SecretError
from bot.tenant import Tenant

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_CONNECTIONS = 64  # connections whose clients and caches one process keeps
LOOKUP_SECONDS = 5.0  # a workspace's connection is read from the store again after this long
CLOSE_AFTER_SECONDS = 30.0  # an evicted connection's lookups in flight finish within this
NO_PASSWORD = "The stored password cannot be read with the current keys. Connect again."  # noqa: S105 - a message
REFUSED_PAUSE_SECONDS = 60.0  # after a refused login, answers say "failing" without asking
NOT_ALLOWED = "The connection's base URL is no longer allowed (METAKRAFTWERK_ALLOWED_URLS)."

# Who installed the app for a tenant, and a link to the app's Home tab (None when unknown).
InstallerOf = Callable[[Tenant], tuple[str | None, str | None]]


@dataclass(frozen=True, slots=True)
class ConnectionParts:
    """One connection's finder, and what closes its clients."""

    finder: ReleaseFinder
    close: Callable[[], None]
    stats: Callable[[], Mapping[str, int]] = dict  # the cache's counters


PartsBuilder = Callable[[Connection], ConnectionParts]


def _nobody(tenant: Tenant) -> tuple[str | None, str | None]:
    return None, None


class ConnectionFinders:
    """`Finders` (bot/app/finders.py) over the stored connections; thread-safe."""

    def __init__(
        self,
        store: ConnectionStore,
        build: PartsBuilder,
        clock: Clock,
        *,
        max_connections: int = MAX_CONNECTIONS,
        installer_of: InstallerOf = _nobody,
        close_after: float = CLOSE_AFTER_SECONDS,
    ) -> None:
        self._store = store
        self._close_after = close_after
        self._build = build
        self._max = max_connections
        self._installer_of = installer_of
        self._lock = threading.Lock()
        self._held: OrderedDict[tuple[int, datetime], ConnectionParts] = OrderedDict()
        self._lookups: TTLCache[Tenant, Connection] = TTLCache(
            maxsize=4096, ttl=LOOKUP_SECONDS, timer=clock.monotonic
        )
        self._closing: list[tuple[threading.Timer, ConnectionParts]] = []

    def for_caller(self, caller: Caller) -> ReleaseFinder:
        tenant = caller.tenant
        if not tenant.team_id and not tenant.enterprise_id:
            raise NotConnected()  # a payload that names no workspace reads nobody's data
        connection = self._connection(tenant)
        if connection is None or connection.status == "disabled":
            installer, home = self._installer_of(tenant)
            raise NotConnected(installer, home)
        return self._parts(connection).finder

    def cache_stats(self) -> dict[str, int]:
        """The counters of every held connection's cache, summed (metrics name no tenant)."""
        with self._lock:
            held = list(self._held.values())
        total: dict[str, int] = {}
        for parts in held:
            for name, value in parts.stats().items():
                total[name] = total.get(name, 0) + value
        return total

    def held(self) -> int:
        """Connections whose parts this process keeps now."""
        with self._lock:
            return len(self._held)

    def forget(self, tenant: Tenant) -> None:
        """Read the tenant's connection again at its next request (it changed here)."""
        with self._lock:
            self._lookups.pop(tenant, None)

    def close(self) -> None:
        with self._lock:
            held = list(self._held.values())
            self._held.clear()
            closing, self._closing = self._closing, []
        for timer, parts in closing:
            timer.cancel()
            held.append(parts)  # closed now, if its timer did not yet (closing twice is safe)
        for parts in held:
            _close(parts)

    def _connection(self, tenant: Tenant) -> Connection | None:
        with self._lock:
            known = self._lookups.get(tenant)
        if known is not None:
            return known
        connection = self._store.for_workspace(tenant)
        if connection is not None:  # "not connected" is not kept: a connect counts at once
            with self._lock:
                self._lookups[tenant] = connection
        return connection

    def _parts(self, connection: Connection) -> ConnectionParts:
        key = (connection.id, connection.connected_at)
        evicted: list[ConnectionParts] = []
        with self._lock:
            parts = self._held.get(key)
            if parts is not None:
                self._held.move_to_end(key)
                return parts
            parts = self._build(connection)  # raises ConnectionFailing; nothing is kept then
            for old in [k for k in self._held if k[0] == connection.id]:
                evicted.append(self._held.pop(old))  # an earlier connect of the same row
            self._held[key] = parts
            while len(self._held) > self._max:
                evicted.append(self._held.popitem(last=False)[1])
            for old_parts in evicted:
                timer = threading.Timer(self._close_after, _close, args=(old_parts,))
                timer.daemon = True
                self._closing = [(t, p) for t, p in self._closing if t.is_alive()]
                self._closing.append((timer, old_parts))
                timer.start()
        if evicted:
            log.info("closing the clients of %d connection(s) used least lately", len(evicted))
        return parts


def _close(parts: ConnectionParts) -> None:
    try:
        parts.close()
    except Exception:
        log.exception("closing a connection's clients failed")


class RecordingSource:
    """The API client of one connection: a refused login is recorded on the connection (App
    Home shows it) and reaches the user as ConnectionFailing. For a while after one, lookups
    hear that at once instead of each trying the refused password again (every user's command
    would otherwise be a failed login at MetaKraftwerk); a reconnect gets a new source."""

    def __init__(
        self, client: MetaKraftwerkClient, store: ConnectionStore, connection: Connection,
        clock: Clock,
    ) -> None:
        self._client = client
        self._store = store
        self._connection = connection
        self._clock = clock
        self._lock = threading.Lock()
        self._refused_until = float("-inf")

    def new_deadline(self) -> Deadline:
        return self._client.new_deadline()

    def list_releases(
        self, f: ApiFilter | None = None, *, deadline: Deadline | None = None
    ) -> tuple[Release, ...]:
        return self._asked(lambda: self._client.list_releases(f, deadline=deadline))

    def get_release(self, release_id: int, *, deadline: Deadline | None = None) -> Release:
        return self._asked(lambda: self._client.get_release(release_id, deadline=deadline))

    def fetch_groups(self, *, deadline: Deadline | None = None) -> dict[int, str]:
        return self._asked(lambda: self._client.fetch_groups(deadline=deadline))

    def _asked(self, call: Callable[[], T]) -> T:
        with self._lock:
            paused = self._clock.monotonic() < self._refused_until
        if paused:
            raise ConnectionFailing()
        try:
            return call()
        except CredentialsRejected as exc:
            raise self._failing(exc) from None

    def _failing(self, exc: CredentialsRejected) -> ConnectionFailing:
        log.warning("connection %d: MetaKraftwerk refused its login: %s", self._connection.id,
                    exc.user_message)
        with self._lock:
            self._refused_until = self._clock.monotonic() + REFUSED_PAUSE_SECONDS
        _record(self._store, self._connection, WRONG_LOGIN)
        return ConnectionFailing()


def _record(store: ConnectionStore, connection: Connection, error: str) -> None:
    try:
        store.record_error(connection, error)
    except Exception:
        log.exception("connection %d: its last error could not be recorded", connection.id)


def connection_parts(
    settings: Settings, store: ConnectionStore, clock: Clock, link: RedisLink | None, *,
    event_hooks: Mapping[str, list[Callable[[Any], None]]] | None = None,
) -> PartsBuilder:
    """What builds one connection's parts from the settings (timeouts, the cache's TTL and
    size, the allowlist) and CACHE_URL's Redis, shared by every connection's cache;
    `event_hooks` go on each connection's httpx client (metrics)."""

    def build(connection: Connection) -> ConnectionParts:
        if connection.base_url not in settings.metakraftwerk_allowed_urls:
            _record(store, connection, NOT_ALLOWED)
            log.warning("connection %d: its base URL is not allowed", connection.id)
            raise ConnectionFailing()
        try:
            password = store.password(connection)
        except (SecretError, LookupError):
            _record(store, connection, NO_PASSWORD)
            log.warning("connection %d: the password does not open with SECRET_KEYS",
                        connection.id)
            raise ConnectionFailing() from None
        register_secrets([password])
        stored = _stored_session(store, connection)

        def keep(token: Secret, expires_at: datetime) -> None:
            register_secrets([token.value])
            try:
                store.save_session(connection, token.value, expires_at)
            except Exception:
                log.exception("connection %d: the new login could not be kept", connection.id)

        http = make_http_client(
            settings, base_url=connection.base_url, event_hooks=dict(event_hooks or {})
        )
        client = MetaKraftwerkClient(
            http, email=connection.email, password=Secret(password),
            deadline_seconds=settings.api_deadline_seconds, clock=clock,
            stored=stored, on_login=keep,
        )
        cache = ReleaseCache.from_settings(
            RecordingSource(client, store, connection, clock), settings, clock=clock,
            store=cache_store(link, scope=f"conn{connection.id}"),
        )
        finder = ReleaseFinder(cache, clock=clock)

        def close() -> None:
            finder.close()
            http.close()  # the cache's store is left open: its Redis link is the process's

        return ConnectionParts(finder, close, cache.stats)

    return build


def _stored_session(store: ConnectionStore, connection: Connection) -> StoredSession | None:
    """The sealed session token, when there is one that has not expired."""
    if connection.session_expires_at is None:
        return None
    try:
        token = store.session_token(connection)
    except SecretError:
        log.warning("connection %d: the session token does not open; logging in again",
                    connection.id)
        return None
    if not token:
        return None
    register_secrets([token])
    return StoredSession(Secret(token), connection.session_expires_at)


class NoConnection:
    """The source of a process that has no MetaKraftwerk account of its own (distributed
    mode): whatever still asks it, rather than a workspace's finder, hears NotConnected."""

    def __init__(self, clock: Clock, deadline_seconds: float) -> None:
        self._clock = clock
        self._deadline_seconds = deadline_seconds

    def new_deadline(self) -> Deadline:
        return Deadline.start(self._clock, self._deadline_seconds)

    def list_releases(
        self, f: ApiFilter | None = None, *, deadline: Deadline | None = None
    ) -> tuple[Release, ...]:
        raise NotConnected()

    def get_release(self, release_id: int, *, deadline: Deadline | None = None) -> Release:
        raise NotConnected()

    def fetch_groups(self, *, deadline: Deadline | None = None) -> dict[int, str]:
        raise NotConnected()
