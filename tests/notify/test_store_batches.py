"""A poll's writes stay a few statements however many rows it queues, an event's payload is
stored once for all its rows, and the index that finds each channel's first blocking row
exists after migration."""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import event, func, insert, inspect, select

from bot.notify.records import NewDelivery
from bot.notify.store import Store
from bot.notify.store.schema import outbox, outbox_payloads
from tests.fakes.clock import FakeClock
from tests.notify.support import T0, release, snapshot_of


def _statements_of(store: Store, action: Any) -> int:
    count = 0
    lock = threading.Lock()

    def seen(*_: Any) -> None:
        nonlocal count
        with lock:
            count += 1

    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        action()
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    return count


def _poll(store: Store, subs: list[int], releases: int) -> list[int]:
    deliveries = [
        NewDelivery(
            subscription_id=sub_id, team_id="T1", channel_id=f"C{n % 7}", kind="created",
            payload={"kind": "created", "n": n}, release_id=n,
        )
        for n, sub_id in enumerate(subs * 4)
    ]
    snapshot = snapshot_of(*(release(i) for i in range(1, releases + 1)))
    return store.outbox.commit_poll(snapshot, deliveries)


def _subscriptions(store: Store, count: int) -> list[int]:
    return [
        store.subscriptions.add_change(
            team_id="T1", channel_id=f"C{n % 7}", filters=f"open name:R{n}", created_by="U1"
        ).id
        for n in itertools.islice(_numbers, count)  # distinct filters: no twins
    ]


_numbers = itertools.count(1)


def test_a_poll_writes_in_as_many_statements_for_many_rows_as_for_few(store: Store) -> None:
    few = _subscriptions(store, 2)
    small = _statements_of(store, lambda: _poll(store, few, 3))
    many = _subscriptions(store, 40)
    store.outbox.commit_poll({})
    large = _statements_of(store, lambda: _poll(store, many, 120))
    assert large == small


def test_batched_ids_follow_the_rows_given(store: Store) -> None:
    subs = _subscriptions(store, 25)
    ids = _poll(store, subs, 5)
    pending = {d.id: d for d in store.outbox.pending_deliveries(limit=1000)}
    assert len(ids) == len(set(ids)) == 100
    assert [pending[i].payload["n"] for i in ids if i in pending] == [
        n for n, i in enumerate(ids) if i in pending
    ]
    assert {pending[i].subscription_id for i in ids if i in pending} <= set(subs)


def test_each_channels_pending_rows_have_an_index(store: Store) -> None:
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(store.engine).get_indexes("outbox")}
    assert indexes["ix_outbox_channel_order"] == ["state", "team_id", "channel_id", "id"]


def _event_to_channels(subs: list[int], release_id: int) -> list[NewDelivery]:
    payload = {"kind": "closed", "release": {"id": release_id, "name": f"R{release_id}"}}
    return [
        NewDelivery(
            subscription_id=sub_id, team_id="T1", channel_id=f"C{n % 7}", kind="closed",
            payload=payload, release_id=release_id,
        )
        for n, sub_id in enumerate(subs)
    ]


def test_an_event_for_many_channels_stores_its_payload_once(store: Store) -> None:
    subs = _subscriptions(store, 7)
    deliveries = [*_event_to_channels(subs, 1), *_event_to_channels(subs, 2)]
    ids = store.outbox.commit_poll({}, deliveries)
    with store.engine.connect() as conn:
        payloads = conn.execute(select(func.count()).select_from(outbox_payloads)).scalar()
    assert payloads == 2
    pending = {d.id: d for d in store.outbox.pending_deliveries(limit=100)}
    assert [pending[i].payload for i in ids] == [d.payload for d in deliveries]


def test_a_row_written_before_payloads_were_shared_still_delivers(store: Store) -> None:
    """Rows queued by an older version hold their payload themselves (payload_id NULL)."""
    (sub,) = _subscriptions(store, 1)
    with store.engine.begin() as conn:
        conn.execute(insert(outbox).values(
            subscription_id=sub, team_id="T1", channel_id="C0", release_id=1, kind="closed",
            payload={"kind": "closed", "old": True}, created_at=T0, available_at=T0,
            state="pending", attempts=0,
        ))
    (row,) = store.outbox.pending_deliveries()
    assert row.payload == {"kind": "closed", "old": True}


def test_purge_removes_only_old_payloads_no_row_needs(
    store: Store, clock: FakeClock
) -> None:
    subs = _subscriptions(store, 2)
    old_ids = store.outbox.commit_poll({}, _event_to_channels(subs, 1))
    kept_ids = store.outbox.commit_poll({}, _event_to_channels(subs, 2))
    for row_id in old_ids:
        store.outbox.mark_sent(row_id, f"{row_id}.0")
    clock.advance(timedelta(days=30))
    store.outbox.purge(timedelta(days=7))
    with store.engine.connect() as conn:
        left = conn.execute(select(outbox_payloads.c.payload)).scalars().all()
    assert [p["release"]["id"] for p in left] == [2]  # the pending rows' payload stays
    assert {d.id for d in store.outbox.pending_deliveries()} == set(kept_ids)
    assert {d.payload["release"]["id"] for d in store.outbox.pending_deliveries()} == {2}
