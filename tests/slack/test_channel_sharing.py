"""Channels shared with other organisations, as conversations.info and the payload say."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.app.caller import Caller
from bot.app.policy import SHARED_CHANNEL_REFUSAL
from bot.slack.channel_sharing import shared_channel_check
from bot.slack.user_standing import lookup_client
from tests.fakes.clock import FakeClock
from tests.fakes.slack_api import FakeSlack


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def test_a_shared_channel_is_refused_until_allowed_and_cached(slack: FakeSlack) -> None:
    clock = FakeClock()
    allowed: set[tuple[str, str]] = set()
    check = shared_channel_check(lookup_client("xoxb-t", slack.url),
                                 lambda t, c: (t, c) in allowed, clock=clock)
    slack.script.ext_shared.add("CEXT")
    caller = Caller(team_id="T1", channel_id="CEXT", user_id="U1")
    assert check(caller) == SHARED_CHANNEL_REFUSAL
    assert check(Caller(team_id="T1", channel_id="CHOME", user_id="U1")) is None
    allowed.add(("T1", "CEXT"))
    assert check(caller) is None
    assert len(slack.calls_to("conversations.info")) == 2  # once per channel
    slack.script.ext_shared.discard("CEXT")
    allowed.clear()
    assert check(caller) == SHARED_CHANNEL_REFUSAL  # still cached
    clock.advance(601)
    assert check(caller) is None


def test_the_payloads_flag_needs_no_look_up_and_direct_messages_none(slack: FakeSlack) -> None:
    check = shared_channel_check(lookup_client("xoxb-t", slack.url), lambda t, c: False)
    flagged = Caller(team_id="T1", channel_id="CX", ext_shared_channel=True)
    assert check(flagged) == SHARED_CHANNEL_REFUSAL
    assert check(Caller(team_id="T1", channel_id="DU1")) is None
    assert slack.calls_to("conversations.info") == []


def test_when_slack_cannot_say_the_channel_is_not_held_back(slack: FakeSlack) -> None:
    slack.script.rate_limited.add("conversations.info")
    check = shared_channel_check(lookup_client("xoxb-t", slack.url), lambda t, c: False)
    assert check(Caller(team_id="T1", channel_id="CEXT")) is None
