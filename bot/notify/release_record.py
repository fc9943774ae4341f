"""Our own, versioned storage form of a release, for the snapshot and the outbox.

The fields are `Release.to_dict`'s (the one stored form, which the Redis cache uses too), in
an envelope with the version `v` and the time the snapshots saw the release close.

Stored rows outlive API versions: the API's wire JSON may change with MetaKraftwerk, this
record changes only when we bump RECORD_VERSION (and teach `release_from_record` the old one).
Rows written before the record existed hold the API's JSON and carry no version; they are
still read, and the snapshot rewrites them in this form on the next poll.

Version 2 adds `closed_at`: when the worker's snapshots saw the release go from open to
closed (the API has no closing time). Version 1 records read as "not seen closing".
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.metakraftwerk.models import Release, stored_datetime, stored_time

RECORD_VERSION = 2
_READABLE = frozenset({1, RECORD_VERSION})


def release_record(release: Release, *, closed_at: datetime | None = None) -> dict[str, Any]:
    """The JSON-ready record of a release (its `to_dict` form), tagged with the version."""
    return {"v": RECORD_VERSION, **release.to_dict(), "closed_at": stored_time(closed_at)}


def closed_at_of(data: object, *, strict: bool = True) -> datetime | None:
    """When the snapshots saw the release close; None when unknown.

    An unreadable time raises ValueError, or reads as unknown with `strict=False`.
    """
    if not isinstance(data, Mapping) or data.get("v") != RECORD_VERSION:
        return None
    try:
        return stored_datetime(data.get("closed_at"), "closed_at")
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
    return Release.from_dict(data)  # InvalidRecord is a ValueError
