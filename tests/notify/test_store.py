"""The store on SQLite and PostgreSQL: schema, subscriptions, outbox atomicity, claims, leases."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import inspect, select, text

from bot.notify.records import Lease, LeaseLost, NewDelivery
from bot.notify.store import Store
from bot.notify.store.engine import normalize_database_url
from bot.notify.store.migrations import head_version
from bot.notify.store.schema import metadata, outbox, release_snapshot
from bot.schedule import parse_schedule
from tests.fakes.clock import FakeClock
from tests.notify.conftest import StoreFactory
from tests.notify.support import (
    T0,
    delivery_state,
    pause,
    release,
    resume_channel,
    snapshot_of,
)

T = TypeVar("T")
TEAM, CHANNEL, OTHER = "T1", "C1", "C2"


def run_together(count: int, work: Callable[[int], T]) -> list[T]:
    """Run `work(i)` in `count` threads released at the same instant; re-raise any error."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def target(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    return results


def delivery(sub_id: int, release_id: int | None = 1, kind: str = "created") -> NewDelivery:
    return NewDelivery(
        subscription_id=sub_id, team_id=TEAM, channel_id=CHANNEL, kind=kind,
        payload={"kind": kind, "n": release_id}, release_id=release_id,
    )


_numbers = itertools.count(1)


def change_sub(store: Store, channel: str = CHANNEL, **kw: Any) -> int:
    """A change subscription; each call's filters differ, so none is another's twin."""
    filters = kw.pop("filters", None) or f"open name:R{next(_numbers)}"
    return store.subscriptions.add_change(
        team_id=TEAM, channel_id=channel, filters=filters, created_by="U1", **kw,
    ).id


# -- URLs and schema ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "driver", "database"),
    [
        ("postgres://u:p@h/db", "postgresql+psycopg", "db"),
        ("postgresql://u@h:5433/db", "postgresql+psycopg", "db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg", "db"),
        ("sqlite:///releases-bot.db", "sqlite", "releases-bot.db"),
        ("sqlite:////abs/path.db", "sqlite", "/abs/path.db"),
    ],
)
def test_database_urls_map_to_supported_drivers(given: str, driver: str, database: str) -> None:
    url = normalize_database_url(given)
    assert (url.drivername, url.database) == (driver, database)


def test_other_databases_are_refused() -> None:
    with pytest.raises(ValueError, match="sqlite"):
        normalize_database_url("mysql://u@h/db")


def test_sqlite_uses_wal_and_a_busy_timeout(sqlite_url: str) -> None:
    with Store.from_url(sqlite_url) as store, store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 3000


def test_schema_is_created_once_and_matches_the_code(
    store: Store, make_store: StoreFactory
) -> None:
    assert store.schema_version() == head_version()
    assert store.migrate() == head_version()
    make_store()  # a second start migrates nothing
    with store.engine.connect() as conn:
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == (
            f"{head_version():04d}"
        )
        found = inspect(conn)
        for table in metadata.sorted_tables:
            columns = {column["name"] for column in found.get_columns(table.name)}
            assert columns == set(table.columns.keys()), table.name


def test_concurrent_starts_migrate_once(db_url: str, clock: FakeClock) -> None:
    stores = run_together(4, lambda _: Store.from_url(db_url, clock=clock))
    try:
        with stores[0].engine.connect() as conn:
            versions = conn.execute(text("SELECT version FROM schema_version")).scalars().all()
            revisions = conn.execute(text("SELECT version_num FROM alembic_version")).all()
        assert sorted(versions) == [1, 2, 3, 4, 5]  # each pre-Alembic step once
        assert revisions == [(f"{head_version():04d}",)]
    finally:
        for store in stores:
            store.close()


# -- subscriptions -------------------------------------------------------------------------


def test_subscriptions_belong_to_their_channel(store: Store) -> None:
    first = store.subscriptions.add_change(
        team_id=TEAM, channel_id=CHANNEL, filters="group:DWH_GROUP open",
        created_by="U1", mention="<!subteam^S1>",
    )
    digest = store.subscriptions.add_digest(
        team_id=TEAM, channel_id=CHANNEL, filters="open",
        schedule=parse_schedule("weekdays", "09:00"), timezone="Europe/Berlin", created_by="U2",
    )
    elsewhere = change_sub(store, OTHER)

    assert first.kind == "change"
    assert not first.baseline_done
    assert first.created_at == T0
    assert first.mention == "<!subteam^S1>"
    assert digest.kind == "digest"
    assert digest.schedule == "weekdays 09:00"
    assert digest.timezone == "Europe/Berlin"
    assert [s.id for s in store.subscriptions.in_channel(TEAM, CHANNEL)] == [first.id, digest.id]
    assert store.subscriptions.get(TEAM, CHANNEL, first.id) == first
    assert store.subscriptions.get(TEAM, CHANNEL, elsewhere) is None
    assert store.subscriptions.get("T2", OTHER, elsewhere) is None

    assert not store.subscriptions.delete(TEAM, CHANNEL, elsewhere)  # not this channel's id
    assert store.subscriptions.get(TEAM, OTHER, elsewhere) is not None
    assert store.subscriptions.delete(TEAM, CHANNEL, first.id)
    assert not store.subscriptions.delete(TEAM, CHANNEL, first.id)
    assert [s.id for s in store.subscriptions.in_channel(TEAM, CHANNEL)] == [digest.id]

    assert store.subscriptions.delete_channel(TEAM, CHANNEL) == 1
    assert store.subscriptions.in_channel(TEAM, CHANNEL) == []
    assert [s.id for s in store.subscriptions.all()] == [elsewhere]


def test_deleted_ids_are_never_reused(store: Store) -> None:
    first = change_sub(store)
    second = change_sub(store)
    store.subscriptions.delete(TEAM, CHANNEL, second)
    assert change_sub(store) > second > first


def test_pausing_stops_and_cancels_deliveries(store: Store, clock: FakeClock) -> None:
    paused, active = change_sub(store), change_sub(store, OTHER)
    store.outbox.commit_poll({}, [delivery(paused), delivery(active)])
    clock.advance(timedelta(minutes=1))

    assert store.subscriptions.pause_channel(TEAM, CHANNEL, "not_in_channel") == 1
    # already paused: the reason is kept
    assert store.subscriptions.pause_channel(TEAM, CHANNEL, "again") == 0
    sub = store.subscriptions.get(TEAM, CHANNEL, paused)
    assert sub is not None
    assert sub.paused
    assert sub.paused_reason == "not_in_channel"
    assert sub.paused_at == T0 + timedelta(minutes=1)
    assert [s.id for s in store.subscriptions.all("change")] == [active]
    assert len(store.subscriptions.all(include_paused=True)) == 2
    assert [d.subscription_id for d in store.outbox.pending_deliveries()] == [active]

    assert resume_channel(store, TEAM, CHANNEL) == 1
    sub = store.subscriptions.get(TEAM, CHANNEL, paused)
    assert sub is not None
    assert not sub.paused
    assert sub.paused_reason is None
    # What was cancelled stays cancelled: nobody wants a backlog of stale news.
    assert [d.subscription_id for d in store.outbox.pending_deliveries()] == [active]
    assert pause(store, active, "is_archived")
    assert not store.subscriptions.resume(paused)
    assert store.subscriptions.resume(active)


# -- snapshot and outbox -------------------------------------------------------------------


def test_snapshot_round_trips_and_is_replaced(store: Store, clock: FakeClock) -> None:
    empty = store.outbox.load_snapshot()
    assert empty.releases == {}
    assert empty.taken_at is None

    first = snapshot_of(release(1), release(2, closed=True, description="x" * 5000))
    store.outbox.commit_poll(first)
    loaded = store.outbox.load_snapshot()
    assert loaded.releases == first
    assert loaded.taken_at == T0

    clock.advance(timedelta(minutes=1))
    second = snapshot_of(release(2, closed=False), release(3, name="R-2025-Q1"))
    store.outbox.commit_poll(second)
    loaded = store.outbox.load_snapshot()
    assert loaded.releases == second
    assert loaded.taken_at == T0 + timedelta(minutes=1)


def test_empty_poll_is_remembered_as_a_poll(store: Store) -> None:
    store.outbox.commit_poll({})
    assert store.outbox.load_snapshot().taken_at == T0


def test_poll_enqueues_and_records_baselines_together(store: Store) -> None:
    old, new = change_sub(store), change_sub(store)
    ids = store.outbox.commit_poll(snapshot_of(release(1)), [delivery(old)], baselined=[new])
    assert len(ids) == 1
    subs = {s.id: s for s in store.subscriptions.all()}
    assert subs[new].baseline_done
    assert not subs[old].baseline_done
    pending = store.outbox.pending_deliveries()
    assert [(d.id, d.subscription_id, d.release_id, d.kind) for d in pending] == [
        (ids[0], old, 1, "created")
    ]
    assert pending[0].payload == {"kind": "created", "n": 1}
    assert pending[0].attempts == 0
    assert pending[0].created_at == T0


def test_a_failure_mid_poll_writes_nothing(store: Store) -> None:
    sub, newcomer = change_sub(store), change_sub(store)
    before = snapshot_of(release(1))
    store.outbox.commit_poll(before)

    broken = NewDelivery(
        subscription_id=sub, team_id=TEAM, channel_id=CHANNEL, kind="closed",
        payload={"not json": object()}, release_id=1,
    )
    with pytest.raises(Exception, match="not JSON serializable"):
        # The snapshot rows and the first delivery are written before the second one fails.
        store.outbox.commit_poll(
            snapshot_of(release(1, closed=True), release(2)),
            [delivery(sub), broken],
            baselined=[newcomer],
        )

    assert store.outbox.load_snapshot().releases == before
    assert store.outbox.pending_deliveries() == []
    with store.engine.connect() as conn:
        assert conn.execute(select(outbox.c.id)).all() == []
        assert len(conn.execute(select(release_snapshot.c.release_id)).all()) == 1
    newcomer_sub = store.subscriptions.get(TEAM, CHANNEL, newcomer)
    assert newcomer_sub is not None
    assert not newcomer_sub.baseline_done


def test_deliveries_survive_a_restart_and_are_sent_once(
    store: Store, make_store: StoreFactory
) -> None:
    sub = change_sub(store)
    store.outbox.commit_poll(snapshot_of(release(1)), [delivery(sub, 1), delivery(sub, 2)])
    store.close()  # the worker dies after the poll, before posting

    restarted = make_store()
    pending = restarted.outbox.pending_deliveries()
    assert [d.release_id for d in pending] == [1, 2]
    restarted.outbox.mark_sent(pending[0].id, "1700000000.000100", parent=True)
    restarted.close()  # and dies again after posting the first

    again = make_store()
    assert [d.release_id for d in again.outbox.pending_deliveries()] == [2]
    assert delivery_state(again, pending[0].id) == "sent"
    assert again.outbox.get_parent(TEAM, CHANNEL, 1) == "1700000000.000100"
    assert again.outbox.get_parent(TEAM, OTHER, 1) is None


def test_parent_messages_are_per_channel_and_replaceable(store: Store) -> None:
    store.outbox.record_parent(TEAM, CHANNEL, 21, "1.1")
    store.outbox.record_parent(TEAM, OTHER, 21, "2.2")
    store.outbox.record_parent(TEAM, CHANNEL, 21, "3.3")  # the old parent was deleted; a new one
    assert store.outbox.get_parent(TEAM, CHANNEL, 21) == "3.3"
    assert store.outbox.get_parent(TEAM, OTHER, 21) == "2.2"
    assert store.outbox.get_parent(TEAM, CHANNEL, 22) is None
    assert store.outbox.threads() == {(TEAM, CHANNEL, 21), (TEAM, OTHER, 21)}


def test_failed_attempts_retry_later_or_give_up(store: Store, clock: FakeClock) -> None:
    sub = change_sub(store)
    rate_limited, broken = store.outbox.commit_poll({}, [delivery(sub, 1), delivery(sub, 2)])

    store.outbox.mark_failed(rate_limited, "ratelimited", retry_at=T0 + timedelta(seconds=30))
    store.outbox.mark_failed(broken, "invalid_blocks")
    assert store.outbox.pending_deliveries() == []
    assert delivery_state(store, broken) == "failed"

    clock.advance(timedelta(seconds=30))
    (retry,) = store.outbox.pending_deliveries()
    assert retry.id == rate_limited
    assert retry.attempts == 1

    with pytest.raises(KeyError):
        store.outbox.mark_sent(99999, "1.1")


def test_purge_keeps_pending_rows(store: Store, clock: FakeClock) -> None:
    sub = change_sub(store)
    sent, failed, pending = store.outbox.commit_poll({}, [delivery(sub, n) for n in (1, 2, 3)])
    store.outbox.mark_sent(sent, "1.1")
    store.outbox.mark_failed(failed, "boom")
    clock.advance(timedelta(days=8))
    assert store.outbox.purge(timedelta(days=7)) == 2
    assert [d.id for d in store.outbox.pending_deliveries()] == [pending]


def test_deliveries_for_subscriptions_gone_since_planning_are_dropped(store: Store) -> None:
    kept, paused, deleted = change_sub(store), change_sub(store), change_sub(store)
    pause(store, paused, "channel_not_found")
    store.subscriptions.delete(TEAM, CHANNEL, deleted)
    ids = store.outbox.commit_poll({}, [delivery(kept), delivery(paused), delivery(deleted)])
    assert [d.id for d in store.outbox.pending_deliveries()] == ids
    assert len(ids) == 1


def test_purge_removes_undeliverable_rows(store: Store) -> None:
    sub = change_sub(store)
    store.outbox.commit_poll({}, [delivery(sub)])
    with store.engine.begin() as conn:  # the subscription removed by hand, its row left over
        conn.execute(text("DELETE FROM subscriptions"))
    assert store.outbox.purge(timedelta(days=7)) == 1


def test_deleting_a_subscription_drops_its_pending_deliveries(store: Store) -> None:
    gone, kept = change_sub(store), change_sub(store)
    store.outbox.commit_poll({}, [delivery(gone), delivery(kept)])
    store.subscriptions.delete(TEAM, CHANNEL, gone)
    assert [d.subscription_id for d in store.outbox.pending_deliveries()] == [kept]


def test_a_poll_needs_the_lease_when_fenced(store: Store, clock: FakeClock) -> None:
    mine, theirs = Lease("worker", "a"), Lease("worker", "b")
    assert store.leases.acquire(mine, timedelta(seconds=60))
    store.outbox.commit_poll(snapshot_of(release(1)), fence=mine)

    clock.advance(timedelta(seconds=61))
    assert store.leases.acquire(theirs, timedelta(seconds=60))
    with pytest.raises(LeaseLost):
        store.outbox.commit_poll(snapshot_of(release(2)), [delivery(change_sub(store))], fence=mine)
    assert set(store.outbox.load_snapshot().releases) == {1}
    assert store.outbox.pending_deliveries() == []


# -- digests -------------------------------------------------------------------------------


def test_a_digest_is_claimed_once_per_local_date(store: Store) -> None:
    sub = store.subscriptions.add_digest(
        team_id=TEAM, channel_id=CHANNEL, filters="open",
        schedule=parse_schedule("daily", "09:00"), timezone="UTC", created_by="U1",
    ).id
    day = date(2026, 3, 2)
    message = delivery(sub, None, "digest")
    assert store.digests.claim(sub, day, T0, delivery=message)
    assert not store.digests.claim(sub, day, T0, delivery=message)
    assert not store.digests.claim(sub, day, T0, outcome="skipped")
    assert store.digests.claim(sub, day - timedelta(days=3), T0, outcome="skipped")
    assert store.digests.claim(sub, day + timedelta(days=1), T0)
    assert [d.kind for d in store.outbox.pending_deliveries()] == ["digest"]
    assert store.digests.last_dates() == {sub: day + timedelta(days=1)}


def test_concurrent_digest_claims_have_one_winner(store: Store, make_store: StoreFactory) -> None:
    other = make_store()  # a second process on the same database
    sub = change_sub(store)
    stores = [store, other]
    wins = run_together(
        8,
        lambda i: stores[i % 2].digests.claim(
            sub, date(2026, 3, 2), T0, delivery=delivery(sub, None, "digest")
        ),
    )
    assert sorted(wins) == [False] * 7 + [True]
    assert len(store.outbox.pending_deliveries()) == 1


# -- single worker -------------------------------------------------------------------------


def test_lease_has_one_holder_and_hands_over_on_expiry(store: Store, clock: FakeClock) -> None:
    a, b = Lease("worker", "host-a"), Lease("worker", "host-b")
    ttl = timedelta(seconds=60)
    assert store.leases.holder("worker") is None
    assert store.leases.acquire(a, ttl)
    assert not store.leases.acquire(b, ttl)
    assert store.leases.acquire(a, ttl)  # re-acquiring our own lease extends it
    assert store.leases.holder("worker") == "host-a"

    clock.advance(timedelta(seconds=45))
    assert store.leases.renew(a, ttl)
    clock.advance(timedelta(seconds=45))  # 90 s after the start, but renewed at 45 s
    assert not store.leases.acquire(b, ttl)

    clock.advance(timedelta(seconds=16))  # a stopped renewing: expired
    assert store.leases.holder("worker") is None
    assert store.leases.acquire(b, ttl)
    assert not store.leases.renew(a, ttl)
    assert not store.leases.release(a)
    assert store.leases.holder("worker") == "host-b"
    assert store.leases.release(b)
    assert store.leases.acquire(a, ttl)
    assert store.leases.acquire(Lease("other-worker", "host-b"), ttl)  # names are independent


def test_concurrent_lease_grabs_have_one_winner(store: Store, make_store: StoreFactory) -> None:
    stores = [store, make_store()]
    wins = run_together(
        8, lambda i: stores[i % 2].leases.acquire(Lease("worker", f"h{i}"), timedelta(minutes=1))
    )
    assert sorted(wins) == [False] * 7 + [True]


def test_concurrent_takeover_of_an_expired_lease_has_one_winner(
    store: Store, make_store: StoreFactory, clock: FakeClock
) -> None:
    assert store.leases.acquire(Lease("worker", "dead"), timedelta(minutes=1))
    clock.advance(timedelta(minutes=2))
    stores = [store, make_store()]
    wins = run_together(
        8, lambda i: stores[i % 2].leases.acquire(Lease("worker", f"h{i}"), timedelta(minutes=1))
    )
    assert sorted(wins) == [False] * 7 + [True]
