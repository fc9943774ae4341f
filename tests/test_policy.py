"""The policy table, and the gate that applies it to callers."""

from __future__ import annotations

from typing import get_args

import pytest

from bot.app.caller import Caller
from bot.app.gate import Gate, button_action, command_action
from bot.app.policy import (
    ALLOWED,
    EXTERNAL_REFUSAL,
    GUEST_REFUSAL,
    PRIVILEGED,
    Action,
    Audience,
    refusal,
)
from bot.query import parse_command
from bot.render import actions as act

MEMBER = Caller(team_id="T1", home_team_id="T1", user_id="U1")
EXTERNAL = Caller(team_id="T1", home_team_id="T9", user_id="U9")


def test_every_action_is_in_the_table() -> None:
    assert set(ALLOWED) == set(get_args(Action))


@pytest.mark.parametrize(
    ("audience", "may"),
    [
        ("member", set(get_args(Action))),
        ("guest", {"help", "page", "detail", "lookup", "search", "list_subscriptions"}),
        ("external", {"help", "page", "detail"}),
    ],
)
def test_who_may_do_what(audience: Audience, may: set[str]) -> None:
    assert {a for a in get_args(Action) if refusal(a, audience) is None} == may


def test_refusals_are_one_line_each() -> None:
    assert refusal("subscribe", "guest") == GUEST_REFUSAL
    assert refusal("follow", "external") == EXTERNAL_REFUSAL
    assert "\n" not in GUEST_REFUSAL + EXTERNAL_REFUSAL
    assert {"share", "follow", "subscribe", "unsubscribe", "admin"} == PRIVILEGED


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("", "lookup"), ("21", "lookup"), ("standup", "lookup"), ("groups", "lookup"),
        ("help", "help"), ("subscribe", "subscribe"), ("digest daily 09:00", "subscribe"),
        ("unsubscribe 3", "unsubscribe"), ("allow-shared-channel", "admin"),
        ("subscriptions", "list_subscriptions"),
        ("follow 21", "follow"), ("unfollow 21", "follow"), ("following", "lookup"),
    ],
)
def test_commands_name_their_action(text: str, action: str) -> None:
    assert command_action(parse_command(text)) == action


def test_buttons_name_their_action() -> None:
    assert button_action(act.PageRequest("open", 2)) == "page"
    assert button_action(act.ReleaseRef(21)) == "detail"
    assert button_action(act.OpenSearch("")) == "search"
    assert button_action(act.RemoveSubscription(3)) == "unsubscribe"


def test_the_gate_refuses_externals_without_asking_slack() -> None:
    asked: list[Caller] = []

    def lookup(caller: Caller) -> Audience | None:
        asked.append(caller)
        return "member"

    gate = Gate(lookup)
    assert gate.refusal("follow", EXTERNAL) == EXTERNAL_REFUSAL
    assert gate.refusal("page", EXTERNAL) is None
    assert asked == []
    assert gate.refusal("lookup", MEMBER) is None
    assert asked == []  # a look-up needs no look-up
    assert gate.refusal("subscribe", MEMBER) is None
    assert asked == [MEMBER]


def test_the_gate_refuses_a_guest_and_a_user_slack_calls_external() -> None:
    assert Gate(lambda c: "guest").refusal("subscribe", MEMBER) == GUEST_REFUSAL
    assert Gate(lambda c: "external").refusal("share", MEMBER) == EXTERNAL_REFUSAL


def test_a_look_up_that_raises_fails_closed() -> None:
    def broken(caller: Caller) -> Audience | None:
        raise RuntimeError("boom")

    assert Gate(broken).refusal("admin", MEMBER) is not None
    assert Gate(broken).refusal("search", MEMBER) is None
    assert Gate().refusal("subscribe", MEMBER) is None  # no Slack to ask: the console


def test_posting_into_a_shared_channel_is_asked_of_the_channel_check() -> None:
    checked: list[Caller] = []

    def channel(caller: Caller) -> str | None:
        checked.append(caller)
        return "shared"

    gate = Gate(None, channel)
    assert gate.refusal("subscribe", MEMBER) == "shared"
    assert gate.refusal("share", MEMBER) == "shared"
    assert gate.refusal("unsubscribe", MEMBER) is None
    assert gate.refusal("lookup", MEMBER) is None
    assert gate.refusal("subscribe", EXTERNAL) == EXTERNAL_REFUSAL  # the person first
    assert checked == [MEMBER, MEMBER]
