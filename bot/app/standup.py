"""The standup's rules: what it reads, and which group each release falls in.

`/releases standup`, its Share button, the Workflow Builder step and the scheduled digests all
read the standup this way, and the view (bot/render/standup.py) only draws the groups.

Groups, in order, each release in the first that fits: overdue (end passed, still open),
ending within 7 days, started this week, running, not started yet; then closed releases.

The API has no "closed at" timestamp. Where the worker's snapshots saw a release close,
`closed_at` holds that time and "closed since the last working day" means closed between the
start of the last working day and now (on Monday that reaches back to Friday 00:00). Without it
(no worker running, or closed before the worker first looked) the END DATE stands in: a release
closed early then shows up once its end date arrives in the window. "This week" starts
on Monday 00:00 or at the start of the last working day, whichever is earlier, so on Monday
releases started over the weekend still count. Days are local days in `tz`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from bot.app.finder import FindResult, ReleaseFinder
from bot.metakraftwerk.models import Release, utc
from bot.query import Query

ENDING_WITHIN_DAYS = 7
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


def standup_query(query: Query) -> Query:
    """What a standup with these filters reads: every status (open releases, and the closed
    ones for "closed since"); the groups then say which of them it shows."""
    return replace(query, status="all")


def read_standup(finder: ReleaseFinder, query: Query) -> FindResult:
    """The releases a standup with these filters sorts into groups, under the query as asked."""
    return replace(finder.find(standup_query(query)), query=query)


@dataclass(frozen=True, slots=True)
class StandupGroups:
    """The releases a standup shows, by group, as of one moment."""

    closed_since: datetime  # start of the window for `closed_recently`
    closed_since_label: str  # `since Friday`, `since yesterday`, `in the last 3 days`
    week_start: datetime
    overdue: tuple[Release, ...] = ()
    ending_soon: tuple[Release, ...] = ()
    started_this_week: tuple[Release, ...] = ()
    running: tuple[Release, ...] = ()
    upcoming: tuple[Release, ...] = ()
    closed_recently: tuple[Release, ...] = ()

    @property
    def open_count(self) -> int:
        return sum(
            len(g)
            for g in (
                self.overdue,
                self.ending_soon,
                self.started_this_week,
                self.running,
                self.upcoming,
            )
        )

    def is_empty(self) -> bool:
        return self.open_count == 0 and not self.closed_recently


def last_working_day(today: date) -> date:
    """The weekday before `today`: Monday (and the weekend) look back to Friday."""
    day = today - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _key(value: datetime | None) -> datetime:
    return utc(value) if value is not None else _FAR_FUTURE


def standup_groups(
    releases: Iterable[Release],
    now: datetime,
    *,
    tz: tzinfo | None = None,
    closed_since_days: int | None = None,
    closed_at: Mapping[int, datetime] | None = None,
) -> StandupGroups:
    """Sort releases into the standup's groups as of `now` (local days in `tz`, default UTC).

    `closed_at`: when the snapshots saw releases close; others go by their end date.
    """
    seen_closing = closed_at or {}
    zone = tz or now.tzinfo or UTC
    now_utc = utc(now)
    today = now_utc.astimezone(zone).date()
    if closed_since_days is None:
        since_day = last_working_day(today)
        label = (
            "since yesterday"
            if since_day == today - timedelta(days=1)
            else f"since {_DAY_NAMES[since_day.weekday()]}"
        )
    else:
        since_day = today - timedelta(days=max(0, closed_since_days))
        label = (
            "today"
            if closed_since_days <= 0
            else f"in the last {_days(closed_since_days)}"
        )
    closed_since = _midnight(since_day, zone)
    week_start = min(
        _midnight(today - timedelta(days=today.weekday()), zone),
        _midnight(last_working_day(today), zone),
    )
    soon = now_utc + timedelta(days=ENDING_WITHIN_DAYS)

    overdue: list[Release] = []
    ending: list[Release] = []
    started: list[Release] = []
    running: list[Release] = []
    upcoming: list[Release] = []
    closed: list[Release] = []
    for release in releases:
        start = utc(release.start_date) if release.start_date else None
        end = utc(release.end_date) if release.end_date else None
        if release.closed:
            when = seen_closing.get(release.id)
            when = utc(when) if when is not None else end
            if when is not None and closed_since <= when <= now_utc:
                closed.append(release)
        elif end is not None and end < now_utc:
            overdue.append(release)
        elif end is not None and end <= soon:
            ending.append(release)
        elif start is not None and start > now_utc:
            upcoming.append(release)
        elif start is not None and start >= week_start:
            started.append(release)
        else:
            running.append(release)

    return StandupGroups(
        closed_since=closed_since,
        closed_since_label=label,
        week_start=week_start,
        overdue=tuple(sorted(overdue, key=lambda r: (_key(r.end_date), r.id))),
        ending_soon=tuple(sorted(ending, key=lambda r: (_key(r.end_date), r.id))),
        started_this_week=tuple(sorted(started, key=lambda r: (_key(r.start_date), r.id))),
        running=tuple(sorted(running, key=lambda r: (_key(r.end_date), r.id))),
        upcoming=tuple(sorted(upcoming, key=lambda r: (_key(r.start_date), r.id))),
        closed_recently=tuple(
            sorted(
                closed,
                key=lambda r: (_key(seen_closing.get(r.id) or r.end_date), r.id),
                reverse=True,
            )
        ),
    )


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"
