"""The demo data: a sample that always shows every situation, and safe run-time changes."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from bot.demo import DemoData, DemoDataError
from bot.metakraftwerk.models import Release

NOW = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)  # a Wednesday


@pytest.fixture
def data() -> DemoData:
    return DemoData.sample(NOW)


def by_name(data: DemoData, name: str) -> Release:
    return data.get(name)


def open_releases(data: DemoData) -> list[Release]:
    return [r for r in data.releases() if r.is_open and not r.deleted]


@pytest.mark.parametrize(
    "now",
    [NOW, datetime(2026, 3, 2, 0, 5, tzinfo=UTC), datetime(2026, 3, 8, 23, 59, tzinfo=UTC)],
)
def test_every_standup_situation_exists_whenever_the_demo_starts(now: datetime) -> None:
    data = DemoData.sample(now)
    releases = open_releases(data)
    week_start = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0)
    overdue = [r for r in releases if r.end_date and r.end_date < now]
    ending_soon = [r for r in releases if r.end_date and now <= r.end_date <= now + timedelta(7)]
    started_this_week = [r for r in releases if r.start_date and week_start <= r.start_date <= now]
    later = now + timedelta(days=7)
    running = [
        r
        for r in releases
        if r.start_date and r.start_date < week_start and r.end_date and r.end_date > later
    ]
    assert overdue
    assert ending_soon
    assert started_this_week
    assert running


def test_sample_covers_the_awkward_cases(data: DemoData) -> None:
    releases = data.releases()
    assert 25 <= len(releases) <= 35
    groups = data.groups()
    assert {"DWH_GROUP", "LAKE_GROUP", "FINANCE_MART"} <= set(groups.values())
    default_groups = {r.group_id for r in releases if r.name == "Default Release"}
    assert default_groups == set(groups)
    assert any(r.closed for r in releases)
    assert any(r.deleted for r in releases)
    assert any(r.description and len(r.description) > 3000 for r in releases)
    assert any(r.description and "<!channel>" in r.description and "<@U123>" in r.description
               for r in releases)  # fmt: skip
    for name in ("R-2025-Q1", "HF-July-01", "R.COS4.3", "2023.Q1", "READY_FOR_QA", "Größe-Ü"):
        assert by_name(data, name)
    assert any(any(ord(c) > 0xFFFF for c in r.name) for r in releases)  # an emoji
    assert any(r.start_date is None for r in releases)


def test_hotfix_chain(data: DemoData) -> None:
    r9, hf1, hf2 = (by_name(data, n) for n in ("R9", "R9.HF1", "R9.HF2"))
    assert (hf1.hotfix_of_id, hf1.prev_release_id) == (r9.id, r9.id)
    assert (hf2.hotfix_of_id, hf2.prev_release_id) == (r9.id, hf1.id)


def test_references_by_id_hash_and_name(data: DemoData) -> None:
    assert data.get(21).name == "R1"
    assert data.get("#21").name == "R1"
    assert data.get("21").name == "R1"
    assert data.get("Default Release", group="LAKE_GROUP").group_id == 2
    with pytest.raises(DemoDataError, match="give the id or a group"):
        data.get("Default Release")
    with pytest.raises(DemoDataError):
        data.get("R404")
    with pytest.raises(DemoDataError):
        data.get(404)


def test_mutators(data: DemoData) -> None:
    version = data.version
    assert data.close("R60").closed
    assert not data.reopen("R60").closed
    assert data.open(60).is_open
    assert data.rename("R60", "R60-final").name == "R60-final"
    assert data.delete("R60-final").deleted
    end = NOW + timedelta(days=3)
    assert data.set_dates(60, end=end).end_date == end
    added = data.add("R70", "DWH_GROUP", start=NOW, prev="R59", description="new")
    assert (added.group_id, added.prev_release_id) == (1, 59)
    assert data.get("R70") == added
    fresh_group = data.add("X1", "NEW_GROUP")
    assert data.groups()[fresh_group.group_id or 0] == "NEW_GROUP"
    assert data.version > version
    with pytest.raises(ValueError, match="id"):
        data.update(60, id=61)


def test_changes_are_thread_safe(data: DemoData) -> None:
    def add_many(prefix: str) -> None:
        for i in range(50):
            data.add(f"{prefix}-{i}", "DWH_GROUP")

    threads = [threading.Thread(target=add_many, args=(f"T{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    ids = [r.id for r in data.releases()]
    assert len(ids) == len(set(ids)) == 28 + 200


@pytest.mark.parametrize("later", [timedelta(hours=1), timedelta(hours=14, minutes=29)])
def test_a_restart_on_the_same_day_gives_the_same_dates(later: timedelta) -> None:
    # A worker restarted with --demo compares against its last snapshot: re-dated releases
    # would all post "dates changed".
    first = DemoData.sample(NOW).releases()
    again = DemoData.sample(NOW + later).releases()
    assert [(r.start_date, r.end_date) for r in again] == [
        (r.start_date, r.end_date) for r in first
    ]
