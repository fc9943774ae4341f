"""The grammar of `events:` on subscribe, and of `follow`, `unfollow` and `following`."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.query import (
    EVENT_KINDS,
    FollowCommand,
    FollowingCommand,
    Query,
    QueryError,
    SubscribeCommand,
    UnfollowCommand,
    events_text,
    parse_command,
    parse_events,
)

ALL_KINDS = tuple(EVENT_KINDS)


@pytest.mark.parametrize(
    ("text", "events"),
    [
        ("subscribe group:DWH_GROUP", ()),
        ("subscribe group:DWH_GROUP events:closed,reopened,dates", ("reopened", "closed", "dates")),
        ("subscribe events:Closed", ("closed",)),
        ("subscribe events:closed events:dates", ("closed", "dates")),
        ("subscribe events:closed,closed", ("closed",)),
        ("subscribe events:opened", ("created", "reopened", "restored")),
        ("subscribe events:new,dates_changed", ("created", "dates")),
        ("subscribe events:all", ()),
        ("subscribe events:closed events:all", ()),
        ("subscribe events:" + ",".join(ALL_KINDS), ()),
        ('subscribe events:"closed, dates"', ("closed", "dates")),
    ],
)
def test_subscribe_reads_the_kinds_of_change(text: str, events: tuple[str, ...]) -> None:
    command = parse_command(text)
    assert isinstance(command, SubscribeCommand)
    assert command.events == events


def test_events_do_not_change_the_filters() -> None:
    plain = parse_command("subscribe group:DWH_GROUP closed mention:@ops")
    narrowed = parse_command("subscribe group:DWH_GROUP closed events:dates mention:@ops")
    assert isinstance(plain, SubscribeCommand)
    assert isinstance(narrowed, SubscribeCommand)
    assert narrowed.query == plain.query
    assert narrowed.mention == plain.mention == "@ops"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("subscribe events:closd", "`closd`: I don't know that as a kind of change"),
        ("subscribe events:foo,bar,closed", "`foo`, `bar`: I don't know those"),
        ("subscribe events:,", "needs at least one kind"),
        ("subscribe events:all,closed", "give it alone"),
        ("events:closed", "only works with `subscribe`"),
        ("digest daily 09:00 events:closed", "only works with `subscribe`"),
        ("subscribe -events:closed", "`-` only excludes"),
    ],
)
def test_bad_kinds_get_a_friendly_error(text: str, fragment: str) -> None:
    with pytest.raises(QueryError) as raised:
        parse_command(text)
    assert fragment in raised.value.message


def test_an_unknown_kind_lists_the_valid_ones() -> None:
    with pytest.raises(QueryError) as raised:
        parse_command("subscribe events:merged")
    for kind in ALL_KINDS:
        assert f"`{kind}`" in raised.value.message


@given(st.sets(st.sampled_from(ALL_KINDS)))
def test_stored_kinds_parse_back_to_the_same_selection(kinds: set[str]) -> None:
    chosen = parse_events(",".join(kinds)) if kinds else ()
    stored = events_text(chosen)
    assert (parse_events(stored) if stored else ()) == chosen
    assert set(chosen) == (set() if kinds == set(ALL_KINDS) else kinds)


@given(
    st.sets(st.sampled_from(ALL_KINDS)),
    st.sampled_from(["", "group:DWH_GROUP", "closed", 'name:"R 5*" -group:SANDBOX', "all"]),
)
def test_a_stored_subscription_parses_back_to_the_same_command(
    kinds: set[str], filters: str
) -> None:
    """What the store keeps (the query's text, the kinds' text) reads back as typed."""
    typed = f"subscribe {filters} " + (f"events:{','.join(sorted(kinds))}" if kinds else "")
    command = parse_command(typed)
    assert isinstance(command, SubscribeCommand)
    stored_filters, stored_events = command.query.to_text(), events_text(command.events)
    again = parse_command(
        f"subscribe {stored_filters} " + (f"events:{stored_events}" if stored_events else "")
    )
    assert again == command


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("follow 21", FollowCommand(21)),
        ("follow #21", FollowCommand(21)),
        ("FOLLOW release 21", FollowCommand(21)),
        ("follow id:21", FollowCommand(21)),
        ("unfollow 21", UnfollowCommand(21)),
        ("unfollow #7", UnfollowCommand(7)),
        ("following", FollowingCommand()),
    ],
)
def test_follow_commands(text: str, expected: object) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("follow", "Which release?"),
        ("unfollow", "Which release?"),
        ("follow R59", "`R59` is not a release id"),
        ("follow 21 22", "One release at a time"),
        ("follow -21", "is not a release id"),
        ("follow 0", "starts at 1"),
        ("follow 99999999999", "too large"),
        ("following 21", "`following` takes nothing after it"),
    ],
)
def test_follow_mistakes(text: str, fragment: str) -> None:
    with pytest.raises(QueryError) as raised:
        parse_command(text)
    assert fragment in raised.value.message


def test_follow_words_are_commands_not_names() -> None:
    assert parse_command('"follow"') != FollowCommand(0)
    listed = parse_command('name:"following"')
    assert getattr(listed, "query", None) == Query(names=("following",), status="all")
