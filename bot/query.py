"""The `/releases` grammar: text -> Query (or another command), with errors a user can act on.

INTERFACE SKETCH, to be completed: the dataclasses below are the contract other modules use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

from bot.metakraftwerk.models import Release
from bot.schedule import Schedule

Status = Literal["open", "closed", "all"]
Format = Literal["compact", "full"]
DeletedMode = Literal["no", "yes", "only"]


class QueryError(ValueError):
    """Input the grammar cannot read; `message` is friendly mrkdwn-safe text for the user."""

    def __init__(self, message: str, token: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.token = token


@dataclass(frozen=True, slots=True)
class ApiFilter:
    """One call of GET /api/v1/releases; hashable, so it is also the cache key."""

    group: str | None = None
    group_id: int | None = None
    name: str | None = None
    closed: bool | None = None

    def params(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.group is not None:
            out["group"] = self.group
        if self.group_id is not None:
            out["group_id"] = str(self.group_id)
        if self.name is not None:
            out["name"] = self.name
        if self.closed is not None:
            out["closed"] = "true" if self.closed else "false"
        return out


@dataclass(frozen=True, slots=True)
class Query:
    """What to look up. Tuples hold OR-ed alternatives; different fields combine with AND."""

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

    def api_filters(self) -> tuple[ApiFilter, ...]:
        """The API calls that together return a superset of the matches."""
        raise NotImplementedError

    def matches(self, release: Release, group_names: Mapping[int, str]) -> bool:
        """Every filter, applied by the bot (globs, exclusions, hotfix, deleted)."""
        raise NotImplementedError

    def describe(self) -> str:
        """Plain-text restatement of the filters applied, e.g. 'open · group DWH_GROUP'."""
        raise NotImplementedError

    def to_text(self) -> str:
        """Canonical command text that parses back to an equal Query (button values, storage)."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class ListCommand:
    query: Query


@dataclass(frozen=True, slots=True)
class StandupCommand:
    query: Query


@dataclass(frozen=True, slots=True)
class HelpCommand:
    topic: str | None = None


@dataclass(frozen=True, slots=True)
class SubscribeCommand:
    query: Query
    mention: str | None = None


@dataclass(frozen=True, slots=True)
class DigestCommand:
    schedule: Schedule
    timezone: str | None
    query: Query


@dataclass(frozen=True, slots=True)
class SubscriptionsCommand:
    pass


@dataclass(frozen=True, slots=True)
class UnsubscribeCommand:
    ids: tuple[int, ...] = ()
    all: bool = False


Command = (
    ListCommand
    | StandupCommand
    | HelpCommand
    | SubscribeCommand
    | DigestCommand
    | SubscriptionsCommand
    | UnsubscribeCommand
)


def parse_command(text: str) -> Command:
    raise NotImplementedError
