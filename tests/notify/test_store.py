"""The store on SQLite and PostgreSQL: schema, subscriptions, outbox atomicity, claims, leases."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import inspect, select, text

from bot.notify.store import (
    SCHEMA_VERSION,
    Lease,
    LeaseLost,
    NewDelivery,
    Store,
    metadata,
    normalize_database_url,
    outbox,
    release_snapshot,
    schema_version,
)
from bot.schedule import parse_schedule
from tests.notify.conftest import StoreFactory
from tests.notify.support import T0, FakeClock, release, snapshot_of

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


def change_sub(store: Store, channel: str = CHANNEL, **kw: Any) -> int:
    return store.add_change_subscription(
        team_id=TEAM, channel_id=channel, filters=kw.pop("filters", "open"),
        created_by="U1", **kw,
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
    assert store.schema_version() == SCHEMA_VERSION
    assert store.migrate() == SCHEMA_VERSION
    make_store()  # a second start migrates nothing
    with store.engine.connect() as conn:
        versions = conn.execute(select(schema_version.c.version)).scalars().all()
        assert versions == list(range(1, SCHEMA_VERSION + 1))
        found = inspect(conn)
        for table in metadata.sorted_tables:
            columns = {column["name"] for column in found.get_columns(table.name)}
            assert columns == set(table.columns.keys()), table.name


def test_concurrent_starts_migrate_once(db_url: str, clock: FakeClock) -> None:
    stores = run_together(4, lambda _: Store.from_url(db_url, clock=clock))
    try:
        with stores[0].engine.connect() as conn:
            versions = conn.execute(select(schema_version.c.version)).scalars().all()
        assert versions == list(range(1, SCHEMA_VERSION + 1))
    finally:
        for store in stores:
            store.close()


# -- subscriptions -------------------------------------------------------------------------


def test_subscriptions_belong_to_their_channel(store: Store) -> None:
    first = store.add_change_subscription(
        team_id=TEAM, channel_id=CHANNEL, filters="group:DWH_GROUP open",
        created_by="U1", mention="<!subteam^S1>",
    )
    digest = store.add_digest_subscription(
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
    assert [s.id for s in store.list_subscriptions(TEAM, CHANNEL)] == [first.id, digest.id]
    assert store.get_subscription(TEAM, CHANNEL, first.id) == first
    assert store.get_subscription(TEAM, CHANNEL, elsewhere) is None
    assert store.get_subscription("T2", OTHER, elsewhere) is None

    assert not store.delete_subscription(TEAM, CHANNEL, elsewhere)  # not this channel's id
    assert store.get_subscription(TEAM, OTHER, elsewhere) is not None
    assert store.delete_subscription(TEAM, CHANNEL, first.id)
    assert not store.delete_subscription(TEAM, CHANNEL, first.id)
    assert [s.id for s in store.list_subscriptions(TEAM, CHANNEL)] == [digest.id]

    assert store.delete_channel_subscriptions(TEAM, CHANNEL) == 1
    assert store.list_subscriptions(TEAM, CHANNEL) == []
    assert [s.id for s in store.all_subscriptions()] == [elsewhere]


def test_deleted_ids_are_never_reused(store: Store) -> None:
    first = change_sub(store)
    second = change_sub(store)
    store.delete_subscription(TEAM, CHANNEL, second)
    assert change_sub(store) > second > first


def test_pausing_stops_and_cancels_deliveries(store: Store, clock: FakeClock) -> None:
    paused, active = change_sub(store), change_sub(store, OTHER)
    store.commit_poll({}, [delivery(paused), delivery(active)])
    clock.advance(timedelta(minutes=1))

    assert store.pause_channel(TEAM, CHANNEL, "not_in_channel") == 1
    assert store.pause_channel(TEAM, CHANNEL, "again") == 0  # already paused: reason kept
    sub = store.get_subscription(TEAM, CHANNEL, paused)
    assert sub is not None
    assert sub.paused
    assert sub.paused_reason == "not_in_channel"
    assert sub.paused_at == T0 + timedelta(minutes=1)
    assert [s.id for s in store.all_subscriptions("change")] == [active]
    assert len(store.all_subscriptions(include_paused=True)) == 2
    assert [d.subscription_id for d in store.pending_deliveries()] == [active]

    assert store.resume_channel(TEAM, CHANNEL) == 1
    sub = store.get_subscription(TEAM, CHANNEL, paused)
    assert sub is not None
    assert not sub.paused
    assert sub.paused_reason is None
    # What was cancelled stays cancelled: nobody wants a backlog of stale news.
    assert [d.subscription_id for d in store.pending_deliveries()] == [active]
    assert store.pause_subscription(active, "is_archived")
    assert not store.resume_subscription(paused)
    assert store.resume_subscription(active)


# -- snapshot and outbox -------------------------------------------------------------------


def test_snapshot_round_trips_and_is_replaced(store: Store, clock: FakeClock) -> None:
    empty = store.load_snapshot()
    assert empty.releases == {}
    assert empty.taken_at is None

    first = snapshot_of(release(1), release(2, closed=True, description="x" * 5000))
    store.commit_poll(first)
    loaded = store.load_snapshot()
    assert loaded.releases == first
    assert loaded.taken_at == T0

    clock.advance(timedelta(minutes=1))
    second = snapshot_of(release(2, closed=False), release(3, name="R-2025-Q1"))
    store.commit_poll(second)
    loaded = store.load_snapshot()
    assert loaded.releases == second
    assert loaded.taken_at == T0 + timedelta(minutes=1)


def test_empty_poll_is_remembered_as_a_poll(store: Store) -> None:
    store.commit_poll({})
    assert store.load_snapshot().taken_at == T0


def test_poll_enqueues_and_records_baselines_together(store: Store) -> None:
    old, new = change_sub(store), change_sub(store)
    ids = store.commit_poll(snapshot_of(release(1)), [delivery(old)], baselined=[new])
    assert len(ids) == 1
    subs = {s.id: s for s in store.all_subscriptions()}
    assert subs[new].baseline_done
    assert not subs[old].baseline_done
    pending = store.pending_deliveries()
    assert [(d.id, d.subscription_id, d.release_id, d.kind) for d in pending] == [
        (ids[0], old, 1, "created")
    ]
    assert pending[0].payload == {"kind": "created", "n": 1}
    assert pending[0].attempts == 0
    assert pending[0].created_at == T0


def test_a_failure_mid_poll_writes_nothing(store: Store) -> None:
    sub, newcomer = change_sub(store), change_sub(store)
    before = snapshot_of(release(1))
    store.commit_poll(before)

    broken = NewDelivery(
        subscription_id=sub, team_id=TEAM, channel_id=CHANNEL, kind="closed",
        payload={"not json": object()}, release_id=1,
    )
    with pytest.raises(Exception, match="not JSON serializable"):
        # The snapshot rows and the first delivery are written before the second one fails.
        store.commit_poll(
            snapshot_of(release(1, closed=True), release(2)),
            [delivery(sub), broken],
            baselined=[newcomer],
        )

    assert store.load_snapshot().releases == before
    assert store.pending_deliveries() == []
    with store.engine.connect() as conn:
        assert conn.execute(select(outbox.c.id)).all() == []
        assert len(conn.execute(select(release_snapshot.c.release_id)).all()) == 1
    newcomer_sub = store.get_subscription(TEAM, CHANNEL, newcomer)
    assert newcomer_sub is not None
    assert not newcomer_sub.baseline_done


def test_deliveries_survive_a_restart_and_are_sent_once(
    store: Store, make_store: StoreFactory
) -> None:
    sub = change_sub(store)
    store.commit_poll(snapshot_of(release(1)), [delivery(sub, 1), delivery(sub, 2)])
    store.close()  # the worker dies after the poll, before posting

    restarted = make_store()
    pending = restarted.pending_deliveries()
    assert [d.release_id for d in pending] == [1, 2]
    restarted.mark_sent(pending[0].id, "1700000000.000100", parent=True)
    restarted.close()  # and dies again after posting the first

    again = make_store()
    assert [d.release_id for d in again.pending_deliveries()] == [2]
    assert again.delivery_state(pending[0].id) == "sent"
    assert again.get_parent(TEAM, CHANNEL, 1) == "1700000000.000100"
    assert again.get_parent(TEAM, OTHER, 1) is None


def test_parent_messages_are_per_channel_and_replaceable(store: Store) -> None:
    store.record_parent(TEAM, CHANNEL, 21, "1.1")
    store.record_parent(TEAM, OTHER, 21, "2.2")
    store.record_parent(TEAM, CHANNEL, 21, "3.3")  # the old parent was deleted; a new one
    assert store.get_parent(TEAM, CHANNEL, 21) == "3.3"
    assert store.get_parent(TEAM, OTHER, 21) == "2.2"
    assert store.get_parent(TEAM, CHANNEL, 22) is None
    assert store.threads() == {(TEAM, CHANNEL, 21), (TEAM, OTHER, 21)}


def test_failed_attempts_retry_later_or_give_up(store: Store, clock: FakeClock) -> None:
    sub = change_sub(store)
    rate_limited, broken = store.commit_poll({}, [delivery(sub, 1), delivery(sub, 2)])

    store.mark_failed(rate_limited, "ratelimited", retry_at=T0 + timedelta(seconds=30))
    store.mark_failed(broken, "invalid_blocks")
    assert store.pending_deliveries() == []
    assert store.delivery_state(broken) == "failed"

    clock.advance(timedelta(seconds=30))
    (retry,) = store.pending_deliveries()
    assert retry.id == rate_limited
    assert retry.attempts == 1

    with pytest.raises(KeyError):
        store.mark_sent(99999, "1.1")


def test_purge_keeps_pending_rows(store: Store, clock: FakeClock) -> None:
    sub = change_sub(store)
    sent, failed, pending = store.commit_poll({}, [delivery(sub, n) for n in (1, 2, 3)])
    store.mark_sent(sent, "1.1")
    store.mark_failed(failed, "boom")
    clock.advance(timedelta(days=8))
    assert store.purge_outbox(timedelta(days=7)) == 2
    assert [d.id for d in store.pending_deliveries()] == [pending]


def test_deliveries_for_subscriptions_gone_since_planning_are_dropped(store: Store) -> None:
    kept, paused, deleted = change_sub(store), change_sub(store), change_sub(store)
    store.pause_subscription(paused, "channel_not_found")
    store.delete_subscription(TEAM, CHANNEL, deleted)
    ids = store.commit_poll({}, [delivery(kept), delivery(paused), delivery(deleted)])
    assert [d.id for d in store.pending_deliveries()] == ids
    assert len(ids) == 1


def test_purge_removes_undeliverable_rows(store: Store) -> None:
    sub = change_sub(store)
    store.commit_poll({}, [delivery(sub)])
    with store.engine.begin() as conn:  # the subscription removed by hand, its row left over
        conn.execute(text("DELETE FROM subscriptions"))
    assert store.purge_outbox(timedelta(days=7)) == 1


def test_deleting_a_subscription_drops_its_pending_deliveries(store: Store) -> None:
    gone, kept = change_sub(store), change_sub(store)
    store.commit_poll({}, [delivery(gone), delivery(kept)])
    store.delete_subscription(TEAM, CHANNEL, gone)
    assert [d.subscription_id for d in store.pending_deliveries()] == [kept]


def test_a_poll_needs_the_lease_when_fenced(store: Store, clock: FakeClock) -> None:
    mine, theirs = Lease("worker", "a"), Lease("worker", "b")
    assert store.acquire_lease(mine, timedelta(seconds=60))
    store.commit_poll(snapshot_of(release(1)), fence=mine)

    clock.advance(timedelta(seconds=61))
    assert store.acquire_lease(theirs, timedelta(seconds=60))
    with pytest.raises(LeaseLost):
        store.commit_poll(snapshot_of(release(2)), [delivery(change_sub(store))], fence=mine)
    assert set(store.load_snapshot().releases) == {1}
    assert store.pending_deliveries() == []


# -- digests -------------------------------------------------------------------------------


def test_a_digest_is_claimed_once_per_local_date(store: Store) -> None:
    sub = store.add_digest_subscription(
        team_id=TEAM, channel_id=CHANNEL, filters="open",
        schedule=parse_schedule("daily", "09:00"), timezone="UTC", created_by="U1",
    ).id
    day = date(2026, 3, 2)
    message = delivery(sub, None, "digest")
    assert store.claim_digest(sub, day, T0, delivery=message)
    assert not store.claim_digest(sub, day, T0, delivery=message)
    assert not store.claim_digest(sub, day, T0, outcome="skipped")
    assert store.claim_digest(sub, day - timedelta(days=3), T0, outcome="skipped")
    assert store.claim_digest(sub, day + timedelta(days=1), T0)
    assert [d.kind for d in store.pending_deliveries()] == ["digest"]
    assert store.last_digest_dates() == {sub: day + timedelta(days=1)}


def test_concurrent_digest_claims_have_one_winner(store: Store, make_store: StoreFactory) -> None:
    other = make_store()  # a second process on the same database
    sub = change_sub(store)
    stores = [store, other]
    wins = run_together(
        8,
        lambda i: stores[i % 2].claim_digest(
            sub, date(2026, 3, 2), T0, delivery=delivery(sub, None, "digest")
        ),
    )
    assert sorted(wins) == [False] * 7 + [True]
    assert len(store.pending_deliveries()) == 1


# -- single worker -------------------------------------------------------------------------


def test_lease_has_one_holder_and_hands_over_on_expiry(store: Store, clock: FakeClock) -> None:
    a, b = Lease("worker", "host-a"), Lease("worker", "host-b")
    ttl = timedelta(seconds=60)
    assert store.lease_holder("worker") is None
    assert store.acquire_lease(a, ttl)
    assert not store.acquire_lease(b, ttl)
    assert store.acquire_lease(a, ttl)  # re-acquiring our own lease extends it
    assert store.lease_holder("worker") == "host-a"

    clock.advance(timedelta(seconds=45))
    assert store.renew_lease(a, ttl)
    clock.advance(timedelta(seconds=45))  # 90 s after the start, but renewed at 45 s
    assert not store.acquire_lease(b, ttl)

    clock.advance(timedelta(seconds=16))  # a stopped renewing: expired
    assert store.lease_holder("worker") is None
    assert store.acquire_lease(b, ttl)
    assert not store.renew_lease(a, ttl)
    assert not store.release_lease(a)
    assert store.lease_holder("worker") == "host-b"
    assert store.release_lease(b)
    assert store.acquire_lease(a, ttl)
    assert store.acquire_lease(Lease("other-worker", "host-b"), ttl)  # names are independent


def test_concurrent_lease_grabs_have_one_winner(store: Store, make_store: StoreFactory) -> None:
    stores = [store, make_store()]
    wins = run_together(
        8, lambda i: stores[i % 2].acquire_lease(Lease("worker", f"h{i}"), timedelta(minutes=1))
    )
    assert sorted(wins) == [False] * 7 + [True]


def test_concurrent_takeover_of_an_expired_lease_has_one_winner(
    store: Store, make_store: StoreFactory, clock: FakeClock
) -> None:
    assert store.acquire_lease(Lease("worker", "dead"), timedelta(minutes=1))
    clock.advance(timedelta(minutes=2))
    stores = [store, make_store()]
    wins = run_together(
        8, lambda i: stores[i % 2].acquire_lease(Lease("worker", f"h{i}"), timedelta(minutes=1))
    )
    assert sorted(wins) == [False] * 7 + [True]


def test_advisory_lock_is_exclusive_on_postgresql(
    store: Store, make_store: StoreFactory, request: pytest.FixtureRequest
) -> None:
    if not store.supports_advisory_locks:
        with pytest.raises(NotImplementedError), store.advisory_lock("x"):
            pass
        return
    name = f"releases-bot-test-{request.node.nodeid}"
    other = make_store()
    with store.advisory_lock(name) as held:
        assert held
        with other.advisory_lock(name) as also:
            assert not also
    with other.advisory_lock(name) as held_now:
        assert held_now
    with store.engine.connect() as conn:  # nothing left behind
        assert conn.execute(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                 "AND pid = pg_backend_pid()")
        ).scalar() == 0
