"""Query -> releases: the one place that decides which API calls a query needs.

INTERFACE SKETCH, to be completed: the dataclasses are the contract renderers and listeners use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.metakraftwerk.models import Release
from bot.query import Query


@dataclass(frozen=True, slots=True)
class Freshness:
    """How old the data behind an answer is, and why it is old when the API failed."""

    fetched_at: datetime
    stale: bool = False
    reason: str | None = None  # e.g. "MetaKraftwerk did not answer in 8 s"


@dataclass(frozen=True, slots=True)
class FindResult:
    query: Query
    releases: tuple[Release, ...]  # every match, in display order; paging is the renderer's
    group_names: Mapping[int, str] = field(default_factory=dict)
    freshness: Freshness | None = None


@dataclass(frozen=True, slots=True)
class DetailResult:
    release: Release
    previous: Release | None = None
    hotfix_parent: Release | None = None
    hotfixes: tuple[Release, ...] = ()
    group_names: Mapping[int, str] = field(default_factory=dict)
    freshness: Freshness | None = None
