"""The poll of one connection on PostgreSQL, over loopback to a MetaKraftwerk stand-in serving two
customers whose release ids are the same: each connection's changes reach only its own
workspaces, the login is kept sealed and reused, a lost lease writes nothing, and a failing
connection says why."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from bot.connect.links import LinkSigner
from bot.connect.poll import ConnectionPoll, PollFailed
from bot.connect.records import Account, Connection
from bot.connect.store import ConnectionStore, schedule_key
from bot.connect.verify import WRONG_LOGIN
from bot.demo import DemoApiServer
from bot.demo.api_server import Customer
from bot.notify.scale.claims import ScheduleClaims
from bot.notify.scale.records import Claim, ClaimLost
from bot.notify.store import Store
from bot.notify.store.database import Database
from bot.notify.store.schema import outbox, release_snapshot
from bot.secret_box import SecretBox, new_key
from bot.tenant import Tenant
from tests.fakes.clock import FakeClock

T1, T2 = Tenant("", "T1"), Tenant("", "T2")
LEASE = timedelta(seconds=15)


@pytest.fixture
def store(pg_url: str, clock: FakeClock) -> Iterator[Store]:
    with Store.from_url(pg_url, clock=clock) as opened:
        yield opened


@pytest.fixture
def api(clock: FakeClock) -> Iterator[DemoApiServer]:
    with DemoApiServer(clock=clock) as server:
        yield server


@pytest.fixture
def connections(store: Store, clock: FakeClock) -> ConnectionStore:
    return ConnectionStore(store.engine, SecretBox([new_key()]), clock)


@pytest.fixture
def claims(store: Store, clock: FakeClock) -> ScheduleClaims:
    return ScheduleClaims(Database(store.engine, clock))


@pytest.fixture
def poll(
    connections: ConnectionStore, store: Store, clock: FakeClock
) -> Iterator[ConnectionPoll]:
    polling = ConnectionPoll(
        connections, store, lambda url: httpx.Client(base_url=url, timeout=5), clock
    )
    yield polling
    polling.close()


def _connect(
    connections: ConnectionStore, tenant: Tenant, account: Account
) -> Connection:
    _token, nonce_hash = LinkSigner("k").new_link()
    connections.add_link(nonce_hash, tenant, "U1")
    grant = connections.link(nonce_hash)
    assert grant is not None
    return connections.connect(grant, account)


def _customer_account(
    api: DemoApiServer, customer: Customer, token: str, expires_in: timedelta
) -> Account:
    return Account(api.url, customer.email, customer.password, token,
                   api.clock.now() + expires_in)


def _round(claims: ScheduleClaims, poll: ConnectionPoll, owner: str = "w1") -> list[Claim]:
    """Claim every due connection, poll it and commit it, as one worker would."""
    taken = claims.claim_due(owner, 10, LEASE)
    for claim in taken:
        polled = poll(claim)
        claims.commit(claim, polled.write, next_poll_at=claims.now(), changed=polled.changed)
    return taken


def _rows(store: Store) -> list[tuple[str, str, int, str]]:
    with store.engine.connect() as conn:
        return [
            (r.team_id, r.channel_id, r.release_id, r.kind)
            for r in conn.execute(select(outbox).order_by(outbox.c.id))
        ]


@pytest.fixture
def two(
    api: DemoApiServer, connections: ConnectionStore, store: Store
) -> tuple[Customer, Customer, Connection, Connection]:
    alpha = api.add_customer("alpha@example.com", "alpha-pw")
    beta = api.add_customer("beta@example.com", "beta-pw")
    # Alpha's kept session has expired: its first poll logs in. Beta's is good: no login.
    one = _connect(connections, T1, _customer_account(
        api, alpha, "expired", timedelta(hours=-1)))
    two = _connect(connections, T2, _customer_account(
        api, beta, api.issue_token(3), timedelta(hours=20)))
    for team, channel in (("T1", "C1"), ("T2", "C2")):
        store.subscriptions.add_change(
            team_id=team, channel_id=channel, filters="all", created_by="U1"
        )
    return alpha, beta, one, two


def test_each_connections_changes_reach_only_its_own_workspace(
    two: tuple[Customer, Customer, Connection, Connection], api: DemoApiServer,
    claims: ScheduleClaims, poll: ConnectionPoll, store: Store, clock: FakeClock,
) -> None:
    alpha, beta, one, other = two
    shared_id = next(r.id for r in alpha.data.releases() if not r.closed and not r.deleted)
    assert beta.data.by_id(shared_id) is not None  # the same id in both customers

    assert {c.connection_id for c in _round(claims, poll)} == {
        schedule_key(one.id), schedule_key(other.id)
    }
    assert _rows(store) == []  # the first poll of each records its baseline
    with store.engine.connect() as conn:
        per_connection: dict[str, int] = dict(conn.execute(
            select(release_snapshot.c.connection_id, func.count())
            .group_by(release_snapshot.c.connection_id)
        ).all())
    assert per_connection == {
        schedule_key(one.id): len(alpha.data.releases()),
        schedule_key(other.id): len(beta.data.releases()),
    }

    alpha.data.close(shared_id)
    clock.advance(1)
    _round(claims, poll)
    assert _rows(store) == [("T1", "C1", shared_id, "closed")]

    beta.data.rename(shared_id, "Beta only")
    clock.advance(1)
    _round(claims, poll)
    assert _rows(store)[1:] == [("T2", "C2", shared_id, "renamed")]
    assert api.counts.count("/authentication", "POST") == 1  # alpha once; beta's was kept


def test_a_login_is_kept_sealed_for_the_next_process(
    two: tuple[Customer, Customer, Connection, Connection], api: DemoApiServer,
    connections: ConnectionStore, claims: ScheduleClaims, poll: ConnectionPoll,
    store: Store, clock: FakeClock,
) -> None:
    _alpha, _beta, one, _other = two
    _round(claims, poll)
    kept = connections.session_token(one)
    assert kept not in (None, "expired")
    assert api.account_of(kept or "") == "alpha@example.com"
    restarted = ConnectionPoll(
        connections, store, lambda url: httpx.Client(base_url=url, timeout=5), clock
    )
    try:
        clock.advance(1)
        _round(claims, restarted)
    finally:
        restarted.close()
    assert api.counts.count("/authentication", "POST") == 1
    reread = connections.get(one.id)
    assert reread is not None
    assert reread.last_good_poll_at == clock.now()


def test_a_poll_whose_lease_was_taken_over_writes_nothing(
    two: tuple[Customer, Customer, Connection, Connection], claims: ScheduleClaims,
    poll: ConnectionPoll, store: Store, clock: FakeClock,
) -> None:
    alpha, _beta, _one, _other = two
    _round(claims, poll)
    shared_id = next(r.id for r in alpha.data.releases() if not r.closed and not r.deleted)
    alpha.data.close(shared_id)
    clock.advance(1)
    slow = claims.claim_due("w1", 10, LEASE)
    polled = {c.connection_id: poll(c) for c in slow}
    clock.advance(LEASE + timedelta(seconds=1))  # w1 stalled past its lease; w2 takes over
    _round(claims, poll, owner="w2")
    for claim in slow:
        with pytest.raises(ClaimLost):
            claims.commit(claim, polled[claim.connection_id].write,
                          next_poll_at=claims.now(), changed=True)
    assert _rows(store) == [("T1", "C1", shared_id, "closed")]  # w2's, once


def test_a_failing_connection_says_why_and_shows_as_failing(
    api: DemoApiServer, connections: ConnectionStore, claims: ScheduleClaims,
    poll: ConnectionPoll,
) -> None:
    alpha = api.add_customer("alpha@example.com", "alpha-pw")
    wrong = Customer(alpha.email, "changed-since", alpha.data)
    connection = _connect(connections, T1, _customer_account(
        api, wrong, "expired", timedelta(hours=-1)))
    [claim] = claims.claim_due("w1", 10, LEASE)
    with pytest.raises(PollFailed):
        poll(claim)
    failed = connections.get(connection.id)
    assert failed is not None
    assert (failed.last_error, failed.status) == (WRONG_LOGIN, "active")
    poll.on_failing(claim.connection_id)
    failing = connections.get(connection.id)
    assert failing is not None
    assert failing.status == "failing"


def test_a_disconnected_connection_loses_its_schedule_row(
    two: tuple[Customer, Customer, Connection, Connection], connections: ConnectionStore,
    claims: ScheduleClaims, poll: ConnectionPoll,
) -> None:
    _alpha, _beta, one, _other = two
    taken = claims.claim_due("w1", 10, LEASE)
    assert connections.disconnect(T1)
    for claim in taken:
        if claim.connection_id == schedule_key(one.id):
            with pytest.raises(ClaimLost):  # its row went with the disconnect
                claims.commit(claim, poll(claim).write, next_poll_at=claims.now(),
                              changed=False)
    assert claims.schedule(schedule_key(one.id)) is None


def test_a_connection_reads_the_threads_and_follows_of_its_workspaces_only(
    store: Store, clock: FakeClock
) -> None:
    store.outbox.record_parent("T1", "C1", 21, "1.1")
    store.outbox.record_parent("T2", "C2", 21, "2.2")
    store.follows.follow("T1", "U1", 21)
    store.follows.follow("T2", "U2", 21)
    assert store.outbox.threads({"T1"}) == {("T1", "C1", 21)}
    assert store.outbox.threads() == {("T1", "C1", 21), ("T2", "C2", 21)}
    assert [f.user_id for f in store.follows.all({"T2"})] == ["U2"]
