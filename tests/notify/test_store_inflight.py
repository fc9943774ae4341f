"""Outbox rows in flight: claims are exclusive and fenced, and a successor finds what a dead
worker was posting. Also the upgrade of a database created by step 1."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import inspect, text

from bot.notify.records import Lease, LeaseLost, NewDelivery
from bot.notify.store import Store
from bot.notify.store.engine import create_store_engine
from bot.notify.store.migrations import head_version
from tests.fakes.clock import FakeClock
from tests.notify.conftest import StoreFactory
from tests.notify.legacy_steps import build_legacy
from tests.notify.support import T0, delivery_state

TEAM, CHANNEL = "T1", "C1"


def _delivery(sub_id: int, release_id: int = 1) -> NewDelivery:
    return NewDelivery(
        subscription_id=sub_id, team_id=TEAM, channel_id=CHANNEL, kind="closed",
        payload={"kind": "closed"}, release_id=release_id,
    )


def _sub(store: Store) -> int:
    """A change subscription; each call's filters differ, so none is another's twin."""
    return store.subscriptions.add_change(
        team_id=TEAM, channel_id=CHANNEL, filters=f"open name:R{next(_numbers)}",
        created_by="U1",
    ).id


_numbers = itertools.count(1)


def test_a_claim_is_exclusive_and_hides_the_row(store: Store, make_store: StoreFactory) -> None:
    sub = _sub(store)
    (row,) = store.outbox.commit_poll({}, [_delivery(sub)])
    other = make_store()
    assert store.outbox.claim_delivery(row)
    assert not other.outbox.claim_delivery(row)
    assert delivery_state(store, row) == "sending"
    assert store.outbox.pending_deliveries() == []
    store.outbox.mark_sent(row, "1.1", parent=True)
    assert delivery_state(store, row) == "sent"
    assert not store.outbox.claim_delivery(row)


def test_unclaim_makes_the_row_pending_again(store: Store) -> None:
    sub = _sub(store)
    (row,) = store.outbox.commit_poll({}, [_delivery(sub)])
    assert store.outbox.claim_delivery(row)
    store.outbox.unclaim_delivery(row)
    assert delivery_state(store, row) == "pending"
    assert [d.id for d in store.outbox.pending_deliveries()] == [row]


def test_a_failed_attempt_ends_the_claim(store: Store, clock: FakeClock) -> None:
    sub = _sub(store)
    (row,) = store.outbox.commit_poll({}, [_delivery(sub)])
    assert store.outbox.claim_delivery(row)
    store.outbox.mark_failed(row, "ratelimited", retry_at=T0 + timedelta(seconds=5))
    assert delivery_state(store, row) == "pending"
    clock.advance(timedelta(seconds=5))
    assert [d.id for d in store.outbox.pending_deliveries()] == [row]


def test_claims_are_fenced_by_the_lease(store: Store, clock: FakeClock) -> None:
    sub = _sub(store)
    (row,) = store.outbox.commit_poll({}, [_delivery(sub)])
    mine, theirs = Lease("worker", "a"), Lease("worker", "b")
    assert store.leases.acquire(mine, timedelta(seconds=30))
    with pytest.raises(LeaseLost):
        store.outbox.claim_delivery(row, fence=theirs)
    assert delivery_state(store, row) == "pending"
    assert store.outbox.claim_delivery(row, fence=mine)


def test_a_successor_recovers_rows_left_in_flight(
    store: Store, make_store: StoreFactory
) -> None:
    sub = _sub(store)
    first, second = store.outbox.commit_poll({}, [_delivery(sub, 1), _delivery(sub, 2)])
    assert store.outbox.claim_delivery(first)
    store.close()  # died while posting `first`

    successor = make_store()
    assert successor.outbox.pending_deliveries() == []  # the channel waits for `first`
    recovered = successor.outbox.recover_in_flight()
    assert [d.id for d in recovered] == [first]
    assert [d.id for d in successor.outbox.pending_deliveries()] == [first, second]
    assert successor.outbox.recover_in_flight() == []


def test_unsubscribing_while_a_row_is_posted_lets_the_worker_record_it(
    store: Store, make_store: StoreFactory
) -> None:
    sub = _sub(store)
    posting, waiting = store.outbox.commit_poll({}, [_delivery(sub, 1), _delivery(sub, 2)])
    assert store.outbox.claim_delivery(posting)
    assert make_store().subscriptions.delete(TEAM, CHANNEL, sub)  # the web process, meanwhile
    # Slack took the post: record it, no KeyError
    store.outbox.mark_sent(posting, "1.1", parent=True)
    assert delivery_state(store, posting) == "sent"
    assert store.outbox.get_parent(TEAM, CHANNEL, 1) == "1.1"
    assert delivery_state(store, waiting) is None
    assert store.outbox.recover_in_flight() == []
    assert store.outbox.purge(timedelta(days=1)) == 1


def test_a_step_one_database_is_upgraded(db_url: str, clock: FakeClock) -> None:
    engine = create_store_engine(db_url)
    try:
        with engine.begin() as conn:  # the database as step 1 left it
            build_legacy(conn, 1)
        with Store(engine, clock=clock) as upgraded:
            assert upgraded.schema_version() == head_version()
            with engine.connect() as conn:
                columns = {c["name"] for c in inspect(conn).get_columns("outbox")}
                versions = conn.execute(text("SELECT version FROM schema_version")).scalars()
                assert sorted(versions) == [1, 2, 3, 4, 5]
            assert {"sending_at", "sending_by"} <= columns
            sub = _sub(upgraded)
            (row,) = upgraded.outbox.commit_poll({}, [_delivery(sub)])
            assert upgraded.outbox.claim_delivery(row)
    finally:
        engine.dispose()
