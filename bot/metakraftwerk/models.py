"""Release records as the bot sees them, parsed tolerantly from the API's JSON.

The API sends nulls, may omit or add fields, and writes dates with or without a time and zone;
a record that cannot be shown at all (no id or no name) is skipped, never fatal to the list.

What the bot stores of a release (the Redis cache, the worker's snapshot, the outbox) is one
JSON form of our own, `Release.to_dict` and `Release.from_dict`: every field, dates as ISO 8601
in UTC, read back strictly (a stored value is not the API: a wrong type is refused, not
guessed). The stores wrap it in their own envelopes and versions.
"""

from __future__ import annotations

import logging
import reprlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

log = logging.getLogger(__name__)

_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)


class InvalidRecord(ValueError):
    """One API record that cannot be shown."""


@dataclass(frozen=True, slots=True)
class Release:
    id: int
    name: str
    group_id: int | None = None
    description: str | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    closed: bool = False
    deleted: bool = False
    hotfix_of_id: int | None = None
    prev_release_id: int | None = None

    @property
    def is_open(self) -> bool:
        return not self.closed

    @property
    def is_hotfix(self) -> bool:
        return self.hotfix_of_id is not None

    @classmethod
    def from_api(cls, data: object) -> Release:
        """Parse one API object; raise InvalidRecord only when it cannot be shown."""
        if not isinstance(data, Mapping):
            raise InvalidRecord(f"expected an object, got {type(data).__name__}")
        release_id = _int(data.get("id"))
        if release_id is None:
            raise InvalidRecord(f"record without a usable id: {_short(data.get('id'))}")
        name = data.get("name")
        if isinstance(name, int | float) and not isinstance(name, bool):
            name = str(name)
        if not isinstance(name, str) or not name.strip():
            raise InvalidRecord(f"release {release_id} has no name")
        description = data.get("description")
        return cls(
            id=release_id,
            name=name.strip(),
            group_id=_int(data.get("group_id")),
            description=description if isinstance(description, str) else None,
            start_date=parse_datetime(data.get("start_date")),
            end_date=parse_datetime(data.get("end_date")),
            closed=_bool(data.get("closed")),
            deleted=_bool(data.get("deleted")),
            hotfix_of_id=_int(data.get("hotfix_of_id")),
            prev_release_id=_int(data.get("prev_release_id")),
        )

    def to_api(self) -> dict[str, Any]:
        """The API's JSON shape (as the demo server answers): our form, the API's date format."""
        return self.to_dict() | {
            "start_date": format_datetime(self.start_date),
            "end_date": format_datetime(self.end_date),
        }

    def to_dict(self) -> dict[str, Any]:
        """Our stored JSON form: every field, dates as ISO 8601 in UTC."""
        return {
            "id": self.id,
            "name": self.name,
            "group_id": self.group_id,
            "description": self.description,
            "start_date": stored_time(self.start_date),
            "end_date": stored_time(self.end_date),
            "closed": self.closed,
            "deleted": self.deleted,
            "hotfix_of_id": self.hotfix_of_id,
            "prev_release_id": self.prev_release_id,
        }

    @classmethod
    def from_dict(cls, data: object) -> Release:
        """Read `to_dict`'s form back; InvalidRecord for anything it would not write.

        Other keys are left to the caller (a store's envelope may add its own). A name is
        stripped and never blank, and dates carry an offset and convert to UTC, as
        `from_api` makes them: what a store hands back is what the API's answers give.
        """
        if not isinstance(data, Mapping):
            raise InvalidRecord(f"a stored release must be an object, not {type(data).__name__}")
        missing = RELEASE_FIELDS.difference(data)
        if missing:
            raise InvalidRecord(f"a stored release without {', '.join(sorted(missing))}")
        release_id = stored_int(data["id"], "id")
        name, description = data["name"], data["description"]
        if release_id is None or not isinstance(name, str) or not name.strip():
            raise InvalidRecord("a stored release without id or name")
        if name != name.strip():
            raise InvalidRecord("a stored release name with surrounding whitespace")
        if description is not None and not isinstance(description, str):
            raise InvalidRecord("a stored description that is not text")
        return cls(
            id=release_id,
            name=name,
            group_id=stored_int(data["group_id"], "group_id"),
            description=description,
            start_date=stored_datetime(data["start_date"], "start_date"),
            end_date=stored_datetime(data["end_date"], "end_date"),
            closed=_stored_bool(data["closed"], "closed"),
            deleted=_stored_bool(data["deleted"], "deleted"),
            hotfix_of_id=stored_int(data["hotfix_of_id"], "hotfix_of_id"),
            prev_release_id=stored_int(data["prev_release_id"], "prev_release_id"),
        )


@dataclass(frozen=True, slots=True)
class ReleaseGroup:
    id: int
    name: str


def parse_releases(items: Iterable[object]) -> tuple[Release, ...]:
    """Parse a list answer, skipping (and logging) records that cannot be shown."""
    releases: list[Release] = []
    for item in items:
        try:
            releases.append(Release.from_api(item))
        except InvalidRecord as exc:
            log.warning("skipping a release record that cannot be shown: %s", exc)
    return tuple(releases)


def parse_groups(items: object) -> dict[int, str]:
    """Best-effort group names from an undocumented answer: whatever has an id and a name."""
    if isinstance(items, Mapping):
        items = items.get("data", [])
    if not isinstance(items, list):
        return {}
    names: dict[int, str] = {}
    for item in items:
        if isinstance(item, Mapping):
            group_id = _int(item.get("id"))
            name = item.get("name")
            if group_id is not None and isinstance(name, str) and name.strip():
                names[group_id] = name.strip()
    return names


def parse_datetime(value: object) -> datetime | None:
    """ISO 8601 with or without time and zone; naive values are taken as UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(text[:10]), datetime.min.time())
        except ValueError:
            log.debug("unreadable date %r", _short(value))
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return to_utc(parsed)


def to_utc(value: datetime) -> datetime | None:
    """`value` in UTC; None when UTC cannot hold it (0001-01-01T00:00+14:00 is year 0 there)."""
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def utc(value: datetime) -> datetime:
    """An aware UTC datetime; naive values are taken as UTC.

    A date UTC cannot hold (0001-01-01T00:00+14:00 is in year 0 there) becomes the earliest
    or latest one it can: it still sorts and shows, and no view or rule fails on it.
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        return _EARLIEST if value.year == datetime.min.year else _LATEST


def format_datetime(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def stored_time(value: datetime | None) -> str | None:
    """A time as our stored forms write it: ISO 8601 in UTC, with its offset."""
    return None if value is None else value.astimezone(UTC).isoformat()


def stored_int(value: object, name: str) -> int | None:
    """A whole number or None, as our stored forms hold them (the cache's envelope too)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRecord(f"stored {name} is not a whole number")
    return value


def _stored_bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidRecord(f"stored {name} is not true or false")
    return value


def stored_datetime(value: object, name: str) -> datetime | None:
    """An ISO 8601 time with its offset, in UTC; None for None."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRecord(f"stored {name} is not a date")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRecord(f"stored {name} is not an ISO 8601 date") from None
    if parsed.tzinfo is None:
        raise InvalidRecord(f"stored {name} has no time zone")
    converted = to_utc(parsed)  # as parse_datetime: a date UTC cannot hold is none at all
    if converted is None:
        raise InvalidRecord(f"stored {name} is out of range in UTC")
    return converted


RELEASE_FIELDS = frozenset(Release(id=0, name="x").to_dict())  # the keys of our stored form


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        try:
            return int(value.strip())
        except ValueError:
            return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return False


_SHORT = reprlib.Repr()
_SHORT.maxlevel = 3  # a value nested a thousand deep must not recurse a thousand deep
_SHORT.maxstring = _SHORT.maxother = 60


def _short(value: object) -> str:
    text = _SHORT.repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
