"""Digest due-times with an injected clock, across the 2026 DST changes in Berlin and New York.

`simulate` runs a minute-by-minute worker loop: it asks `due_digests` what is due, records each
answer as the store would, and reports what fired when. Outages are stretches without a tick.
Without history (`last_sent`), yesterday's run would be reported as missed; the simulation
starts as if the worker had been running until then.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.notify.digests import DueDigest, due_digests, schedule_of
from bot.notify.records import Subscription
from bot.schedule import ScheduleError

GRACE = timedelta(minutes=60)
BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def digest(schedule: str, tz: str, sub_id: int = 1, created_at: datetime = EPOCH) -> Subscription:
    return Subscription(
        id=sub_id, team_id="T1", channel_id="C1", kind="digest", filters="open",
        schedule=schedule, timezone=tz, mention=None, created_by="U1", created_at=created_at,
        baseline_done=True,
    )


@dataclass(frozen=True)
class Fired:
    local_date: date
    local_time: str  # of the scheduled instant, with its UTC offset
    fired_at: datetime
    missed: bool


def simulate(
    subs: list[Subscription],
    start: datetime,
    end: datetime,
    *,
    down: tuple[datetime, datetime] | None = None,
) -> list[Fired]:
    # The worker ran until `start`: everything before the start's local date was handled.
    last_sent = {
        sub.id: start.astimezone(schedule_of(sub)[1]).date() - timedelta(days=1) for sub in subs
    }
    fired: list[Fired] = []
    now = start
    while now < end:
        if down is None or not down[0] <= now < down[1]:
            for due in due_digests(subs, now, last_sent, GRACE):
                tz = schedule_of(due.subscription)[1]
                local = due.scheduled_at.astimezone(tz)
                fired.append(
                    Fired(due.local_date, local.strftime("%H:%M%z"), now, due.missed)
                )
                last_sent[due.subscription.id] = max(
                    last_sent.get(due.subscription.id, date.min), due.local_date
                )
        now += timedelta(minutes=1)
    return fired


def local(tz: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """A wall-clock time in `tz` (first occurrence if repeated), as UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=tz).astimezone(UTC)


@pytest.mark.parametrize(
    ("tz", "day", "before", "after", "hours_between"),
    [
        (BERLIN, date(2026, 3, 29), "+0100", "+0200", 23),
        (BERLIN, date(2026, 10, 25), "+0200", "+0100", 25),
        (NEW_YORK, date(2026, 3, 8), "-0500", "-0400", 23),
        (NEW_YORK, date(2026, 11, 1), "-0400", "-0500", 25),
    ],
)
def test_nine_oclock_stays_nine_oclock(
    tz: ZoneInfo, day: date, before: str, after: str, hours_between: int
) -> None:
    sub = digest("daily 09:00", str(tz))
    start = datetime.combine(day - timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    fired = simulate([sub], start, start + timedelta(days=3))
    assert [(f.local_date, f.local_time, f.missed) for f in fired] == [
        (day - timedelta(days=1), f"09:00{before}", False),
        (day, f"09:00{after}", False),
        (day + timedelta(days=1), f"09:00{after}", False),
    ]
    assert all(f.fired_at == f.fired_at.replace(second=0) for f in fired)
    assert fired[1].fired_at - fired[0].fired_at == timedelta(hours=hours_between)
    assert fired[2].fired_at - fired[1].fired_at == timedelta(hours=24)


def test_a_time_skipped_in_spring_fires_once_right_after_the_gap() -> None:
    fired = simulate([digest("daily 02:30", "Europe/Berlin")],
                     local(BERLIN, 2026, 3, 28, 0, 0), local(BERLIN, 2026, 3, 31, 0, 0))
    assert [(f.local_date, f.local_time) for f in fired] == [
        (date(2026, 3, 28), "02:30+0100"),
        (date(2026, 3, 29), "03:30+0200"),  # 02:30 does not exist that night
        (date(2026, 3, 30), "02:30+0200"),
    ]
    assert fired[1].fired_at == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_new_york_spring_gap() -> None:
    fired = simulate([digest("daily 02:30", "America/New_York")],
                     local(NEW_YORK, 2026, 3, 8, 0, 0), local(NEW_YORK, 2026, 3, 9, 0, 0))
    assert [(f.local_date, f.local_time, f.fired_at) for f in fired] == [
        (date(2026, 3, 8), "03:30-0400", datetime(2026, 3, 8, 7, 30, tzinfo=UTC))
    ]


@pytest.mark.parametrize(
    ("tz", "at", "day", "first"),
    [
        (NEW_YORK, "01:30", date(2026, 11, 1), datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
        (BERLIN, "02:30", date(2026, 10, 25), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
    ],
)
def test_a_time_repeated_in_autumn_fires_once(
    tz: ZoneInfo, at: str, day: date, first: datetime
) -> None:
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    fired = simulate([digest(f"daily {at}", str(tz))], start, start + timedelta(hours=25))
    assert [(f.local_date, f.fired_at) for f in fired] == [(day, first)]


def test_weekdays_skip_the_weekend() -> None:
    # 2026-03-27 is a Friday.
    fired = simulate([digest("weekdays 09:00", "Europe/Berlin")],
                     local(BERLIN, 2026, 3, 27, 0, 0), local(BERLIN, 2026, 3, 31, 0, 0))
    assert [f.local_date for f in fired] == [date(2026, 3, 27), date(2026, 3, 30)]


def test_worker_down_for_30_minutes_sends_late() -> None:
    nine = local(BERLIN, 2026, 3, 30, 9, 0)
    fired = simulate([digest("daily 09:00", "Europe/Berlin")],
                     nine - timedelta(hours=1), nine + timedelta(hours=3),
                     down=(nine - timedelta(minutes=10), nine + timedelta(minutes=30)))
    assert [(f.fired_at, f.missed) for f in fired] == [(nine + timedelta(minutes=30), False)]


def test_worker_down_for_2_hours_skips_and_recovers_next_day() -> None:
    nine = local(BERLIN, 2026, 3, 29, 9, 0)  # the spring-forward Sunday, for good measure
    fired = simulate([digest("daily 09:00", "Europe/Berlin")],
                     nine - timedelta(hours=1), nine + timedelta(hours=26),
                     down=(nine - timedelta(minutes=10), nine + timedelta(hours=2)))
    assert [(f.local_date, f.fired_at, f.missed) for f in fired] == [
        (date(2026, 3, 29), nine + timedelta(hours=2), True),
        (date(2026, 3, 30), nine + timedelta(hours=24), False),
    ]


def test_grace_boundary() -> None:
    sub = digest("daily 09:00", "UTC")
    nine = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    done = {sub.id: date(2026, 3, 1)}
    (on_time,) = due_digests([sub], nine, done, GRACE)
    (at_edge,) = due_digests([sub], nine + GRACE, done, GRACE)
    (past,) = due_digests([sub], nine + GRACE + timedelta(seconds=1), done, GRACE)
    assert (on_time.missed, at_edge.missed, past.missed) == (False, False, True)
    assert past.lateness(nine + GRACE + timedelta(seconds=1)) > GRACE
    just_before = due_digests([sub], nine - timedelta(seconds=1), {}, GRACE)
    assert just_before == [DueDigest(sub, date(2026, 3, 1), nine - timedelta(days=1), True)]


def test_yesterday_missed_and_today_due_come_oldest_first() -> None:
    sub = digest("daily 23:50", "UTC")
    now = datetime(2026, 3, 3, 23, 55, tzinfo=UTC)
    due = due_digests([sub], now, {sub.id: date(2026, 3, 1)}, GRACE)
    assert [(d.local_date, d.missed) for d in due] == [
        (date(2026, 3, 2), True), (date(2026, 3, 3), False)
    ]
    assert due_digests([sub], now, {sub.id: date(2026, 3, 3)}, GRACE) == []


def test_a_digest_created_after_todays_time_starts_tomorrow() -> None:
    created = local(BERLIN, 2026, 3, 30, 9, 15)
    sub = digest("daily 09:00", "Europe/Berlin", created_at=created)
    fired = simulate([sub], created, created + timedelta(days=1))
    assert [f.local_date for f in fired] == [date(2026, 3, 31)]


def test_paused_unreadable_and_change_subscriptions_are_ignored() -> None:
    now = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    good = digest("daily 09:00", "UTC", sub_id=1)
    subs = [
        good,
        replace(good, id=2, paused_at=now, paused_reason="is_archived"),
        replace(good, id=3, timezone="Mars/Olympus"),
        replace(good, id=4, schedule="sometimes"),
        replace(good, id=5, kind="change", schedule=None, timezone=None),
    ]
    yesterday = {sub.id: date(2026, 3, 1) for sub in subs}
    assert [d.subscription.id for d in due_digests(subs, now, yesterday, GRACE)] == [1]
    with pytest.raises(ScheduleError):
        schedule_of(subs[4])
    with pytest.raises(ValueError, match="aware"):
        due_digests(subs, now.replace(tzinfo=None), {}, GRACE)


def test_weekday_list_schedule_reads_back() -> None:
    schedule, tz = schedule_of(digest("mon,thu 09:30", "America/New_York"))
    assert schedule.days == frozenset({0, 3})
    assert schedule.at == time(9, 30)
    assert tz == NEW_YORK
