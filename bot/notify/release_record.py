"""Our own, versioned storage form of a release, for the snapshot and the outbox.

Stored rows outlive API versions: the API's wire JSON may change with MetaKraftwerk, this
record changes only when we bump RECORD_VERSION (and teach `release_from_record` the old one).
Rows written before the record existed hold the API's JSON and carry no version; they are
still read, and the snapshot rewrites them in this form on the next poll.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bot.metakraftwerk.models import Release

RECORD_VERSION = 1


def release_record(release: Release) -> dict[str, Any]:
    """The JSON-ready record of a release, tagged with its format version."""
    return {
        "v": RECORD_VERSION,
        "id": release.id,
        "name": release.name,
        "group_id": release.group_id,
        "description": release.description,
        "start_date": _time(release.start_date),
        "end_date": _time(release.end_date),
        "closed": release.closed,
        "deleted": release.deleted,
        "hotfix_of_id": release.hotfix_of_id,
        "prev_release_id": release.prev_release_id,
    }


def release_from_record(data: object) -> Release:
    """Read a stored release back; ValueError when it is no record this code can read."""
    if not isinstance(data, Mapping):
        raise ValueError(f"a stored release must be an object, not {type(data).__name__}")
    version = data.get("v")
    if version is None:
        return Release.from_api(data)  # written before the record format: the API's JSON
    if version != RECORD_VERSION:
        raise ValueError(f"unknown release record version {version!r}")
    return Release(
        id=_int(data["id"]),
        name=str(data["name"]),
        group_id=_optional_int(data.get("group_id")),
        description=_optional_str(data.get("description")),
        start_date=_parse_time(data.get("start_date")),
        end_date=_parse_time(data.get("end_date")),
        closed=bool(data.get("closed")),
        deleted=bool(data.get("deleted")),
        hotfix_of_id=_optional_int(data.get("hotfix_of_id")),
        prev_release_id=_optional_int(data.get("prev_release_id")),
    )


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _parse_time(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"a stored time must be a string, not {type(value).__name__}")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"a stored time must carry its offset: {value!r}")
    return parsed.astimezone(UTC)


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected a whole number, not {value!r}")
    return value


def _optional_int(value: object) -> int | None:
    return None if value is None else _int(value)


def _optional_str(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"expected text, not {type(value).__name__}")
