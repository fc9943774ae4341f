"""The snapshot this process wrote is kept in memory, and never read stale: another writer's
poll, a failed poll and a fresh process all see what the database holds."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from bot.notify.records import NewDelivery, Snapshot
from bot.notify.store import Store
from bot.notify.store.schema import release_snapshot
from tests.fakes.clock import FakeClock
from tests.notify.conftest import StoreFactory
from tests.notify.support import release, snapshot_of


class SnapshotReads:
    """Counts the statements that read the snapshot table."""

    def __init__(self, store: Store) -> None:
        self.count = 0
        self._lock = threading.Lock()
        self._engine = store.engine
        event.listen(self._engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and release_snapshot.name in statement:
            with self._lock:
                self.count += 1

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._seen)


def _as_read_fresh(make_store: StoreFactory) -> Snapshot:
    return make_store().outbox.load_snapshot()


def test_the_kept_snapshot_equals_what_a_fresh_process_reads(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = make_store()
    polls = [
        snapshot_of(release(1), release(2), release(3, group_id=2)),
        snapshot_of(release(1, closed=True), release(2), release(3, group_id=2)),  # 1 closes
        snapshot_of(release(1, closed=True), release(2, name="R2b"), release(4)),  # 3 goes
        snapshot_of(release(1), release(2, name="R2b"), release(4, closed=True)),  # 1 reopens
    ]
    reads = SnapshotReads(store)
    try:
        for n, snapshot in enumerate(polls):
            if n == 1:
                reads.count = 0
            clock.advance(timedelta(minutes=1))
            store.outbox.commit_poll(snapshot)
            kept = store.outbox.load_snapshot()
            assert kept == _as_read_fresh(make_store)
            assert kept.releases == snapshot
    finally:
        reads.close()
    # The first round read the table (nothing was kept yet); later rounds used the kept copy.
    assert reads.count == 0


def test_the_closing_time_survives_in_the_kept_copy(
    make_store: StoreFactory, clock: FakeClock
) -> None:
    store = make_store()
    store.outbox.commit_poll(snapshot_of(release(1)))
    clock.advance(timedelta(minutes=5))
    store.outbox.commit_poll(snapshot_of(release(1, closed=True)))
    closed_at = store.outbox.closed_times([1])
    clock.advance(timedelta(minutes=5))
    store.outbox.commit_poll(snapshot_of(release(1, closed=True, name="renamed")))
    assert store.outbox.closed_times([1]) == closed_at
    assert closed_at[1] == clock.now() - timedelta(minutes=5)


def test_another_writer_makes_the_kept_copy_stale(make_store: StoreFactory) -> None:
    mine, theirs = make_store(), make_store()
    mine.outbox.commit_poll(snapshot_of(release(1), release(2)))
    assert set(mine.outbox.load_snapshot().releases) == {1, 2}
    theirs.outbox.commit_poll(snapshot_of(release(1), release(3)))  # a worker that took over
    assert mine.outbox.load_snapshot() == _as_read_fresh(make_store)
    assert set(mine.outbox.load_snapshot().releases) == {1, 3}
    # and its next write diffs against what the other writer stored, not its own old copy
    mine.outbox.commit_poll(snapshot_of(release(1), release(3, closed=True)))
    assert mine.outbox.load_snapshot() == _as_read_fresh(make_store)


def test_a_failed_poll_leaves_the_kept_copy_as_stored(make_store: StoreFactory) -> None:
    store = make_store()
    store.outbox.commit_poll(snapshot_of(release(1)))
    store.outbox.load_snapshot()
    broken = NewDelivery(
        subscription_id=1, team_id="T1", channel_id="C1", kind="closed",
        payload={"not json": object()}, release_id=1,
    )
    sub = store.subscriptions.add_change(
        team_id="T1", channel_id="C1", filters="open", created_by="U1"
    )
    with pytest.raises(TypeError, match="not JSON serializable"):
        store.outbox.commit_poll(
            snapshot_of(release(1, closed=True), release(2)),
            [replace(broken, subscription_id=sub.id)],
        )
    assert store.outbox.load_snapshot().releases == snapshot_of(release(1))
    assert store.outbox.load_snapshot() == _as_read_fresh(make_store)
    store.outbox.commit_poll(snapshot_of(release(1, closed=True), release(2)))
    assert store.outbox.load_snapshot() == _as_read_fresh(make_store)


def test_the_kept_copy_is_not_the_callers_to_change(make_store: StoreFactory) -> None:
    store = make_store()
    store.outbox.commit_poll(snapshot_of(release(1)))
    store.outbox.load_snapshot().releases.clear()
    assert set(store.outbox.load_snapshot().releases) == {1}
