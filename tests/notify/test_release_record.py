"""The snapshot's and outbox's own release record: versioned, round-tripping, legacy-readable."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.metakraftwerk.models import Release
from bot.notify.changes import ChangeEvent
from bot.notify.release_record import (
    RECORD_VERSION,
    closed_at_of,
    release_from_record,
    release_record,
)
from bot.notify.store import Store
from bot.notify.store.schema import release_snapshot
from tests.fakes.clock import FakeClock
from tests.notify.support import release, snapshot_of

FULL = Release(
    id=21, name="R21 & <b>", group_id=3, description="d", closed=True, deleted=True,
    start_date=datetime(2026, 1, 1, 23, 0, tzinfo=UTC),
    end_date=datetime(2026, 1, 7, 23, 30, tzinfo=timezone(timedelta(hours=2))),
    hotfix_of_id=20, prev_release_id=19,
)


@pytest.mark.parametrize("value", [FULL, Release(id=1, name="bare")])
def test_a_record_reads_back_to_the_same_release(value: Release) -> None:
    record = release_record(value)
    assert record["v"] == RECORD_VERSION
    assert release_from_record(record) == value


def test_rows_written_as_api_json_before_the_record_format_still_read() -> None:
    assert release_from_record(FULL.to_api()) == FULL


@pytest.mark.parametrize(
    "record",
    [
        {**release_record(FULL), "v": RECORD_VERSION + 1},
        {**release_record(FULL), "start_date": "2026-01-01T23:00:00"},  # no offset
        {**release_record(FULL), "id": "21"},
        ["not", "an", "object"],
    ],
)
def test_records_this_code_cannot_read_are_refused(record: object) -> None:
    with pytest.raises(ValueError, match=r"."):
        release_from_record(record)


def test_the_outbox_payload_uses_the_record_not_the_api_json() -> None:
    payload = ChangeEvent("closed", FULL, previous=release(21)).to_payload()
    assert payload["release"] == release_record(FULL)
    assert ChangeEvent.from_payload(payload).release == FULL


def test_the_snapshot_is_stored_as_records_and_legacy_rows_are_read(store: Store) -> None:
    store.outbox.commit_poll(snapshot_of(release(1)))
    with store.engine.begin() as conn:
        assert conn.execute(select(release_snapshot.c.data)).scalar_one()["v"] == RECORD_VERSION
        conn.execute(release_snapshot.update().values(data=release(1).to_api()))
    assert store.outbox.load_snapshot().releases == snapshot_of(release(1))


def test_the_time_a_release_closed_is_kept_in_its_record() -> None:
    when = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    record = release_record(FULL, closed_at=when)
    assert closed_at_of(record) == when
    assert release_from_record(record) == FULL
    assert closed_at_of(release_record(FULL)) is None


def test_version_1_records_still_read_without_a_closing_time() -> None:
    v1 = {k: v for k, v in release_record(FULL).items() if k != "closed_at"} | {"v": 1}
    assert release_from_record(v1) == FULL
    assert closed_at_of(v1) is None
    assert closed_at_of(FULL.to_api()) is None


def test_the_snapshot_remembers_when_it_saw_a_release_close(
    store: Store, clock: FakeClock
) -> None:
    store.outbox.commit_poll(snapshot_of(release(1), release(2), release(3, closed=True)))
    clock.advance(3600)
    closed_at = clock.now()
    store.outbox.commit_poll(
        snapshot_of(release(1, closed=True), release(2), release(3, closed=True))
    )
    clock.advance(3600)
    store.outbox.commit_poll(  # later polls keep the first sighting
        snapshot_of(release(1, closed=True), release(2), release(3, closed=True))
    )
    assert store.outbox.closed_times([1, 2, 3, 99]) == {1: closed_at}  # 3 closed before
    store.outbox.commit_poll(snapshot_of(release(1), release(2), release(3, closed=True)))
    assert store.outbox.closed_times([1]) == {}  # reopened
    assert store.outbox.closed_times([]) == {}


# Rows exactly as the worker has stored them: a version 2 record, a version 1 record, and the
# API's JSON of the rows written before the record existed.
STORED_V2 = {
    "v": 2, "id": 7, "name": "R7 – Übergabe", "group_id": 3, "description": "line one\nline two",
    "start_date": "2026-01-02T03:04:05.678901+00:00", "end_date": "2026-01-31T22:00:00+00:00",
    "closed": True, "deleted": False, "hotfix_of_id": 5, "prev_release_id": 6,
    "closed_at": "2026-03-04T09:00:00.123456+00:00",
}
STORED_V1 = {k: v for k, v in STORED_V2.items() if k != "closed_at"} | {"v": 1}
STORED_API_JSON = {
    "id": 7, "group_id": 3, "name": "R7 – Übergabe", "description": "line one\nline two",
    "start_date": "2026-01-02T03:04:05.678Z", "end_date": "2026-01-31T22:00:00.000Z",
    "closed": True, "deleted": False, "hotfix_of_id": 5, "prev_release_id": 6,
}
STORED = Release(
    id=7, name="R7 – Übergabe", group_id=3, description="line one\nline two",
    start_date=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
    end_date=datetime(2026, 1, 31, 22, 0, tzinfo=UTC),
    closed=True, hotfix_of_id=5, prev_release_id=6,
)


def test_rows_already_stored_still_read() -> None:
    assert release_from_record(STORED_V2) == STORED
    assert closed_at_of(STORED_V2) == datetime(2026, 3, 4, 9, 0, 0, 123456, tzinfo=UTC)
    assert release_from_record(STORED_V1) == STORED
    assert release_from_record(STORED_API_JSON) == replace(
        STORED, start_date=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    )


def test_a_record_written_now_is_the_stored_row() -> None:
    assert release_record(STORED, closed_at=closed_at_of(STORED_V2)) == STORED_V2


def test_stored_rows_load_from_the_database(store: Store) -> None:
    with store.engine.begin() as conn:
        at = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
        conn.execute(release_snapshot.insert().values(release_id=7, data=STORED_V2, updated_at=at))
        conn.execute(release_snapshot.insert().values(
            release_id=8, data={**STORED_V1, "id": 8}, updated_at=at
        ))
    assert store.outbox.load_snapshot().releases == {7: STORED, 8: replace(STORED, id=8)}
