"""The `Query` model: what to look up, how it maps to API calls, and which releases it keeps."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import reduce
from typing import Literal

from bot.i18n import ENGLISH, N_, Texts
from bot.metakraftwerk.filter import ApiFilter
from bot.metakraftwerk.models import Release
from bot.query.glob import compile_globs, is_glob
from bot.query.quoting import quote_value

Status = Literal["open", "closed", "all"]
Format = Literal["compact", "full"]
DeletedMode = Literal["no", "yes", "only"]
_STATUS_WORDS = {"open": N_("open"), "closed": N_("closed"), "all": N_("open and closed")}
_DELETED_WORDS = {
    "no": N_("deleted hidden"), "yes": N_("deleted shown"), "only": N_("deleted only")
}



@dataclass(frozen=True, slots=True)
class Query:
    """What to look up. Tuples hold OR-ed alternatives; different fields combine with AND.

    Names and groups are patterns as typed (globs allowed), kept in the order typed and
    de-duplicated case-insensitively by the parser.
    """

    release_id: int | None = None
    status: Status = "open"
    groups: tuple[str, ...] = ()
    group_ids: tuple[int, ...] = ()
    names: tuple[str, ...] = ()
    exclude_groups: tuple[str, ...] = ()
    exclude_group_ids: tuple[int, ...] = ()
    exclude_names: tuple[str, ...] = ()
    hotfix: bool | None = None
    deleted: DeletedMode = "no"
    page: int = 1
    format: Format = "compact"
    refresh: bool = False

    def with_page(self, page: int) -> Query:
        return replace(self, page=page)

    @property
    def is_lookup(self) -> bool:
        """One release by id: the caller fetches /releases/:id and ignores api_filters()."""
        return self.release_id is not None

    @property
    def is_default(self) -> bool:
        """No filter beyond the defaults (page, format and refresh are not filters)."""
        return replace(self, page=1, format="compact", refresh=False) == Query()

    def api_filters(self) -> tuple[ApiFilter, ...]:
        """The API calls that together return a superset of the matches.

        Exact positive group names -> one call per group; else positive group ids -> one call
        per id (ids AND the glob groups, so still a superset); else one call without a group.
        A single exact positive name is sent as `name`. Exclusions, globs, hotfix and deleted
        are local. Not used when `release_id` is set: the caller fetches that release by id.
        The API matches `group`/`name` exactly; callers should fall back to an unfiltered call
        if the API's matching turns out to be case-sensitive and a lookup finds nothing.
        """
        closed = {"open": False, "closed": True, "all": None}[self.status]
        name = None
        if len(self.names) == 1 and not is_glob(self.names[0]):
            name = self.names[0]
        if self.groups and not any(is_glob(g) for g in self.groups):
            return tuple(ApiFilter(group=g, name=name, closed=closed) for g in self.groups)
        if self.group_ids:
            return tuple(ApiFilter(group_id=i, name=name, closed=closed) for i in self.group_ids)
        return (ApiFilter(name=name, closed=closed),)

    def matches(self, release: Release, group_names: Mapping[int, str]) -> bool:
        """Every filter, applied by the bot (globs, exclusions, hotfix, deleted).

        With `release_id` only the id counts. A group pattern is matched against the group's
        name from `group_names`; a release whose group name is unknown matches no group pattern
        (and no exclusion), as the API could not have returned it for `group=`. Callers that
        learnt a name from a `group=` call should add it; `group_id:` needs no names.
        """
        if self.release_id is not None:
            return release.id == self.release_id
        if (self.status == "open" and release.closed) or (
            self.status == "closed" and not release.closed
        ):
            return False
        if (self.deleted == "no" and release.deleted) or (
            self.deleted == "only" and not release.deleted
        ):
            return False
        if self.hotfix is not None and release.is_hotfix != self.hotfix:
            return False
        if not self.admits_group(release.group_id, group_names):
            return False
        if self.names and not compile_globs(self.names).match(release.name):
            return False
        return not compile_globs(self.exclude_names).match(release.name)

    def admits_group(self, group_id: int | None, group_names: Mapping[int, str]) -> bool:
        """The group filters alone: False when no release of that group can match.

        `matches` applies exactly this, so the worker can skip, per event, the stored filters
        that name other groups instead of applying every filter to every change.
        """
        if self.release_id is not None:
            return True
        label = None if group_id is None else group_names.get(group_id)
        if self.groups and (label is None or not compile_globs(self.groups).match(label)):
            return False
        if label is not None and compile_globs(self.exclude_groups).match(label):
            return False
        if self.group_ids and group_id not in self.group_ids:
            return False
        return group_id is None or group_id not in self.exclude_group_ids

    def describe(self, t: Texts = ENGLISH) -> str:
        """Plain-text restatement of the filters applied, e.g. 'open · group DWH_GROUP', in
        the reader's words (`offen · Gruppe DWH_GROUP`); names and ids stay as typed.

        Defaults are stated too, so nobody is surprised by them; not escaped (renderers do).
        """
        if self.release_id is not None:
            return t._("release #{id}", id=self.release_id)

        def either(values: Iterable[str]) -> str:
            return reduce(lambda a, b: t._("{first} or {second}", first=a, second=b), values)

        def without(values: Iterable[str]) -> str:
            return ", ".join(t._("not {value}", value=v) for v in values)

        parts = [t._(_STATUS_WORDS[self.status])]
        if self.groups:
            parts.append(t._("group {groups}", groups=either(self.groups)))
        if self.group_ids:
            parts.append(t._("group id {ids}", ids=either(map(str, self.group_ids))))
        if self.exclude_groups:
            parts.append(t._("group {groups}", groups=without(self.exclude_groups)))
        if self.exclude_group_ids:
            parts.append(t._("group id {ids}", ids=without(map(str, self.exclude_group_ids))))
        if self.names:
            parts.append(t._("name {names}", names=either(self.names)))
        if self.exclude_names:
            parts.append(t._("name {names}", names=without(self.exclude_names)))
        if self.hotfix is not None:
            parts.append(t._("hotfixes only") if self.hotfix else t._("no hotfixes"))
        parts.append(t._(_DELETED_WORDS[self.deleted]))
        return " · ".join(parts)

    def to_text(self) -> str:
        """Canonical command text that parses back to an equal Query (button values, storage).

        Fixed key order, values in tuple order, defaults left out except the status; values
        are quoted when needed and `&`, `<`, `>` stay literal inside quotes. Round-trips every
        Query the parser can produce (within MAX_CHARS/MAX_TOKENS).
        """
        out: list[str] = []
        if self.release_id is not None:
            out.append(f"#{self.release_id}")
        else:
            out.append(self.status)
        out += [f"group:{quote_value(g)}" for g in self.groups]
        out += [f"group_id:{i}" for i in self.group_ids]
        out += [f"name:{quote_value(n)}" for n in self.names]
        out += [f"-group:{quote_value(g)}" for g in self.exclude_groups]
        out += [f"-group_id:{i}" for i in self.exclude_group_ids]
        out += [f"-name:{quote_value(n)}" for n in self.exclude_names]
        if self.hotfix is not None:
            out.append("hotfix:yes" if self.hotfix else "hotfix:no")
        if self.deleted != "no":
            out.append(f"deleted:{self.deleted}")
        if self.page != 1:
            out.append(f"page:{self.page}")
        if self.format != "compact":
            out.append(f"format:{self.format}")
        if self.refresh:
            out.append("refresh")
        return " ".join(out)

