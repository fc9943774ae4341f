"""Digest schedules: which local days, at which local time, in which IANA zone.

Times are resolved in the zone on the day itself, so 09:00 stays 09:00 across daylight-saving
changes; a time skipped by a spring-forward gap fires at the first instant after the gap, and a
time repeated in autumn fires once, at its first occurrence.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES = {
    **{name: i for i, name in enumerate(DAY_NAMES)},
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4,
    "saturday": 5, "sunday": 6, "tues": 1, "thur": 3, "thurs": 3,
}
_TIME = re.compile(r"^(\d{1,2})[:.h](\d{2})$")


class ScheduleError(ValueError):
    """A schedule the user typed cannot be read; the message says what is accepted."""


@dataclass(frozen=True, slots=True)
class Schedule:
    days: frozenset[int]  # 0 = Monday
    at: time

    def describe(self) -> str:
        return f"{describe_days(self.days)} at {self.at.strftime('%H:%M')}"

    def to_text(self) -> str:
        """The form `parse_schedule` reads back."""
        if self.days == frozenset(range(7)):
            days = "daily"
        elif self.days == frozenset(range(5)):
            days = "weekdays"
        else:
            days = ",".join(DAY_NAMES[d] for d in sorted(self.days))
        return f"{days} {self.at.strftime('%H:%M')}"

    def occurrence(self, day: date, tz: zoneinfo.ZoneInfo) -> datetime | None:
        """The UTC instant of this schedule on a local day, or None if it does not run then."""
        if day.weekday() not in self.days:
            return None
        local = datetime.combine(day, self.at, tzinfo=tz)
        # Round-trip through UTC: a time inside a spring-forward gap becomes the instant after it.
        return local.astimezone(UTC)

    def recent_occurrences(self, now: datetime, tz: zoneinfo.ZoneInfo) -> Iterator[
        tuple[date, datetime]
    ]:
        """(local date, UTC instant) of yesterday's and today's runs that are not in the future."""
        today = now.astimezone(tz).date()
        for day in (today - timedelta(days=1), today):
            at = self.occurrence(day, tz)
            if at is not None and at <= now:
                yield day, at


def describe_days(days: frozenset[int]) -> str:
    if days == frozenset(range(7)):
        return "every day"
    if days == frozenset(range(5)):
        return "weekdays"
    return ", ".join(DAY_NAMES[d].capitalize() for d in sorted(days))


def parse_days(text: str) -> frozenset[int]:
    word = text.strip().lower()
    if word in ("daily", "everyday", "every-day"):
        return frozenset(range(7))
    if word in ("weekdays", "workdays"):
        return frozenset(range(5))
    if word == "weekends":
        return frozenset({5, 6})
    days: set[int] = set()
    for part in word.split(","):
        part = part.strip()
        if "-" in part:
            first, _, last = part.partition("-")
            if first in _DAY_ALIASES and last in _DAY_ALIASES:
                start, end = _DAY_ALIASES[first], _DAY_ALIASES[last]
                span = (end - start) % 7
                days.update((start + i) % 7 for i in range(span + 1))
                continue
        if part not in _DAY_ALIASES:
            raise ScheduleError(
                f"`{text}` is not a day list. Use `daily`, `weekdays`, or days such as "
                "`mon,thu` or `mon-fri`."
            )
        days.add(_DAY_ALIASES[part])
    return frozenset(days)


def parse_time(text: str) -> time:
    match = _TIME.match(text.strip().lower())
    if match is None:
        raise ScheduleError(f"`{text}` is not a time. Use 24-hour `HH:MM`, e.g. `09:00`.")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise ScheduleError(f"`{text}` is not a time of day. Use `00:00` to `23:59`.")
    return time(hour, minute)


def parse_schedule(days: str, at: str) -> Schedule:
    return Schedule(days=parse_days(days), at=parse_time(at))


def parse_timezone(name: str) -> zoneinfo.ZoneInfo:
    """An IANA zone by name, or ScheduleError naming what is accepted."""
    cleaned = name.strip()
    try:
        if not cleaned or cleaned.startswith(("/", ".")) or ".." in cleaned:
            raise ValueError(cleaned)
        return zoneinfo.ZoneInfo(cleaned)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"`{name}` is not a time zone. Use an IANA name such as `Europe/Berlin`, "
            "`America/New_York` or `UTC`."
        ) from None
