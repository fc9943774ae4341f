"""Delivery claims on PostgreSQL: a channel's rows one at a time and in order, at most k rows
of a team per claim, rows locked elsewhere skipped, left-out teams and paused rows waiting."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.notify.records import NewDelivery
from bot.notify.scale.delivery_claims import DeliveryClaims
from bot.notify.scale.records import ClaimsNeedPostgreSQL
from bot.notify.store import Store
from bot.notify.store.database import Database
from bot.notify.store.engine import create_store_engine
from tests.fakes.clock import FakeClock


@pytest.fixture
def deliveries(pg_store: Store, clock: FakeClock) -> DeliveryClaims:
    return DeliveryClaims(Database(pg_store.engine, clock))


def _queue(store: Store, team: str, channel: str, count: int = 1) -> list[int]:
    sub = next(iter(store.subscriptions.in_channel(team, channel)), None)
    if sub is None:
        sub = store.subscriptions.add_change(
            team_id=team, channel_id=channel, filters="open", created_by="U1")
    return store.outbox.commit_poll({}, [NewDelivery(
        subscription_id=sub.id, team_id=team, channel_id=channel, kind="closed",
        payload={"kind": "closed", "n": n}, release_id=n,
    ) for n in range(count)])


def test_a_channel_is_posted_one_row_at_a_time_in_order(
    deliveries: DeliveryClaims, pg_store: Store
) -> None:
    first, second = _queue(pg_store, "T1", "C1", 2)
    assert [d.id for d in deliveries.claim("w1", limit=10, per_team=10)] == [first]
    assert deliveries.claim("w2", limit=10, per_team=10) == []  # the head is in flight
    pg_store.outbox.mark_sent(first, "1.1")
    assert [d.id for d in deliveries.claim("w2", limit=10, per_team=10)] == [second]


def test_a_noisy_team_gets_at_most_k_rows_per_claim(
    deliveries: DeliveryClaims, pg_store: Store
) -> None:
    for n in range(10):
        _queue(pg_store, "TNOISY", f"C{n}")
    (quiet,) = _queue(pg_store, "TQUIET", "C1")  # queued last, the highest id
    claimed = deliveries.claim("w1", limit=3, per_team=2)
    assert [d.team_id for d in claimed].count("TNOISY") == 2
    assert quiet in [d.id for d in claimed]
    assert len(deliveries.claim("w2", limit=100, per_team=100)) == 8


def test_rows_locked_by_another_claim_are_skipped_not_waited_for(
    deliveries: DeliveryClaims, pg_store: Store
) -> None:
    (locked,) = _queue(pg_store, "T1", "C1")
    (free,) = _queue(pg_store, "T1", "C2")
    with pg_store.engine.connect() as other, other.begin():
        other.execute(text("SELECT 1 FROM outbox WHERE id = :i FOR UPDATE"), {"i": locked})
        assert [d.id for d in deliveries.claim("w1", limit=10, per_team=10)] == [free]


def test_a_left_out_team_and_a_paused_subscription_wait_alone(
    deliveries: DeliveryClaims, pg_store: Store
) -> None:
    _queue(pg_store, "TREVOKED", "C1")
    (paused,) = _queue(pg_store, "T1", "C1")
    (behind,) = _queue(pg_store, "T1", "C2")
    (sub,) = pg_store.subscriptions.in_channel("T1", "C1")
    with pg_store.engine.begin() as conn:
        conn.execute(text("UPDATE subscriptions SET paused_at = now() WHERE id = :i"),
                     {"i": sub.id})
    claimed = deliveries.claim("w1", limit=10, per_team=10, left_out=["TREVOKED"])
    assert [d.id for d in claimed] == [behind]
    assert paused not in [d.id for d in claimed]


def test_a_claim_marks_who_sends(deliveries: DeliveryClaims, pg_store: Store,
                                 clock: FakeClock) -> None:
    (row,) = _queue(pg_store, "T1", "C1")
    deliveries.claim("w1", limit=1, per_team=1)
    with pg_store.engine.connect() as conn:
        by = conn.execute(text("SELECT sending_by, sending_at FROM outbox WHERE id = :i"),
                          {"i": row}).one()
    assert (by.sending_by, by.sending_at) == ("w1", clock.now())


def test_sqlite_is_refused(tmp_path: Path, clock: FakeClock) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path}/x.db")
    with pytest.raises(ClaimsNeedPostgreSQL, match="SKIP LOCKED"):
        DeliveryClaims(Database(engine, clock))
    engine.dispose()


def test_a_dead_worker_s_rows_are_posted_again_once_they_are_stale(
    deliveries: DeliveryClaims, pg_store: Store, clock: FakeClock
) -> None:
    (row,) = _queue(pg_store, "T1", "C1")
    deliveries.claim("dead", limit=1, per_team=1)
    clock.advance(30)
    assert deliveries.recover_stale(timedelta(seconds=60)) == []  # may still be posting
    clock.advance(31)
    assert deliveries.recover_stale(timedelta(seconds=60)) == [row]
    assert [d.id for d in deliveries.claim("w2", limit=1, per_team=1)] == [row]
    pg_store.outbox.mark_sent(row, "1.1")
    clock.advance(120)
    assert deliveries.recover_stale(timedelta(seconds=60)) == []  # sent rows stay sent
