"""The snapshot's and outbox's own release record: versioned, round-tripping, legacy-readable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.metakraftwerk.models import Release
from bot.notify.changes import ChangeEvent
from bot.notify.release_record import RECORD_VERSION, release_from_record, release_record
from bot.notify.store import Store
from bot.notify.store.schema import release_snapshot
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
