"""Outbox rows in flight: claims are exclusive and fenced, and a successor finds what a dead
worker was posting. Also the step-2 migration of a database created by step 1."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, inspect, select

from bot.notify import store as store_module
from bot.notify.store import (
    SCHEMA_VERSION,
    Lease,
    LeaseLost,
    NewDelivery,
    Store,
    create_store_engine,
    schema_version,
)
from tests.notify.conftest import StoreFactory
from tests.notify.support import T0, FakeClock

TEAM, CHANNEL = "T1", "C1"


def _delivery(sub_id: int, release_id: int = 1) -> NewDelivery:
    return NewDelivery(
        subscription_id=sub_id, team_id=TEAM, channel_id=CHANNEL, kind="closed",
        payload={"kind": "closed"}, release_id=release_id,
    )


def _sub(store: Store) -> int:
    return store.add_change_subscription(
        team_id=TEAM, channel_id=CHANNEL, filters="open", created_by="U1"
    ).id


def test_a_claim_is_exclusive_and_hides_the_row(store: Store, make_store: StoreFactory) -> None:
    sub = _sub(store)
    (row,) = store.commit_poll({}, [_delivery(sub)])
    other = make_store()
    assert store.claim_delivery(row)
    assert not other.claim_delivery(row)
    assert store.delivery_state(row) == "sending"
    assert store.pending_deliveries() == []
    store.mark_sent(row, "1.1", parent=True)
    assert store.delivery_state(row) == "sent"
    assert not store.claim_delivery(row)


def test_unclaim_makes_the_row_pending_again(store: Store) -> None:
    sub = _sub(store)
    (row,) = store.commit_poll({}, [_delivery(sub)])
    assert store.claim_delivery(row)
    store.unclaim_delivery(row)
    assert store.delivery_state(row) == "pending"
    assert [d.id for d in store.pending_deliveries()] == [row]


def test_a_failed_attempt_ends_the_claim(store: Store, clock: FakeClock) -> None:
    sub = _sub(store)
    (row,) = store.commit_poll({}, [_delivery(sub)])
    assert store.claim_delivery(row)
    store.mark_failed(row, "ratelimited", retry_at=T0 + timedelta(seconds=5))
    assert store.delivery_state(row) == "pending"
    clock.advance(timedelta(seconds=5))
    assert [d.id for d in store.pending_deliveries()] == [row]


def test_claims_are_fenced_by_the_lease(store: Store, clock: FakeClock) -> None:
    sub = _sub(store)
    (row,) = store.commit_poll({}, [_delivery(sub)])
    mine, theirs = Lease("worker", "a"), Lease("worker", "b")
    assert store.acquire_lease(mine, timedelta(seconds=30))
    with pytest.raises(LeaseLost):
        store.claim_delivery(row, fence=theirs)
    assert store.delivery_state(row) == "pending"
    assert store.claim_delivery(row, fence=mine)


def test_a_successor_recovers_rows_left_in_flight(
    store: Store, make_store: StoreFactory
) -> None:
    sub = _sub(store)
    first, second = store.commit_poll({}, [_delivery(sub, 1), _delivery(sub, 2)])
    assert store.claim_delivery(first)
    store.close()  # died while posting `first`

    successor = make_store()
    assert [d.id for d in successor.pending_deliveries()] == [second]
    recovered = successor.recover_in_flight()
    assert [d.id for d in recovered] == [first]
    assert [d.id for d in successor.pending_deliveries()] == [first, second]
    assert successor.recover_in_flight() == []


def test_unsubscribing_while_a_row_is_posted_lets_the_worker_record_it(
    store: Store, make_store: StoreFactory
) -> None:
    sub = _sub(store)
    posting, waiting = store.commit_poll({}, [_delivery(sub, 1), _delivery(sub, 2)])
    assert store.claim_delivery(posting)
    assert make_store().delete_subscription(TEAM, CHANNEL, sub)  # the web process, meanwhile
    store.mark_sent(posting, "1.1", parent=True)  # Slack took the post: record it, no KeyError
    assert store.delivery_state(posting) == "sent"
    assert store.get_parent(TEAM, CHANNEL, 1) == "1.1"
    assert store.delivery_state(waiting) is None
    assert store.recover_in_flight() == []
    assert store.purge_outbox(timedelta(days=1)) == 1


def test_a_step_one_database_is_upgraded(db_url: str, clock: FakeClock) -> None:
    engine = create_store_engine(db_url)
    try:
        with engine.begin() as conn:  # the database as step 1 left it
            store_module._migrate_v1(conn)
            schema_version.create(conn)
            conn.execute(insert(schema_version).values(version=1, applied_at=T0))
        with Store(engine, clock=clock) as upgraded:
            assert upgraded.schema_version() == SCHEMA_VERSION
            with engine.connect() as conn:
                columns = {c["name"] for c in inspect(conn).get_columns("outbox")}
                versions = conn.execute(select(schema_version.c.version)).scalars().all()
            assert {"sending_at", "sending_by"} <= columns
            assert versions == list(range(1, SCHEMA_VERSION + 1))
            sub = _sub(upgraded)
            (row,) = upgraded.commit_poll({}, [_delivery(sub)])
            assert upgraded.claim_delivery(row)
    finally:
        engine.dispose()
