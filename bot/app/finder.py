"""Query -> releases: the one place that decides which API calls a query needs.

Every lookup shares one deadline across its API calls (lists, the release groups, related
releases), so a command answers in time even when MetaKraftwerk is slow. Answers carry their
freshness; when the API failed and older data stood in, they say so.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from bot.cache.release_cache import Cached, ReleaseCache
from bot.clock import Clock, Deadline, SystemClock
from bot.metakraftwerk.errors import GroupNotFound, MetaKraftwerkError, ReleaseNotFound
from bot.metakraftwerk.filter import ApiFilter
from bot.metakraftwerk.models import Release
from bot.query import MessageScan, Query, QueryError, closest, did_you_mean

log = logging.getLogger(__name__)

_NEVER = datetime.min.replace(tzinfo=UTC)
# Related releases fetched by id for one lookup at most: a page shows 15 releases.
MAX_RELATED_FETCHES = 32
# Ids and names looked up for one message at most, each kind: a message is no query language.
MAX_MENTIONED_LOOKUPS = 10
# Release lists one lookup asks for at most (one per group): with `refresh`, each is a call.
MAX_LIST_CALLS = 10


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
    # Releases the matches point to (previous release, hotfix parent) that are not matches
    # themselves but are held in the cache: hints can then name them instead of showing ids.
    related: Mapping[int, Release] = field(default_factory=dict)

    def known(self) -> dict[int, Release]:
        """Every release at hand by id: the related ones, and the matches over them."""
        return {**self.related, **{r.id: r for r in self.releases}}


@dataclass(frozen=True, slots=True)
class DetailResult:
    release: Release
    previous: Release | None = None
    hotfix_parent: Release | None = None
    hotfixes: tuple[Release, ...] = ()
    group_names: Mapping[int, str] = field(default_factory=dict)
    freshness: Freshness | None = None


@dataclass(frozen=True, slots=True)
class MentionedResult:
    """The releases a message mentions, found one lookup each; `freshness` covers them all."""

    releases: tuple[Release, ...] = ()  # by id, then by name, in message order
    missing_ids: tuple[int, ...] = ()
    missing_names: tuple[str, ...] = ()
    search: FindResult | None = None  # what the filter tokens in the message match
    group_names: Mapping[int, str] = field(default_factory=dict)
    related: Mapping[int, Release] = field(default_factory=dict)
    freshness: Freshness | None = None


# What `all_releases` answers for: everything, deleted releases included.
EVERYTHING = Query(status="all", deleted="yes")


def _releases(value: object) -> tuple[Release, ...]:
    if isinstance(value, Release):
        return (value,)
    if isinstance(value, tuple):
        return tuple(r for r in value if isinstance(r, Release))
    return ()


def display_order(releases: Iterable[Release]) -> tuple[Release, ...]:
    """Newest start first, releases without a start last, then the higher id first."""
    return tuple(
        sorted(
            releases,
            key=lambda r: (r.start_date is not None, r.start_date or _NEVER, r.id),
            reverse=True,
        )
    )


def freshness_of(parts: Iterable[Cached[object] | Freshness | None]) -> Freshness | None:
    """The oldest part decides the age; any stale part makes the whole answer stale."""
    known = [p for p in parts if p is not None]
    if not known:
        return None
    stale = [p for p in known if p.stale]
    return Freshness(
        fetched_at=min(p.fetched_at for p in known),
        stale=bool(stale),
        reason=next((p.reason for p in stale if p.reason), None),
    )


class ReleaseFinder:
    """Answers queries from the cache; thread-safe because the cache is."""

    def __init__(self, cache: ReleaseCache, clock: Clock | None = None) -> None:
        self._cache = cache
        self._clock: Clock = clock or SystemClock()
        # Group names are fetched beside the releases, not after them: a cold lookup then takes
        # one API round trip instead of two. Concurrent lookups share the call (single flight).
        self._names_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="group-names")
        self._related_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="related")

    def close(self) -> None:
        # A fetch on its way finishes (within its deadline) before the caller closes the HTTP
        # client under it: otherwise it fails at exit with "the client has been closed".
        self._names_pool.shutdown(wait=True, cancel_futures=True)
        self._related_pool.shutdown(wait=True, cancel_futures=True)

    def find(self, query: Query) -> FindResult:
        """Every release matching `query`, in display order (raises MetaKraftwerkError)."""
        deadline = self._cache.new_deadline()
        if query.release_id is not None:
            names_soon = self._names_soon(deadline)
            part = self._cache.release(query.release_id, refresh=query.refresh, deadline=deadline)
            names = self._group_names([part], deadline, {}, names_soon)
            found = (part.value,) if query.matches(part.value, names) else ()
            related = self._related_of(found, {}, deadline)
            return FindResult(query, found, names, freshness_of([part]), related)

        filters = tuple(dict.fromkeys(query.api_filters()))
        if len(filters) > MAX_LIST_CALLS:
            raise QueryError(
                f"That asks MetaKraftwerk for {len(filters)} release groups at once; one "
                f"command asks for at most {MAX_LIST_CALLS}. Split it into a few commands, or "
                "match the groups with a pattern such as `group:DWH*` (one call)."
            )
        # Calls by group name teach the names of the groups they return: nothing to fetch then.
        soon = None if all(f.group for f in filters) else self._names_soon(deadline)
        parts: list[Cached[tuple[Release, ...]]] = []
        learnt: dict[int, str] = {}
        for f in filters:
            parts.extend(self._fetch(f, query.refresh, deadline, learnt))
        names = self._group_names(parts, deadline, learnt, soon)
        merged = {r.id: r for part in sorted(parts, key=lambda p: p.fetched_at) for r in part.value}
        matches = display_order(r for r in merged.values() if query.matches(r, names))
        if query.status == "all" and query.names:
            # Looking a name up in every status: the open releases are what people want first.
            matches = tuple(sorted(matches, key=lambda r: r.closed))
        return FindResult(
            query, matches, names, freshness_of(parts), self._related_of(matches, merged, deadline)
        )

    def find_mentioned(self, scan: MessageScan) -> MentionedResult:
        """Each id and name a message mentions (all statuses), and what its filters match."""
        found: dict[int, Release] = {}
        missing_ids: list[int] = []
        results: list[FindResult] = []  # every lookup made; names and related from the hits
        hits: list[FindResult] = []
        for release_id in scan.release_ids[:MAX_MENTIONED_LOOKUPS]:
            try:
                by_id = self.find(Query(release_id=release_id, status="all", deleted="yes"))
            except ReleaseNotFound:
                missing_ids.append(release_id)
                continue
            results.append(by_id)
            hits.append(by_id)
            found.update((r.id, r) for r in by_id.releases)
        missing_names: list[str] = []
        for name in scan.names[:MAX_MENTIONED_LOOKUPS]:
            by_name = self.find(Query(names=(name,), status="all"))
            results.append(by_name)
            found.update((r.id, r) for r in by_name.releases if r.id not in found)
            if by_name.releases:
                hits.append(by_name)
            else:
                missing_names.append(name)
        search = self.find(scan.query) if scan.query is not None else None
        return MentionedResult(
            releases=tuple(found.values()),
            missing_ids=tuple(missing_ids),
            missing_names=tuple(missing_names),
            search=search,
            group_names={k: v for r in hits for k, v in r.group_names.items()},
            related={k: v for r in hits for k, v in r.related.items()},
            freshness=freshness_of(
                [r.freshness for r in results] + [search.freshness if search else None]
            ),
        )

    def detail(self, release_id: int, refresh: bool = False) -> DetailResult:
        """One release and its relatives; only the release itself may fail the lookup."""
        deadline = self._cache.new_deadline()
        soon = self._names_soon(deadline)
        main = self._cache.release(release_id, refresh=refresh, deadline=deadline)
        release = main.value
        parts: list[Cached[object]] = [main]
        siblings: tuple[Release, ...] = ()
        family = ApiFilter(group_id=release.group_id)
        try:
            group_part = self._cache.releases(family, refresh=refresh, deadline=deadline)
        except MetaKraftwerkError as exc:
            log.info("hotfixes of release %s are unavailable: %s", release_id, exc)
        else:
            siblings = group_part.value
        hotfixes = sorted(
            (r for r in siblings if r.hotfix_of_id == release.id and not r.deleted),
            key=lambda r: (r.start_date is None, r.start_date or _NEVER, r.id),
        )
        names = self._group_names(parts, deadline, {}, soon)
        return DetailResult(
            release=release,
            previous=self._related(release.prev_release_id, siblings, deadline),
            hotfix_parent=self._related(release.hotfix_of_id, siblings, deadline),
            hotfixes=tuple(hotfixes),
            group_names=names,
            freshness=freshness_of(parts),
        )

    def all_releases(self, refresh: bool = False) -> FindResult:
        """Everything in one unfiltered call, deleted releases included, for the worker.

        `freshness.stale` is True when the API failed and older data stood in: such an answer
        must never be reported as news.
        """
        deadline = self._cache.new_deadline()
        part = self._cache.releases(ApiFilter(), refresh=refresh, deadline=deadline)
        names = self._group_names([part], deadline, {})
        return FindResult(EVERYTHING, display_order(part.value), names, freshness_of([part]))

    def group_names(self, *, fetch: bool = True) -> dict[int, str]:
        """Every release group the API knows, by id; never raises ({} when unknown).

        With `fetch=False` only names already held count, so a caller racing a 3 s trigger
        never waits for the API.
        """
        deadline = self._cache.new_deadline()
        return dict(self._cache.groups(deadline=deadline, fetch=fetch).value)

    def known_names(self, fetch: bool = True) -> set[str]:
        """Names of releases to spot in message text.

        What the cache holds reflects what people happened to ask for, so a release nobody
        listed lately would go unrecognised; the full list (cached like any other answer, so
        one call per TTL) makes every name known. With `fetch=False` only held answers count.
        """
        if fetch:
            try:
                self._cache.releases(ApiFilter())
            except MetaKraftwerkError as exc:
                log.info("no complete list of release names: %s", exc)
        return {r.name for r in self._cache.known_releases() if not r.deleted}

    # ---- internals ----------------------------------------------------------------------

    def _fetch(
        self, f: ApiFilter, refresh: bool, deadline: Deadline, learnt: dict[int, str]
    ) -> list[Cached[tuple[Release, ...]]]:
        """One API filter, forgiving the API's exact, case-sensitive matching of names."""
        try:
            part = self._cache.releases(f, refresh=refresh, deadline=deadline)
        except GroupNotFound as exc:
            spelled = self._group_spelling(f.group, deadline)
            if spelled is None:
                raise self._with_suggestion(exc, f.group, deadline) from None
            f = replace(f, group=spelled)
            part = self._cache.releases(f, refresh=refresh, deadline=deadline)
        if f.group is not None:
            for release in part.value:
                if release.group_id is not None:
                    learnt.setdefault(release.group_id, f.group)
        if not part.value and f.name is not None:
            # `name` matched nothing: perhaps only its case differs; match locally instead.
            # That is a second call, and MetaKraftwerk already answered: when the second one
            # fails (a slow API has used the budget up), the clear "nothing" stands.
            try:
                wider = self._cache.releases(
                    replace(f, name=None), refresh=refresh, deadline=deadline
                )
            except MetaKraftwerkError as exc:
                log.info("no case-insensitive match for name %r: %s", f.name[:80], exc)
                return [part]
            return [part, wider]
        return [part]

    def _with_suggestion(
        self, exc: GroupNotFound, group: str | None, deadline: Deadline
    ) -> GroupNotFound:
        """The API's "no such group", with the closest existing names when there are any."""
        names = self._cache.groups(deadline=deadline, fetch=not deadline.expired).value
        close = closest([group or ""], names.values())
        if not close:
            return exc
        return GroupNotFound(f"{exc.user_message}{did_you_mean(close)}", ref=exc.ref)

    def _group_spelling(self, group: str | None, deadline: Deadline) -> str | None:
        """The group's name as MetaKraftwerk spells it, when it differs only in case."""
        if group is None:
            return None
        names = self._cache.groups(deadline=deadline).value.values()
        wanted = group.casefold()
        return next((n for n in names if n.casefold() == wanted and n != group), None)

    def _related_of(
        self, matches: tuple[Release, ...], fetched: Mapping[int, Release], deadline: Deadline
    ) -> dict[int, Release]:
        """Releases the matches point to, so answers name them whatever was asked before.

        From this lookup or the cache first; the rest by id (cached, in parallel, within the
        lookup's deadline, the first MAX_RELATED_FETCHES in display order). One that cannot be
        fetched is left out: it shows as `#id`.
        """
        ids = {r.id for r in matches}
        wanted = [
            ref
            for r in matches
            for ref in (r.prev_release_id, r.hotfix_of_id)
            if ref is not None and ref not in ids
        ]
        wanted = list(dict.fromkeys(wanted))
        if not wanted:
            return {}
        found = {i: fetched[i] for i in wanted if i in fetched}
        if len(found) < len(wanted):
            held = {r.id: r for r in self._cache.known_releases()}
            found.update((i, held[i]) for i in wanted if i in held and i not in found)
        missing = [i for i in wanted if i not in found][:MAX_RELATED_FETCHES]
        if missing:
            pool = self._related_pool
            calls = {i: pool.submit(self._fetch_related, i, deadline) for i in missing}
            for release_id, call in calls.items():
                release = call.result()
                if release is not None:
                    found[release_id] = release
        return found

    def _fetch_related(self, release_id: int, deadline: Deadline) -> Release | None:
        try:
            return self._cache.release(release_id, deadline=deadline).value
        except MetaKraftwerkError as exc:
            log.info("related release %s is unavailable, shown by id: %s", release_id, exc)
            return None

    def _names_soon(self, deadline: Deadline) -> Future[Cached[Mapping[int, str]]]:
        """Held names at once, or their fetch started beside the caller's release calls."""
        held = self._cache.fresh_groups()
        if held is not None:
            done: Future[Cached[Mapping[int, str]]] = Future()
            done.set_result(held)
            return done
        return self._names_pool.submit(self._cache.groups, deadline=deadline)

    def _group_names(
        self,
        parts: Iterable[Cached[object]],
        deadline: Deadline,
        learnt: Mapping[int, str],
        soon: Future[Cached[Mapping[int, str]]] | None = None,
    ) -> dict[int, str]:
        """Names learnt from the calls, overridden by the API's list of groups where held."""
        names = dict(learnt)
        if soon is not None:
            names.update(soon.result().value)
            return names
        parts = list(parts)
        wanted = {r.group_id for p in parts for r in _releases(p.value)} - {None}
        if wanted <= names.keys():
            return names
        # When the releases themselves came from stale data the API is down: use held names.
        fetch = not any(p.stale for p in parts)
        names.update(self._cache.groups(deadline=deadline, fetch=fetch).value)
        return names

    def _related(
        self, release_id: int | None, known: Iterable[Release], deadline: Deadline
    ) -> Release | None:
        if release_id is None:
            return None
        for release in known:
            if release.id == release_id:
                return release
        try:
            return self._cache.release(release_id, deadline=deadline).value
        except MetaKraftwerkError as exc:
            log.info("related release %s is unavailable: %s", release_id, exc)
            return None
