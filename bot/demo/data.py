"""The demo API's data: thread-safe, changeable at run time, dated relative to today (UTC).

Mutators take a release id, `#id` or name, so that a console command like `:close R60` or a
notification test can change what the demo API answers next.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

from bot.metakraftwerk.models import Release

Ref = int | str

_LONG_TEXT = (
    "This release moves the nightly loads of the sales, inventory and customer subject areas "
    "to the new pattern generation, regenerates every staging table's DDL, replaces the "
    "hand-written merge statements with generated SCD2 logic, and adds data-quality checks "
    "for late-arriving facts. "
)


class DemoDataError(LookupError):
    """A reference names no release, or more than one."""


class DemoData:
    """Releases and groups behind the demo API; every method is safe to call from any thread."""

    def __init__(self, releases: Iterable[Release] = (), groups: Mapping[int, str] | None = None):
        self._lock = threading.RLock()
        self._releases: dict[int, Release] = {r.id: r for r in releases}
        self._groups: dict[int, str] = dict(groups or {})
        self.version = 0  # bumped by every change

    @classmethod
    def sample(cls, now: datetime) -> DemoData:
        """The shipped sample, dated around `now`."""
        raw = json.loads(
            resources.files("bot.demo").joinpath("sample_releases.json").read_text("utf-8")
        )
        return cls.from_spec(raw, now)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], now: datetime) -> DemoData:
        # Anchored to the day (midnight UTC), not the hour: a worker restarted with --demo the
        # same day compares against its snapshot and must not see every release re-dated.
        base = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        groups = {int(g["id"]): str(g["name"]) for g in spec["groups"]}
        group_ids = {name: gid for gid, name in groups.items()}
        ids = {(r["group"], r["name"]): int(r["id"]) for r in spec["releases"]}

        def day(offset: object) -> datetime | None:
            return None if offset is None else base + timedelta(days=float(str(offset)))

        def link(group: str, name: object) -> int | None:
            return None if name is None else ids[(group, str(name))]

        releases = []
        for r in spec["releases"]:
            description = r.get("description")
            if r.get("long_description"):
                description = (_LONG_TEXT * 40).strip()
            releases.append(
                Release(
                    id=int(r["id"]),
                    name=str(r["name"]),
                    group_id=group_ids[r["group"]],
                    description=description,
                    start_date=day(r.get("start")),
                    end_date=day(r.get("end")),
                    closed=bool(r.get("closed", False)),
                    deleted=bool(r.get("deleted", False)),
                    hotfix_of_id=link(r["group"], r.get("hotfix_of")),
                    prev_release_id=link(r["group"], r.get("prev")),
                )
            )
        return cls(releases, groups)

    # ---- reading ------------------------------------------------------------------------

    def releases(self) -> list[Release]:
        """Every release, deleted ones included (as the real list does), by id."""
        with self._lock:
            return [self._releases[i] for i in sorted(self._releases)]

    def groups(self) -> dict[int, str]:
        with self._lock:
            return dict(self._groups)

    def group_id(self, name: str) -> int | None:
        with self._lock:
            return next((gid for gid, n in self._groups.items() if n == name), None)

    def by_id(self, release_id: int) -> Release | None:
        with self._lock:
            return self._releases.get(release_id)

    def get(self, ref: Ref, group: str | int | None = None) -> Release:
        """A release by id, `#id` or name (optionally within a group name or id)."""
        with self._lock:
            return self._releases[self._resolve(ref, group)]

    # ---- changing -----------------------------------------------------------------------

    def update(self, ref: Ref, **changes: Any) -> Release:
        """Replace fields of one release (any `Release` field but `id`)."""
        if "id" in changes:
            raise ValueError("a release's id cannot change")
        with self._lock:
            release_id = self._resolve(ref)
            updated = replace(self._releases[release_id], **changes)
            self._releases[release_id] = updated
            self.version += 1
            return updated

    def close(self, ref: Ref) -> Release:
        return self.update(ref, closed=True)

    def open(self, ref: Ref) -> Release:
        return self.update(ref, closed=False)

    reopen = open

    def delete(self, ref: Ref) -> Release:
        """Mark deleted, as MetaKraftwerk does: the list still contains it."""
        return self.update(ref, deleted=True)

    def rename(self, ref: Ref, name: str) -> Release:
        return self.update(ref, name=name)

    def set_dates(
        self, ref: Ref, start: datetime | None = None, end: datetime | None = None
    ) -> Release:
        changes: dict[str, Any] = {}
        if start is not None:
            changes["start_date"] = start
        if end is not None:
            changes["end_date"] = end
        return self.update(ref, **changes)

    def add(
        self,
        name: str,
        group: str | int,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        description: str | None = None,
        closed: bool = False,
        hotfix_of: Ref | None = None,
        prev: Ref | None = None,
        release_id: int | None = None,
    ) -> Release:
        """A new release in an existing group (created when named and unknown)."""
        with self._lock:
            group_id = self._group(group, create=True)
            new_id = release_id if release_id is not None else max(self._releases, default=0) + 1
            if new_id in self._releases:
                raise ValueError(f"release id {new_id} exists already")
            release = Release(
                id=new_id,
                name=name,
                group_id=group_id,
                description=description,
                start_date=start,
                end_date=end,
                closed=closed,
                hotfix_of_id=None if hotfix_of is None else self._resolve(hotfix_of),
                prev_release_id=None if prev is None else self._resolve(prev),
            )
            self._releases[new_id] = release
            self.version += 1
            return release

    def add_group(self, name: str) -> int:
        with self._lock:
            return self._group(name, create=True)

    # ---- references ---------------------------------------------------------------------

    def _group(self, group: str | int, create: bool = False) -> int:
        if isinstance(group, int):
            if group not in self._groups:
                raise DemoDataError(f"no release group with id {group}")
            return group
        found = self.group_id(group)
        if found is not None:
            return found
        if not create:
            raise DemoDataError(f"no release group named {group!r}")
        new_id = max(self._groups, default=0) + 1
        self._groups[new_id] = group
        self.version += 1
        return new_id

    def _resolve(self, ref: Ref, group: str | int | None = None) -> int:
        if isinstance(ref, bool):
            raise DemoDataError(f"not a release reference: {ref!r}")
        if isinstance(ref, int):
            if ref in self._releases:
                return ref
            raise DemoDataError(f"no release with id {ref}")
        text = ref.strip()
        if text.startswith("#") and text[1:].isdigit():
            return self._resolve(int(text[1:]))
        group_id = None if group is None else self._group(group)
        matches = [
            r.id
            for r in self._releases.values()
            if r.name == text and (group_id is None or r.group_id == group_id)
        ]
        if not matches and text.isdigit():
            return self._resolve(int(text))
        if not matches:
            raise DemoDataError(f"no release named {text!r}")
        if len(matches) > 1:
            raise DemoDataError(
                f"{len(matches)} releases are named {text!r} (ids "
                f"{', '.join(map(str, sorted(matches)))}); give the id or a group"
            )
        return matches[0]
