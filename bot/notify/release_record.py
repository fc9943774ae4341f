"""Our own, versioned storage form of a release, for the snapshot and the outbox.

Stored rows outlive API versions: the API's wire JSON may change with MetaKraftwerk, this
record changes only when we bump RECORD_VERSION (and teach `release_from_record` the old one).
Rows written before the record existed hold the API's JSON and carry no version; they are
still read, and the snapshot rewrites them in this form on the next poll.

Version 2 adds `closed_at`: when the worker's snapshots saw the release go from open to
closed (the API has no closing time). Version 1 records read as "not seen closing".
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bot.metakraftwerk.models import Release

RECORD_VERSION = 2
_READABLE = frozenset({1, RECORD_VERSION})


def release_record(release: Release, *, closed_at: datetime | None = None) -> dict[str, Any]:
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
        "closed_at": _time(closed_at),
    }


def closed_at_of(data: object, *, strict: bool = True) -> datetime | None:
    """When the snapshots saw the release close; None when unknown.

    An unreadable time raises ValueError, or reads as unknown with `strict=False`.
    """
    if not isinstance(data, Mapping) or data.get("v") != RECORD_VERSION:
        return None
    try:
        return _parse_time(data.get("closed_at"))
    except ValueError:
        if strict:
            raise
        return None


def snapshot_record(release: Release, prior: object, now: datetime) -> dict[str, Any]:
    """The snapshot's record of `release`, replacing `prior` (None: not seen before) at `now`."""
    return release_record(release, closed_at=closed_since(prior, release, now))


def closed_since(prior: object, release: Release, now: datetime) -> datetime | None:
    """The closing time kept while closed; `now` when it went from open to closed.

    A release closed when first seen has none: it closed before the snapshots looked.
    """
    if not release.closed or prior is None:
        return None
    try:
        was_closed = release_from_record(prior).closed
    except (ValueError, KeyError, TypeError):
        return None
    return closed_at_of(prior, strict=False) if was_closed else now


def release_from_record(data: object) -> Release:
    """Read a stored release back; ValueError when it is no record this code can read."""
    if not isinstance(data, Mapping):
        raise ValueError(f"a stored release must be an object, not {type(data).__name__}")
    version = data.get("v")
    if version is None:
        return Release.from_api(data)  # written before the record format: the API's JSON
    if version not in _READABLE:
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
