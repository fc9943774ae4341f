"""Properties of the grammar over generated input: total, round-tripping, consistent."""

from __future__ import annotations

import fnmatch
import itertools

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.metakraftwerk.filter import ApiFilter
from bot.metakraftwerk.models import Release
from bot.query import (
    MAX_ID,
    Command,
    DigestCommand,
    ListCommand,
    MessageScan,
    Query,
    QueryError,
    StandupCommand,
    SubscribeCommand,
    glob_match,
    parse_command,
    scan_message,
)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Characters the grammar treats specially, mixed into arbitrary unicode.
TRICKY = [
    *"\"“”„‟″'‘’‚‛\\&<>:=-#*?[] \t\n\u00a0,;|@!^`",
    *("&amp;", "&lt;", "&gt;", "<@U1>", "<!here>", "<#C1|general>", "<http://x|y>"),
]
FRAGMENTS = [
    "open", "closed", "all", "refresh", "release", "help", "standup", "subscribe", "digest",
    "subscriptions", "unsubscribe", "21", "#21", "-", "group:", "group=", "group_id:", "name:",
    "status:", "closed:", "hotfix:", "deleted:", "page:", "format:", "id:", "mention:", "tz:",
    "-name:", "-group:", "weekdays", "mon,thu", "09:00", "tz:Europe/Berlin", "yes", "no",
    "only", "full", '"', "“", "”", "'", "*", "R59", "2023.Q1", "&amp;", "<@U1|a b>",
    "<!subteam^S1|@t>", "all", "0", "99999999999", "\\",
]  # fmt: skip

tricky_text = st.lists(
    st.one_of(st.sampled_from(TRICKY), st.characters(codec="utf-8")), max_size=40
).map("".join)
command_like = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), tricky_text), min_size=1, max_size=12
).map(lambda parts: " ".join(parts))
any_text = st.one_of(st.text(max_size=300), tricky_text, command_like)


@SETTINGS
@given(any_text)
@example('name:"a')
@example("group_id:" + "9" * 5000)
@example("#" + "9" * 5000)
@example("digest " + "mon," * 30 + " 09:00")
def test_any_text_gives_a_command_or_a_query_error(text: str) -> None:
    try:
        command = parse_command(text)
    except QueryError as exc:
        message = exc.message
    else:
        assert isinstance(command, Command)
        return
    # Safe to show as mrkdwn: nothing the user typed can become markup or break a code span.
    assert message
    assert "<" not in message
    assert ">" not in message
    assert message.count("`") % 2 == 0


@SETTINGS
@given(command_like)
def test_every_parsed_query_round_trips(text: str) -> None:
    try:
        command = parse_command(text)
    except QueryError:
        return
    query = _query_of(command)
    if query is None:
        return
    assert parse_command(query.to_text()) == ListCommand(query)


def _query_of(command: Command) -> Query | None:
    if isinstance(command, ListCommand | StandupCommand | SubscribeCommand | DigestCommand):
        return command.query
    return None


def _clean(value: str) -> bool:
    return bool(value) and value == value.strip()


values = (
    st.lists(st.one_of(st.sampled_from(TRICKY), st.characters(codec="utf-8")), max_size=8)
    .map("".join)
    .filter(_clean)
)
patterns = st.lists(values, max_size=3, unique_by=str.casefold).map(tuple)
ids = st.lists(st.integers(0, MAX_ID), max_size=3, unique=True).map(tuple)

filter_queries = st.builds(
    Query,
    release_id=st.none(),
    status=st.sampled_from(["open", "closed", "all"]),
    groups=patterns,
    group_ids=ids,
    names=patterns,
    exclude_groups=patterns,
    exclude_group_ids=ids,
    exclude_names=patterns,
    hotfix=st.sampled_from([None, True, False]),
    deleted=st.sampled_from(["no", "yes", "only"]),
    page=st.integers(1, MAX_ID),
    format=st.sampled_from(["compact", "full"]),
    refresh=st.booleans(),
)
lookup_queries = st.builds(
    Query,
    release_id=st.integers(0, MAX_ID),
    format=st.sampled_from(["compact", "full"]),
    refresh=st.booleans(),
)


@SETTINGS
@given(st.one_of(filter_queries, lookup_queries))
@example(Query(names=('"',), groups=("\\",)))
@example(Query(names=("&amp;x",), exclude_names=("<!channel>",)))
@example(Query(names=("a“b”c",), exclude_groups=("‘x’",)))
def test_generated_queries_round_trip(query: Query) -> None:
    text = query.to_text()
    assert parse_command(text) == ListCommand(query)
    assert query.to_text() == text


@SETTINGS
@given(tricky_text, st.lists(values, max_size=20))
@example("release 21 <#C1|x> #22 group:A name:“x y” 09:00", ["x y"])
def test_scan_never_raises_and_its_query_round_trips(text: str, names: list[str]) -> None:
    scan = scan_message(text, names)
    assert isinstance(scan, MessageScan)
    assert all(0 <= i <= MAX_ID for i in scan.release_ids)
    assert len(set(scan.release_ids)) == len(scan.release_ids)
    folded = {n.strip().casefold() for n in names}
    assert all(n.casefold() in folded for n in scan.names)
    if scan.query is not None:
        assert parse_command(scan.query.to_text()) == ListCommand(scan.query)


@SETTINGS
@given(
    st.text(alphabet="ab*?[]!", max_size=8),
    st.text(alphabet="abAB[]!", max_size=10),
)
def test_glob_match_agrees_with_fnmatch_without_classes(pattern: str, text: str) -> None:
    escaped = "".join("[[]" if c == "[" else c for c in pattern.casefold())
    assert glob_match(pattern, text) == fnmatch.fnmatchcase(text.casefold(), escaped)


GROUP_NAMES = {1: "DWH_GROUP", 2: "lake", 3: "Lake House"}
simple_patterns = st.lists(
    st.sampled_from(["R1", "R*", "*Q1", "DWH_GROUP", "LAKE", "Lake*", "?1", "X"]),
    max_size=2,
    unique_by=str.casefold,
).map(tuple)
match_queries = st.builds(
    Query,
    status=st.sampled_from(["open", "closed", "all"]),
    groups=simple_patterns,
    group_ids=st.lists(st.integers(1, 4), max_size=2, unique=True).map(tuple),
    names=simple_patterns,
    exclude_groups=simple_patterns,
    exclude_names=simple_patterns,
    hotfix=st.sampled_from([None, True, False]),
    deleted=st.sampled_from(["no", "yes", "only"]),
)


# Every combination of these names, groups, states and hotfix links, once. A query is tested
# against releases it matches, picked from here, so each example reaches its assertion: a
# query and a release drawn independently matched in only about 5 % of the examples.
ALL_RELEASES = tuple(
    Release(id=n, name=name, group_id=group, closed=closed, deleted=deleted, hotfix_of_id=hotfix)
    for n, (name, group, closed, deleted, hotfix) in enumerate(
        itertools.product(
            ["R1", "r1", "R9.HF1", "Release 2022 Q1", "2023.Q1", "X"],
            [None, 1, 2, 3, 4], [False, True], [False, True], [None, 1],
        ),
        start=1,
    )
)


def _matched(query: Query) -> tuple[Query, list[Release]]:
    return query, [r for r in ALL_RELEASES if query.matches(r, GROUP_NAMES)]


# A query and releases it matches: whatever `matches` admits, right or wrong, is what is checked.
matched = match_queries.map(_matched).filter(lambda pair: bool(pair[1]))
query_and_match = matched.flatmap(lambda pair: st.tuples(st.just(pair[0]),
                                                         st.sampled_from(pair[1])))
query_and_matches = matched.flatmap(
    lambda pair: st.tuples(st.just(pair[0]), st.lists(st.sampled_from(pair[1]), min_size=1,
                                                      max_size=8))
)


@SETTINGS
@given(query_and_matches)
def test_api_filters_fetch_a_superset_of_local_matches(
    pair: tuple[Query, list[Release]],
) -> None:
    query, sample = pair
    filters = query.api_filters()
    assert filters
    for release in sample:  # each one matched locally
        assert any(_server_side(f, release) for f in filters), (query, release)


def _server_side(f: ApiFilter, release: Release) -> bool:
    """The API as documented (AND of exact parameters); case-insensitive is assumed."""
    group = GROUP_NAMES.get(release.group_id or -1)
    return (
        (f.group is None or (group is not None and group.casefold() == f.group.casefold()))
        and (f.group_id is None or release.group_id == f.group_id)
        and (f.name is None or release.name.casefold() == f.name.casefold())
        and (f.closed is None or release.closed == f.closed)
    )


@SETTINGS
@given(query_and_match)
def test_status_and_deleted_are_always_enforced(pair: tuple[Query, Release]) -> None:
    query, release = pair  # a release the query matched
    assert query.status == "all" or release.closed == (query.status == "closed")
    assert query.deleted == "yes" or release.deleted == (query.deleted == "only")
    assert query.hotfix is None or release.is_hotfix == query.hotfix
    assert not any(glob_match(n, release.name) for n in query.exclude_names)


@SETTINGS
@given(query_and_match)
def test_a_query_matches_only_releases_of_groups_it_admits(pair: tuple[Query, Release]) -> None:
    """The worker skips a filter for an event whose groups it does not admit: never a match."""
    query, release = pair  # a release the query matched
    assert query.admits_group(release.group_id, GROUP_NAMES), (query, release)


def test_admits_group_reads_only_the_group_filters() -> None:
    names = {1: "DWH_GROUP", 2: "LAKE"}
    assert Query(groups=("DWH*",)).admits_group(1, names)
    assert not Query(groups=("DWH*",)).admits_group(2, names)
    assert not Query(groups=("DWH*",)).admits_group(None, names)
    assert not Query(groups=("DWH*",)).admits_group(3, names)  # a group with no known name
    assert not Query(exclude_groups=("LAKE",)).admits_group(2, names)
    assert Query(exclude_groups=("LAKE",)).admits_group(3, names)
    assert Query(group_ids=(2,)).admits_group(2, names)
    assert not Query(group_ids=(2,)).admits_group(1, names)
    assert not Query(exclude_group_ids=(2,)).admits_group(2, names)
    assert Query(exclude_group_ids=(2,)).admits_group(None, names)
    assert Query(release_id=7, groups=("DWH*",)).admits_group(2, names)  # only the id counts
    assert Query(status="closed", names=("X",)).admits_group(2, names)
