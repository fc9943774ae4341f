"""Data for render tests: a fixed clock, releases with awkward content, results around them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.app.finder import DetailResult, FindResult, Freshness
from bot.metakraftwerk.models import Release
from bot.query import Query

# Tuesday 2024-03-05 09:00 UTC
NOW = datetime(2024, 3, 5, 9, 0, tzinfo=UTC)
GROUPS: Mapping[int, str] = {1: "DWH_GROUP", 2: "LAKE"}

MENTIONS = ("<!channel>", "<!here>", "<!everyone>", "<@U123>", "<!subteam^S1>", "<#C1|x>")
NASTY = "R <!channel> <@U123> <!subteam^S1|@team> & *bold* _it_ ~s~ `code` 🚀 Ünïcödé"
LONG_DESCRIPTION = ("Line with <!here> & *stars* " * 200)[:5000]


def release(
    release_id: int = 21,
    name: str | None = None,
    *,
    group_id: int | None = 1,
    description: str | None = "First release",
    start: datetime | None = None,
    end: datetime | None = None,
    days: tuple[float, float] | None = (-3, 4),
    closed: bool = False,
    deleted: bool = False,
    hotfix_of_id: int | None = None,
    prev_release_id: int | None = None,
) -> Release:
    """A release; `days` places start and end relative to NOW unless start/end are given."""
    if days is not None:
        start = start or NOW + timedelta(days=days[0])
        end = end or NOW + timedelta(days=days[1])
    return Release(
        id=release_id,
        name=name if name is not None else f"R{release_id}",
        group_id=group_id,
        description=description,
        start_date=start,
        end_date=end,
        closed=closed,
        deleted=deleted,
        hotfix_of_id=hotfix_of_id,
        prev_release_id=prev_release_id,
    )


def many(count: int, **kwargs: Any) -> tuple[Release, ...]:
    return tuple(release(i, **kwargs) for i in range(1, count + 1))


def nasty_release(release_id: int = 66) -> Release:
    return release(
        release_id,
        NASTY,
        group_id=99,
        description=LONG_DESCRIPTION + " " + " ".join(MENTIONS),
        hotfix_of_id=release_id - 1,
        prev_release_id=release_id - 2,
        deleted=True,
    )


def fresh(minutes: float = 2, *, stale: bool = False, reason: str | None = None) -> Freshness:
    return Freshness(fetched_at=NOW - timedelta(minutes=minutes), stale=stale, reason=reason)


def find(
    releases: tuple[Release, ...],
    query: Query | None = None,
    *,
    group_names: Mapping[int, str] = GROUPS,
    freshness: Freshness | None = None,
) -> FindResult:
    return FindResult(
        query=query or Query(),
        releases=releases,
        group_names=group_names,
        freshness=freshness if freshness is not None else fresh(),
    )


def detail(release_: Release, **kwargs: Any) -> DetailResult:
    kwargs.setdefault("group_names", GROUPS)
    kwargs.setdefault("freshness", fresh())
    return DetailResult(release=release_, **kwargs)
