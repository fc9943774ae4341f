"""Claims on PostgreSQL: due rows only, each to one worker, and a commit only while the lease
is the committing claim's own (owner and generation, unexpired), in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from bot.notify.scale.claims import ScheduleClaims
from bot.notify.scale.records import ClaimLost, ClaimsNeedPostgreSQL
from bot.notify.store import Store
from bot.notify.store.database import Database
from bot.notify.store.engine import create_store_engine
from bot.notify.store.schema import connection_schedules
from tests.fakes.clock import FakeClock

LEASE = timedelta(seconds=15)


def _register(claims: ScheduleClaims, *ids: str, interval: int = 60) -> None:
    for connection_id in ids:
        assert claims.register(connection_id, interval)


def _notes(conn: Connection) -> list[str]:
    return list(conn.execute(text("SELECT note FROM notes ORDER BY note")).scalars())


@pytest.fixture
def notes(pg_store: Store) -> None:
    with pg_store.engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (note text)"))


def _note(value: str) -> Callable[[Connection], None]:
    def write(conn: Connection) -> None:
        conn.execute(text("INSERT INTO notes VALUES (:v)"), {"v": value})
    return write


def test_sqlite_is_refused_with_the_reason(tmp_path: Path, clock: FakeClock) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path}/x.db")
    try:
        with pytest.raises(ClaimsNeedPostgreSQL, match=r"needs PostgreSQL.*skip locked"):
            ScheduleClaims(Database(engine, clock))
    finally:
        engine.dispose()


def test_register_once_and_due_at_once(claims: ScheduleClaims, clock: FakeClock) -> None:
    assert claims.register("c1", 60)
    assert not claims.register("c1", 30)
    row = claims.schedule("c1")
    assert row is not None
    assert (row.next_poll_at, row.interval_seconds, row.status) == (clock.now(), 60, "active")
    assert (row.lease_owner, row.lease_generation, row.last_change_at) == (None, 0, clock.now())


def test_each_due_row_goes_to_one_worker_soonest_first(
    claims: ScheduleClaims, clock: FakeClock
) -> None:
    _register(claims, "c1")
    clock.advance(1)
    _register(claims, "c2", "c3")
    clock.advance(1)
    first = claims.claim_due("w1", 2, LEASE)
    assert [c.connection_id for c in first] == ["c1", "c2"]  # c1 was due first
    assert {(c.owner, c.generation, c.expires_at) for c in first} == {
        ("w1", 1, clock.now() + LEASE)}
    second = claims.claim_due("w2", 5, LEASE)
    assert [c.connection_id for c in second] == ["c3"]
    assert claims.claim_due("w3", 5, LEASE) == []
    assert claims.held_by("w1") == ["c1", "c2"]


def test_rows_not_yet_due_or_paused_are_left(
    claims: ScheduleClaims, clock: FakeClock, pg_store: Store
) -> None:
    _register(claims, "c1", "c2")
    (claim,) = claims.claim_due("w1", 1, LEASE)
    claims.commit(claim, _nothing, next_poll_at=clock.now() + timedelta(seconds=60),
                  changed=False)
    with pg_store.engine.begin() as conn:
        conn.execute(connection_schedules.update().where(
            connection_schedules.c.connection_id == "c2").values(status="paused"))
    assert claims.claim_due("w1", 5, LEASE) == []
    clock.advance(60)
    assert [c.connection_id for c in claims.claim_due("w1", 5, LEASE)] == ["c1"]


def test_a_row_locked_elsewhere_is_skipped_not_waited_for(
    claims: ScheduleClaims, pg_store: Store
) -> None:
    """Without SKIP LOCKED this claim would wait for the other transaction (then fail on the
    lock timeout); with it, it takes the other rows at once."""
    _register(claims, "c1", "c2")
    with pg_store.engine.connect() as other, other.begin():
        other.execute(text(
            "SELECT 1 FROM connection_schedules WHERE connection_id = 'c1' FOR UPDATE"))
        taken = claims.claim_due("w1", 5, LEASE)
    assert [c.connection_id for c in taken] == ["c2"]


def _nothing(_conn: Connection) -> None:
    return None


@pytest.mark.usefixtures("notes")
def test_commit_writes_and_reschedules_in_one_transaction(
    claims: ScheduleClaims, clock: FakeClock, pg_store: Store
) -> None:
    _register(claims, "c1")
    clock.advance(5)
    (claim,) = claims.claim_due("w1", 1, LEASE)
    then = clock.now() + timedelta(seconds=60)
    claims.commit(claim, _note("snapshot+outbox"), next_poll_at=then, changed=True)
    row = claims.schedule("c1")
    assert row is not None
    assert (row.next_poll_at, row.lease_owner, row.lease_expires_at) == (then, None, None)
    assert (row.last_good_poll_at, row.last_change_at) == (clock.now(), clock.now())
    with pg_store.engine.connect() as conn:
        assert _notes(conn) == ["snapshot+outbox"]


@pytest.mark.usefixtures("notes")
def test_a_failing_write_leaves_neither_rows_nor_a_new_schedule(
    claims: ScheduleClaims, clock: FakeClock, pg_store: Store
) -> None:
    _register(claims, "c1")
    (claim,) = claims.claim_due("w1", 1, LEASE)

    def half_then_fail(conn: Connection) -> None:
        _note("half")(conn)
        raise RuntimeError("writing the outbox failed")

    with pytest.raises(RuntimeError):
        claims.commit(claim, half_then_fail, next_poll_at=clock.now() + LEASE, changed=True)
    row = claims.schedule("c1")
    assert row is not None
    assert row.lease_owner == "w1"
    assert row.last_good_poll_at is None
    with pg_store.engine.connect() as conn:
        assert _notes(conn) == []


@pytest.mark.usefixtures("notes")
def test_a_lease_taken_over_fences_the_old_worker_out(
    claims: ScheduleClaims, clock: FakeClock, pg_store: Store
) -> None:
    _register(claims, "c1")
    (old,) = claims.claim_due("w1", 1, LEASE)
    clock.advance(LEASE)  # w1 stalled past its lease
    (new,) = claims.claim_due("w2", 1, LEASE)
    assert new.generation == old.generation + 1
    with pytest.raises(ClaimLost, match="generation 1 is no longer held by 'w1'"):
        claims.commit(old, _note("stale"), next_poll_at=clock.now(), changed=True)
    with pytest.raises(ClaimLost):
        claims.release_failed(old, "boom", next_poll_at=clock.now(), status="active")
    assert claims.renew([old], LEASE) == set()
    claims.commit(new, _note("fresh"), next_poll_at=clock.now() + LEASE, changed=True)
    with pg_store.engine.connect() as conn:
        assert _notes(conn) == ["fresh"]


@pytest.mark.usefixtures("notes")
def test_the_generation_fences_the_same_worker_claiming_again(
    claims: ScheduleClaims, clock: FakeClock, pg_store: Store
) -> None:
    """The owner alone is not a fence: a worker whose slow poll outlived its lease may claim
    the connection again on another thread; the first poll must then not commit."""
    _register(claims, "c1")
    (slow,) = claims.claim_due("w1", 1, LEASE)
    clock.advance(LEASE)
    (again,) = claims.claim_due("w1", 1, LEASE)
    with pytest.raises(ClaimLost):
        claims.commit(slow, _note("slow"), next_poll_at=clock.now(), changed=False)
    claims.commit(again, _note("again"), next_poll_at=clock.now(), changed=False)
    with pg_store.engine.connect() as conn:
        assert _notes(conn) == ["again"]


def test_an_expired_lease_cannot_commit_even_if_nobody_took_it(
    claims: ScheduleClaims, clock: FakeClock
) -> None:
    _register(claims, "c1")
    (claim,) = claims.claim_due("w1", 1, LEASE)
    clock.advance(LEASE)
    with pytest.raises(ClaimLost):
        claims.commit(claim, _nothing, next_poll_at=clock.now(), changed=False)


def test_renewal_keeps_a_slow_poll_s_lease(claims: ScheduleClaims, clock: FakeClock) -> None:
    _register(claims, "c1", "c2")
    held = claims.claim_due("w1", 2, LEASE)
    clock.advance(10)
    assert claims.renew(held, LEASE) == {"c1", "c2"}
    clock.advance(10)  # 20 s after the claim: past the first lease, within the renewed one
    assert claims.claim_due("w2", 2, LEASE) == []
    claims.commit(held[0], _nothing, next_poll_at=clock.now(), changed=False)
    assert claims.renew(held, LEASE) == {"c2"}  # c1 is no longer leased


def test_a_failure_counts_keeps_a_short_reason_and_backs_off(
    claims: ScheduleClaims, clock: FakeClock
) -> None:
    _register(claims, "c1")
    for failures in (1, 2):
        clock.advance(300)
        (claim,) = claims.claim_due("w1", 1, LEASE)
        assert claim.consecutive_failures == failures - 1
        claims.release_failed(claim, "x" * 500, next_poll_at=clock.now() + timedelta(
            seconds=120), status="failing")
        row = claims.schedule("c1")
        assert row is not None
        assert (row.consecutive_failures, row.status, row.lease_owner) == (
            failures, "failing", None)
        assert row.last_error == "x" * 200
    assert claims.claim_due("w1", 1, LEASE) == []  # backing off
    clock.advance(120)
    (claim,) = claims.claim_due("w1", 1, LEASE)
    assert claim.status == "failing"  # failing connections are still polled, less often
    claims.commit(claim, _nothing, next_poll_at=clock.now(), changed=False)
    row = claims.schedule("c1")
    assert row is not None
    assert (row.consecutive_failures, row.status, row.last_error) == (
        0, "active", None)


def test_given_back_claims_are_due_for_others_at_once(
    claims: ScheduleClaims, clock: FakeClock
) -> None:
    _register(claims, "c1", "c2")
    held = claims.claim_due("w1", 2, LEASE)
    assert claims.give_back(held) == 2
    assert claims.give_back(held) == 0
    assert [c.connection_id for c in claims.claim_due("w2", 5, LEASE)] == ["c1", "c2"]
