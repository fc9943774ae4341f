"""A poll's writes stay a few statements however many rows it queues, and the index that
finds each channel's first blocking row exists after migration."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import event, inspect

from bot.notify.records import NewDelivery
from bot.notify.store import Store
from tests.notify.support import release, snapshot_of


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
            team_id="T1", channel_id=f"C{n % 7}", filters="open", created_by="U1"
        ).id
        for n in range(count)
    ]


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
