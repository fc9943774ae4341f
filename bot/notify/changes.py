"""What changed between two polls of the release list, as a pure function of two snapshots.

Rules, chosen so a channel hears each real change once and nothing else:

- A release that was not in the old snapshot is `created`, whatever its state (a release that
  appears already open is simply created; created and closed within one poll is `created`, the
  parent message shows it closed). One that first appears already deleted is not news: no event.
- MetaKraftwerk knows only open and closed, so "opens" is `created` (appears) or `reopened`
  (closed -> open); `closed` is open -> closed.
- `deleted` is the deleted flag being set, or the release vanishing from the list. A vanished
  release stays in the next snapshot as a tombstone (`next_snapshot`), so it is reported once
  and a later reappearance is `restored`, not `created` again. Other changes to a deleted
  release are not reported; a release that is deleted in this poll reports only `deleted`.
- Several changes to one release in one poll give one event per kind, in `KIND_ORDER`: what
  brings a release (back) to life first, what ends it last.
- Descriptions, groups and hotfix links are not tracked: edits there would be noise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from bot.metakraftwerk.models import Release, format_datetime
from bot.notify.release_record import release_from_record, release_record

ChangeKind = Literal[
    "created", "restored", "reopened", "renamed", "dates_changed", "closed", "deleted"
]
KIND_ORDER: tuple[ChangeKind, ...] = (
    "created", "restored", "reopened", "renamed", "dates_changed", "closed", "deleted"
)


RELATED_NAMES = "related_names"  # details key: {release id as text: name}


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """One change to one release; `release` is the new state, `previous` the old one."""

    kind: ChangeKind
    release: Release
    previous: Release | None = None
    details: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def matches(self, predicate: Callable[[Release], bool]) -> bool:
        """True if the filter selects the release before or after the change.

        Matching either state is what lets a subscription for open releases hear that one
        closed, and one that hides deleted releases hear that one was deleted.
        """
        return predicate(self.release) or (
            self.previous is not None and predicate(self.previous)
        )

    def to_payload(self) -> dict[str, Any]:
        """JSON-ready form for the outbox; `from_payload` reads it back."""
        return {
            "kind": self.kind,
            "release": release_record(self.release),
            "previous": None if self.previous is None else release_record(self.previous),
            "details": dict(self.details),
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> ChangeEvent:
        kind = payload["kind"]
        if kind not in KIND_ORDER:
            raise ValueError(f"unknown change kind {kind!r}")
        previous = payload.get("previous")
        return cls(
            kind=kind,
            release=release_from_record(payload["release"]),
            previous=None if previous is None else release_from_record(previous),
            details=dict(payload.get("details") or {}),
        )


def diff(old: Mapping[int, Release], new: Mapping[int, Release]) -> list[ChangeEvent]:
    """Events turning `old` into `new`, ordered by release id, then by `KIND_ORDER`."""
    events: list[ChangeEvent] = []
    for release_id in sorted(old.keys() | new.keys()):
        events.extend(_release_events(old.get(release_id), new.get(release_id)))
    known = {**old, **new}
    return [_with_related_names(event, known) for event in events]


def _with_related_names(event: ChangeEvent, releases: Mapping[int, Release]) -> ChangeEvent:
    """Name the releases this one points to, so its message shows `after R9`, not `#29`."""
    refs = (event.release.prev_release_id, event.release.hotfix_of_id)
    names = {str(i): releases[i].name for i in refs if i is not None and i in releases}
    if not names:
        return event
    return replace(event, details={**event.details, RELATED_NAMES: names})


def related_releases(event: ChangeEvent) -> dict[int, Release]:
    """The releases named by `_with_related_names`, as stand-ins that carry id and name."""
    names = event.details.get(RELATED_NAMES)
    if not isinstance(names, Mapping):
        return {}
    return {
        int(key): Release(id=int(key), name=name)
        for key, name in names.items()
        if isinstance(key, str) and key.isdigit() and isinstance(name, str) and name
    }


def next_snapshot(old: Mapping[int, Release], new: Mapping[int, Release]) -> dict[int, Release]:
    """The snapshot to store after a poll: `new`, plus tombstones for releases that vanished."""
    merged = dict(new)
    for release_id, release in old.items():
        if release_id not in merged:
            merged[release_id] = release if release.deleted else replace(release, deleted=True)
    return merged


def _release_events(before: Release | None, after: Release | None) -> list[ChangeEvent]:
    if after is None:
        if before is None or before.deleted:
            return []
        return [
            ChangeEvent("deleted", replace(before, deleted=True), before, {"reason": "vanished"})
        ]
    if before is None:
        return [] if after.deleted else [ChangeEvent("created", after)]
    if after.deleted:
        if before.deleted:
            return []
        return [ChangeEvent("deleted", after, before, {"reason": "flag"})]

    found: list[ChangeEvent] = []
    if before.deleted:
        found.append(ChangeEvent("restored", after, before))
    if before.closed and not after.closed:
        found.append(ChangeEvent("reopened", after, before))
    if before.name != after.name:
        found.append(ChangeEvent("renamed", after, before, {"old_name": before.name}))
    changed = [
        name
        for name in ("start_date", "end_date")
        if getattr(before, name) != getattr(after, name)
    ]
    if changed:
        details = {
            name: {
                "old": format_datetime(getattr(before, name)),
                "new": format_datetime(getattr(after, name)),
            }
            for name in changed
        }
        found.append(ChangeEvent("dates_changed", after, before, details))
    if after.closed and not before.closed:
        found.append(ChangeEvent("closed", after, before))
    return sorted(found, key=lambda event: KIND_ORDER.index(event.kind))


def by_id(releases: Iterable[Release]) -> dict[int, Release]:
    """Index a polled list by id; a duplicated id keeps its last record, as the API would."""
    return {release.id: release for release in releases}


def kinds(events: Sequence[ChangeEvent]) -> list[tuple[int, ChangeKind]]:
    """(release id, kind) pairs: a compact view for logs and tests."""
    return [(event.release.id, event.kind) for event in events]
