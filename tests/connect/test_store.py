"""Connections and links on a SQLite file and on PostgreSQL: a link connects once, secrets are
sealed to their owner, an org's connection serves its workspaces unless one has its own."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.connect.links import LinkSigner
from bot.connect.records import Account, LinkGrant
from bot.connect.store import ConnectionStore, LinkUsed, schedule_key
from bot.notify.store import Store
from bot.notify.store.schema import connection_schedules, connections, installations
from bot.secret_box import SecretBox, SecretError, new_key
from bot.tenant import Tenant
from tests.fakes.clock import FakeClock

ORG = Tenant("E1", "")
T1, T2 = Tenant("E1", "T1"), Tenant("E1", "T2")


def _account(email: str = "svc@example.com") -> Account:
    return Account("https://mkw.example", email, "pw-" + email, "token-" + email,
                   FakeClock().now() + timedelta(hours=20))


def _grant(store: ConnectionStore, tenant: Tenant) -> LinkGrant:
    _token, nonce_hash = LinkSigner("k").new_link()
    store.add_link(nonce_hash, tenant, "U1")
    grant = store.link(nonce_hash)
    assert grant is not None
    return grant


@pytest.fixture
def base(db_url: str, clock: FakeClock) -> Iterator[Store]:
    with Store.from_url(db_url, clock=clock) as opened:
        yield opened


@pytest.fixture
def store(base: Store, clock: FakeClock) -> ConnectionStore:
    return ConnectionStore(base.engine, SecretBox([new_key()]), clock)


def test_a_link_connects_once_even_when_two_posts_race(store: ConnectionStore) -> None:
    grant = _grant(store, T1)
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def post(email: str) -> None:
        start.wait()
        try:
            store.connect(grant, _account(email))
            outcomes.append("connected")
        except LinkUsed:
            outcomes.append("refused")

    threads = [threading.Thread(target=post, args=(f"u{n}@example.com",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["connected", "refused"]
    assert store.link(grant.nonce_hash) is None


def test_an_expired_link_grants_nothing(store: ConnectionStore, clock: FakeClock) -> None:
    grant = _grant(store, T1)
    clock.advance(timedelta(minutes=10))
    assert store.link(grant.nonce_hash) is None
    with pytest.raises(LinkUsed):
        store.connect(grant, _account())


def test_an_org_connection_serves_its_workspaces_unless_one_has_its_own(
    store: ConnectionStore,
) -> None:
    store.connect(_grant(store, ORG), _account("org@example.com"))
    store.connect(_grant(store, T2), _account("t2@example.com"))
    first, second = store.for_workspace(T1), store.for_workspace(T2)
    assert first is not None
    assert second is not None
    assert (first.email, second.email) == ("org@example.com", "t2@example.com")
    assert store.for_workspace(Tenant("E9", "T1")) is None  # another org: nothing
    reconnected = store.connect(_grant(store, T2), _account("new@example.com"))
    assert reconnected.id == second.id  # replaced in place
    assert store.password(reconnected) == "pw-new@example.com"


def test_a_secret_copied_into_another_owners_row_does_not_open(
    store: ConnectionStore, base: Store
) -> None:
    one = store.connect(_grant(store, T1), _account("one@example.com"))
    two = store.connect(_grant(store, T2), _account("two@example.com"))
    with base.engine.begin() as conn:  # as someone with write access to the database
        sealed = conn.scalar(select(connections.c.password_sealed).where(
            connections.c.id == one.id))
        conn.execute(update(connections).where(connections.c.id == two.id).values(
            password_sealed=sealed))
    with pytest.raises(SecretError):
        store.password(two)
    assert store.password(one) == "pw-one@example.com"


def test_disconnect_forgets_the_account_at_once(store: ConnectionStore) -> None:
    store.connect(_grant(store, T1), _account())
    assert store.disconnect(T1)
    assert store.for_workspace(T1) is None
    assert not store.disconnect(T1)


def _schedule(base: Store, key: str) -> dict[str, object] | None:
    with base.engine.connect() as conn:
        row = conn.execute(
            select(connection_schedules).where(connection_schedules.c.connection_id == key)
        ).first()
    return None if row is None else dict(row._mapping)


def test_connecting_schedules_a_poll_at_once_and_disconnecting_removes_it(
    store: ConnectionStore, base: Store, clock: FakeClock
) -> None:
    connection = store.connect(_grant(store, T1), _account())
    key = schedule_key(connection.id)
    row = _schedule(base, key)
    assert row is not None
    assert (row["status"], row["next_poll_at"]) == ("active", clock.now())
    with base.engine.begin() as conn:  # it failed a while and holds a lease of generation 3
        conn.execute(update(connection_schedules).values(
            status="failing", consecutive_failures=4, lease_generation=3,
            next_poll_at=clock.now() + timedelta(minutes=15),
        ))
    clock.advance(60)
    store.connect(_grant(store, T1), _account("new@example.com"))  # reconnected
    row = _schedule(base, key)
    assert row is not None
    assert (row["status"], row["consecutive_failures"]) == ("active", 0)
    assert row["next_poll_at"] == clock.now()
    assert row["lease_generation"] == 3  # a poll in flight still cannot commit twice
    assert store.disconnect(T1)
    assert _schedule(base, key) is None


def test_connections_without_a_schedule_get_one_from_the_worker(
    store: ConnectionStore, base: Store
) -> None:
    one = store.connect(_grant(store, T1), _account())
    two = store.connect(_grant(store, T2), _account("two@example.com"))
    with base.engine.begin() as conn:
        conn.execute(connection_schedules.delete())
    assert store.schedule_missing() == 2
    assert store.schedule_missing() == 0
    assert _schedule(base, schedule_key(one.id)) is not None
    assert _schedule(base, schedule_key(two.id)) is not None


def test_an_org_connection_serves_the_installed_workspaces_without_their_own(
    store: ConnectionStore, base: Store, clock: FakeClock
) -> None:
    with base.engine.begin() as conn:
        for enterprise, team, revoked in (
            ("E1", "T1", None), ("E1", "T2", None), ("E1", "T3", clock.now()),
            ("E2", "T9", None), ("E1", "", None),
        ):
            conn.execute(installations.insert().values(
                enterprise_id=enterprise, team_id=team, is_enterprise_install=team == "",
                bot_scopes="", installed_at=clock.now(), updated_at=clock.now(),
                revoked_at=revoked,
            ))
    org = store.connect(_grant(store, ORG), _account())
    assert store.served_teams(org) == {"T1", "T2"}
    own = store.connect(_grant(store, T2), _account("t2@example.com"))
    assert store.served_teams(org) == {"T1"}
    assert store.served_teams(own) == {"T2"}
