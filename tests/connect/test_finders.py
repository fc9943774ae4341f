"""Each workspace's finder over its own connection: built once, kept for the connections used
most lately (the others' clients closed), rebuilt after a reconnect; its API client starts
from the sealed session, keeps each new login sealed, and a refused login is recorded.

Against the demo MetaKraftwerk API over loopback, with connections on a SQLite file and on
PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.app.caller import Caller
from bot.app.finder import ReleaseFinder
from bot.cache.release_cache import ReleaseCache
from bot.config import Settings
from bot.connect.finders import ConnectionFinders, ConnectionParts, connection_parts
from bot.connect.links import LinkSigner
from bot.connect.records import Account, Connection
from bot.connect.store import ConnectionStore
from bot.demo.api_server import DEMO_EMAIL, DEMO_PASSWORD, DemoApiServer
from bot.metakraftwerk.errors import ConnectionFailing, NotConnected
from bot.notify.store import Store
from bot.query import Query
from bot.secret_box import SecretBox, new_key
from bot.tenant import Tenant
from tests.fakes.clock import FakeClock
from tests.fakes.release_source import FakeSource

ORG = Tenant("E1", "")
T1, T2, T3 = Tenant("", "T1"), Tenant("", "T2"), Tenant("", "T3")


def _caller(tenant: Tenant) -> Caller:
    return Caller(team_id=tenant.team_id, enterprise_id=tenant.enterprise_id, user_id="U1")


@pytest.fixture
def base(db_url: str, clock: FakeClock) -> Iterator[Store]:
    with Store.from_url(db_url, clock=clock) as opened:
        yield opened


@pytest.fixture
def store(base: Store, clock: FakeClock) -> ConnectionStore:
    return ConnectionStore(base.engine, SecretBox([new_key()]), clock)


def _connect(
    store: ConnectionStore, tenant: Tenant, base_url: str = "https://mkw.example", *,
    password: str = DEMO_PASSWORD, token: str = "stale-token", expires_in: float = -3600,
    clock: FakeClock,
) -> Connection:
    _link, nonce_hash = LinkSigner("k").new_link()
    store.add_link(nonce_hash, tenant, "U1")
    grant = store.link(nonce_hash)
    assert grant is not None
    return store.connect(grant, Account(
        base_url, DEMO_EMAIL, password, token, clock.now() + timedelta(seconds=expires_in)
    ))


class Built:
    """A parts builder that counts what it built and closed."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.built: list[int] = []
        self.closed: list[int] = []
        self.closing = threading.Condition()

    def __call__(self, connection: Connection) -> ConnectionParts:
        self.built.append(connection.id)
        finder = ReleaseFinder(ReleaseCache(FakeSource(self.clock), clock=self.clock))

        def close() -> None:
            finder.close()
            with self.closing:
                self.closed.append(connection.id)
                self.closing.notify_all()

        return ConnectionParts(finder, close)

    def wait_closed(self, count: int) -> list[int]:
        with self.closing:
            self.closing.wait_for(lambda: len(self.closed) >= count, timeout=10)
            return list(self.closed)


def test_each_connection_gets_its_own_finder_and_a_process_keeps_only_the_latest(
    store: ConnectionStore, clock: FakeClock
) -> None:
    ids = [_connect(store, t, clock=clock).id for t in (T1, T2, T3)]
    built = Built(clock)
    finders = ConnectionFinders(store, built, clock, max_connections=2, close_after=0)
    first, second = finders.for_caller(_caller(T1)), finders.for_caller(_caller(T2))
    assert first is not second
    assert finders.for_caller(_caller(T1)) is first  # held: not built again
    assert built.built == ids[:2]
    finders.for_caller(_caller(T3))  # a third: the one used least lately (T2) goes
    assert finders.held() == 2
    assert built.wait_closed(1) == [ids[1]]
    assert finders.for_caller(_caller(T1)) is first
    assert finders.for_caller(_caller(T2)) is not second  # built again when asked again
    assert built.built == [*ids, ids[1]]
    finders.close()  # every client closed, the held ones and any still waiting to be
    assert set(built.wait_closed(4)) == set(ids)


def test_a_reconnect_gets_new_parts_and_closes_the_old(
    store: ConnectionStore, clock: FakeClock
) -> None:
    connection = _connect(store, T1, clock=clock)
    built = Built(clock)
    finders = ConnectionFinders(store, built, clock, close_after=0)
    before = finders.for_caller(_caller(T1))
    clock.advance(60)  # past the lookup's few seconds
    _connect(store, T1, "https://other.example", clock=clock)
    after = finders.for_caller(_caller(T1))
    assert after is not before
    assert built.wait_closed(1) == [connection.id]
    assert finders.held() == 1
    finders.close()


def test_a_workspace_without_a_connection_hears_who_installed_the_app(
    store: ConnectionStore, clock: FakeClock
) -> None:
    def installer_of(tenant: Tenant) -> tuple[str | None, str | None]:
        return f"U{tenant.team_id}", f"slack://app?team={tenant.team_id}&id=A1&tab=home"

    finders = ConnectionFinders(store, Built(clock), clock, installer_of=installer_of)
    with pytest.raises(NotConnected) as refused:
        finders.for_caller(_caller(T1))
    assert (refused.value.installer, refused.value.home_url) == (
        "UT1", "slack://app?team=T1&id=A1&tab=home")
    with pytest.raises(NotConnected):
        finders.for_caller(Caller(user_id="U1"))  # no workspace named: nobody's data
    # Connected a moment later: "not connected" was not kept.
    _connect(store, T1, clock=clock)
    assert finders.for_caller(_caller(T1)) is not None
    # A workspace of an org reads the org's connection.
    _connect(store, ORG, clock=clock)
    assert finders.for_caller(_caller(Tenant("E1", "T9"))) is not None
    finders.close()


def _settings(*urls: str) -> Settings:
    return Settings(metakraftwerk_allowed_urls=urls, api_deadline_seconds=5.0)


def test_the_first_lookup_logs_in_with_the_sealed_password_and_keeps_the_session(
    store: ConnectionStore, clock: FakeClock
) -> None:
    with DemoApiServer(clock=clock) as api:
        connection = _connect(store, T1, api.url, clock=clock)
        timed: list[str] = []
        hooks = {"request": [lambda request: timed.append(request.url.path)], "response": []}
        finders = ConnectionFinders(
            store, connection_parts(_settings(api.url), store, clock, None, event_hooks=hooks),
            clock,
        )
        found = finders.for_caller(_caller(T1)).find(Query(release_id=21, status="all"))
        assert [r.id for r in found.releases] == [21]
        assert api.counts.count("/authentication", "POST") == 1
        assert "/api/v1/releases/21" in timed  # metrics see each connection's calls
        assert finders.cache_stats()["misses"] >= 1
        kept = store.session_token(connection)
        assert kept is not None
        assert kept != "stale-token"
        assert api.token_is_valid(kept)
        finders.close()

        # Another process (or a restart) starts from the kept session: no login.
        again = ConnectionFinders(
            store, connection_parts(_settings(api.url), store, clock, None), clock
        )
        again.for_caller(_caller(T1)).find(Query(release_id=22, status="all"))
        assert api.counts.count("/authentication", "POST") == 1
        again.close()


def test_a_refused_login_is_recorded_and_heard_as_a_failing_connection(
    store: ConnectionStore, clock: FakeClock
) -> None:
    with DemoApiServer(clock=clock) as api:
        _connect(store, T1, api.url, password="wrong", clock=clock)
        finders = ConnectionFinders(
            store, connection_parts(_settings(api.url), store, clock, None), clock
        )
        finder = finders.for_caller(_caller(T1))
        with pytest.raises(ConnectionFailing):
            finder.find(Query(status="open"))
        tries = api.counts.count("/authentication", "POST")
        assert tries >= 1
        # The next lookups hear it at once; the refused password is not tried for each.
        with pytest.raises(ConnectionFailing):
            finder.find(Query(release_id=21))
        assert api.counts.count("/authentication", "POST") == tries
        clock.advance(120)
        with pytest.raises(ConnectionFailing):
            finder.find(Query(release_id=21))
        assert api.counts.count("/authentication", "POST") > tries  # tried again, later
        connection = store.for_workspace(T1)
        assert connection is not None
        assert connection.status == "failing"
        assert connection.last_error
        finders.close()


def test_a_base_url_no_longer_allowed_is_not_called(
    store: ConnectionStore, clock: FakeClock
) -> None:
    with DemoApiServer(clock=clock) as api:
        _connect(store, T1, api.url, clock=clock)
        finders = ConnectionFinders(
            store, connection_parts(_settings("https://app.metakraftwerk.com"), store, clock,
                                    None), clock,
        )
        with pytest.raises(ConnectionFailing):
            finders.for_caller(_caller(T1))
        assert api.counts.total == 0
        connection = store.for_workspace(T1)
        assert connection is not None
        assert connection.status == "failing"


def test_a_change_made_here_counts_at_once_elsewhere_within_seconds(
    store: ConnectionStore, clock: FakeClock
) -> None:
    _connect(store, T1, clock=clock)
    finders = ConnectionFinders(store, Built(clock), clock, close_after=0)
    finders.for_caller(_caller(T1))
    store.disconnect(T1)
    finders.for_caller(_caller(T1))  # another process's change: read again in a few seconds
    clock.advance(10)
    with pytest.raises(NotConnected):
        finders.for_caller(_caller(T1))
    _connect(store, T1, clock=clock)
    finders.for_caller(_caller(T1))
    store.disconnect(T1)
    finders.forget(T1)  # this process's own change (the connect page): at once
    with pytest.raises(NotConnected):
        finders.for_caller(_caller(T1))
    finders.close()
