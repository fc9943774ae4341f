"""Which digests are due now: a pure function of the subscriptions, the clock and the history.

A digest is due once its local time has passed on a scheduled local day, at most once per
subscription and local date (the store's unique claim enforces it across processes). One that
is more than `grace` late (the worker was down) is returned as `missed`: the worker records it
as skipped and logs it instead of posting stale news. Local times come from Schedule, so they
hold across daylight-saving changes; occurrences before the subscription existed never fire.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from babel.dates import get_day_names

from bot.i18n import ENGLISH, Texts
from bot.notify.records import Subscription
from bot.schedule import Schedule, ScheduleError, parse_schedule, parse_timezone

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DueDigest:
    subscription: Subscription
    local_date: date
    scheduled_at: datetime  # UTC
    missed: bool  # later than the grace window: record as skipped, do not post

    def lateness(self, now_utc: datetime) -> timedelta:
        return now_utc - self.scheduled_at


def schedule_of(subscription: Subscription) -> tuple[Schedule, zoneinfo.ZoneInfo]:
    """The stored `Schedule.to_text()` and zone name, read back; ScheduleError if unreadable."""
    if subscription.schedule is None or subscription.timezone is None:
        raise ScheduleError(f"subscription {subscription.id} has no schedule")
    days, _, at = subscription.schedule.strip().rpartition(" ")
    return parse_schedule(days, at), parse_timezone(subscription.timezone)


def due_digests(
    subscriptions: Iterable[Subscription],
    now_utc: datetime,
    last_sent: Mapping[int, date],
    grace: timedelta,
) -> list[DueDigest]:
    """Digests to send (or to record as missed) now, oldest first.

    `last_sent` maps a subscription id to the latest local date already sent or skipped.
    """
    if now_utc.tzinfo is None:
        raise ValueError("now_utc must be an aware datetime")
    due: list[DueDigest] = []
    for sub in subscriptions:
        if sub.kind != "digest" or sub.paused:
            continue
        try:
            schedule, tz = schedule_of(sub)
        except ScheduleError as exc:
            log.warning("digest %d has an unreadable schedule, skipping it: %s", sub.id, exc)
            continue
        done = last_sent.get(sub.id)
        for local_date, scheduled_at in schedule.recent_occurrences(now_utc, tz):
            if done is not None and local_date <= done:
                continue
            if scheduled_at < sub.created_at:
                continue
            due.append(DueDigest(sub, local_date, scheduled_at, now_utc - scheduled_at > grace))
    due.sort(key=lambda d: (d.scheduled_at, d.subscription.id))
    return due


def next_run(schedule: Schedule, tz: zoneinfo.ZoneInfo, now: datetime) -> datetime | None:
    """The first run strictly after `now` (UTC), looking a week ahead."""
    today = now.astimezone(tz).date()
    for offset in range(8):
        at = schedule.occurrence(today + timedelta(days=offset), tz)
        if at is not None and at > now:
            return at
    return None


def schedule_words(schedule: Schedule, t: Texts = ENGLISH) -> str:
    """`weekdays at 09:00`, `werktags um 09:00`: a digest's schedule in the reader's words."""
    if t.english:
        return schedule.describe()
    if schedule.days == frozenset(range(7)):
        days = t._("every day")
    elif schedule.days == frozenset(range(5)):
        days = t._("weekdays")
    else:
        names = get_day_names("abbreviated", locale=t.locale)
        days = ", ".join(names[d] for d in sorted(schedule.days))
    return t._("{days} at {time}", days=days, time=schedule.at.strftime("%H:%M"))
