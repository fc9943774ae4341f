"""Words people type as they would to `/github` or `/jira`: verbs, and bare release names."""

from __future__ import annotations

import pytest

from bot.query import ListCommand, Query, QueryError, StandupCommand, parse_command


def _list(text: str) -> ListCommand:
    command = parse_command(text)
    assert isinstance(command, ListCommand), command
    return command


@pytest.mark.parametrize("verb", ["show", "find", "search", "list", "Show", "FIND"])
def test_a_leading_verb_is_understood(verb: str) -> None:
    assert _list(f"{verb} 21").query == Query(release_id=21)
    assert _list(f"{verb} R59").query.names == ("R59",)
    assert _list(f"{verb} group:DWH_GROUP closed").query == Query(
        status="closed", groups=("DWH_GROUP",)
    )


def test_a_verb_alone_lists_the_default() -> None:
    assert _list("list").query == Query()


def test_a_quoted_verb_is_a_name() -> None:
    assert _list('"show"').query.names == ("show",)


def test_verbs_are_only_read_first() -> None:
    assert _list("R59 find").query.names == ("R59", "find")


def test_bare_names_look_in_every_status() -> None:
    command = _list("R9")
    assert command.query == Query(status="all", names=("R9",))
    assert command.by_name
    assert _list("name:R9").query.status == "all"
    assert _list("find R9 R59").query.status == "all"


@pytest.mark.parametrize("text", ["R9 open", "R9 closed", "R9 group:DWH_GROUP", "-name:R9", ""])
def test_a_status_or_another_filter_keeps_the_default(text: str) -> None:
    command = _list(text)
    assert not command.by_name
    assert command.query.status == ("closed" if "closed" in text else "open")


def test_the_standup_is_not_affected() -> None:
    command = parse_command("standup R9")
    assert isinstance(command, StandupCommand)
    assert command.query.status == "open"


def test_groups_is_a_command_of_its_own() -> None:
    from bot.query import GroupsCommand, QueryError

    assert parse_command("groups") == GroupsCommand()
    with pytest.raises(QueryError, match="`groups` takes nothing after it"):
        parse_command("groups DWH")


def test_name_takes_a_comma_list_as_the_search_form_does() -> None:
    assert _list("name:R59,R60").query.names == ("R59", "R60")
    assert _list("-name:R59,R60,").query.exclude_names == ("R59", "R60")
    assert _list("name:R5*,R6?").query.names == ("R5*", "R6?")
    # Quoted, a comma is part of the name, and such a name writes itself back quoted.
    quoted = _list('name:"Release 1,2"').query
    assert quoted.names == ("Release 1,2",)
    assert _list(quoted.to_text()).query == quoted
    assert _list(Query(names=("a,b",)).to_text()).query == Query(names=("a,b",))


def test_a_name_list_of_only_commas_is_an_empty_name() -> None:
    with pytest.raises(QueryError, match="name"):
        parse_command("name:,")
