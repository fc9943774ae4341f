"""Change detection, table-driven: one row per situation a channel could be told about."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.metakraftwerk.models import Release
from bot.notify.changes import (
    KIND_ORDER,
    ChangeEvent,
    ChangeKind,
    by_id,
    diff,
    kinds,
    next_snapshot,
)
from tests.notify.support import release, snapshot_of

LATER = datetime(2026, 2, 1, 23, 0, tzinfo=UTC)
R1 = release(1)

CASES: list[tuple[str, list[Release], list[Release], list[tuple[int, ChangeKind]]]] = [
    ("nothing changed", [R1], [R1], []),
    ("appears open", [], [R1], [(1, "created")]),
    ("appears closed (created and closed within one poll)", [], [release(1, closed=True)],
     [(1, "created")]),
    ("appears already deleted", [], [release(1, deleted=True)], []),
    ("closes", [R1], [release(1, closed=True)], [(1, "closed")]),
    ("reopens", [release(1, closed=True)], [R1], [(1, "reopened")]),
    ("end date moves", [R1], [release(1, end_date=LATER)], [(1, "dates_changed")]),
    ("start date cleared", [R1], [release(1, start_date=None)], [(1, "dates_changed")]),
    ("renamed", [R1], [release(1, name="R1-final")], [(1, "renamed")]),
    ("deleted flag set", [R1], [release(1, deleted=True)], [(1, "deleted")]),
    ("vanishes from the list", [R1], [], [(1, "deleted")]),
    ("vanishes after being flagged deleted", [release(1, deleted=True)], [], []),
    ("deleted and closed at once: only deleted", [R1],
     [release(1, deleted=True, closed=True)], [(1, "deleted")]),
    ("a deleted release changes", [release(1, deleted=True)],
     [release(1, deleted=True, closed=True, name="x")], []),
    ("restored", [release(1, deleted=True)], [R1], [(1, "restored")]),
    ("restored closed and renamed", [release(1, deleted=True)],
     [release(1, closed=True, name="R1b")], [(1, "restored"), (1, "renamed"), (1, "closed")]),
    ("everything at once, in a stable order", [release(1, closed=True)],
     [release(1, closed=False, name="R1b", end_date=LATER)],
     [(1, "reopened"), (1, "renamed"), (1, "dates_changed")]),
    ("closes while its dates change", [R1], [release(1, closed=True, end_date=LATER)],
     [(1, "dates_changed"), (1, "closed")]),
    ("description, group and links are not news", [R1],
     [release(1, description="new", group_id=2, hotfix_of_id=9, prev_release_id=8)], []),
    ("many releases, ordered by id", [release(3), release(1)],
     [release(2), release(1, closed=True)], [(1, "closed"), (2, "created"), (3, "deleted")]),
]


@pytest.mark.parametrize(("old", "new", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_diff(old: list[Release], new: list[Release], expected: list[tuple[int, str]]) -> None:
    assert kinds(diff(by_id(old), by_id(new))) == expected


def test_events_carry_both_states_and_details() -> None:
    before = release(1, closed=True)
    after = release(1, name="R1b", end_date=LATER)
    reopened, renamed, dates = diff(snapshot_of(before), snapshot_of(after))
    assert reopened == ChangeEvent("reopened", after, before)
    assert renamed.details == {"old_name": "R1"}
    assert dates.details == {
        "end_date": {"old": "2026-01-07T23:00:00.000Z", "new": "2026-02-01T23:00:00.000Z"}
    }
    (created,) = diff({}, snapshot_of(after))
    assert created.previous is None


def test_vanished_release_is_reported_as_deleted_with_its_last_state() -> None:
    (event,) = diff(snapshot_of(R1), {})
    assert event.kind == "deleted"
    assert event.release == release(1, deleted=True)
    assert event.previous == R1
    assert event.details == {"reason": "vanished"}
    (flagged,) = diff(snapshot_of(R1), snapshot_of(release(1, deleted=True)))
    assert flagged.details == {"reason": "flag"}


def test_tombstones_report_a_vanished_release_once_and_its_return_as_restored() -> None:
    first = snapshot_of(R1, release(2))
    second = next_snapshot(first, snapshot_of(release(2)))
    assert second == snapshot_of(release(1, deleted=True), release(2))
    assert kinds(diff(second, snapshot_of(release(2)))) == []
    third = next_snapshot(second, snapshot_of(release(2)))
    assert third == second
    assert kinds(diff(third, snapshot_of(R1, release(2)))) == [(1, "restored")]


def test_matching_either_state() -> None:
    closing = ChangeEvent("closed", release(1, closed=True), R1)

    def only_open(r: Release) -> bool:
        return not r.closed

    assert closing.matches(only_open)
    assert not ChangeEvent("created", release(1, closed=True)).matches(only_open)
    assert not closing.matches(lambda r: r.group_id == 2)


def test_payload_round_trip() -> None:
    events = diff(snapshot_of(release(1, closed=True)),
                  snapshot_of(release(1, name="x", end_date=LATER)))
    assert {e.kind for e in events} == {"reopened", "renamed", "dates_changed"}
    for event in [*events, *diff({}, snapshot_of(R1)), *diff(snapshot_of(R1), {})]:
        assert ChangeEvent.from_payload(event.to_payload()) == event
    with pytest.raises(ValueError, match="unknown change kind"):
        ChangeEvent.from_payload({"kind": "exploded", "release": R1.to_api()})


def test_kind_order_is_complete() -> None:
    assert set(KIND_ORDER) == {
        "created", "restored", "reopened", "renamed", "dates_changed", "closed", "deleted"
    }
