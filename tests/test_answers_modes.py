"""Who sees an answer: `Reply.mode` is the one field delivery reads, so it is what is checked.

A command's answers are for the caller alone; "Share in channel" posts for everyone (and
removes the caller's copy); the message shortcut answers the caller alone.
"""

from __future__ import annotations

import pytest

from bot.app.answers import Answers, Caller
from bot.app.finder import ReleaseFinder
from bot.cache.release_cache import ReleaseCache
from bot.query import Query
from bot.render import actions as act

CALLER = Caller(team_id="T1", channel_id="C1", user_id="U0ADA")


@pytest.fixture
def answers(demo_cache: ReleaseCache) -> Answers:
    return Answers(ReleaseFinder(demo_cache))


@pytest.mark.parametrize(
    ("text", "view"),
    [
        ("group:DWH_GROUP open", "list"),
        ("#21", "detail"),
        ("standup group:DWH_GROUP", "standup"),
        ("help", None),
        ("bogus:1", "error"),
    ],
)
def test_a_commands_answer_is_for_the_caller_alone(
    answers: Answers, text: str, view: str | None
) -> None:
    reply = answers.command(text, CALLER)
    if view is not None:
        assert reply.message.meta.get("view") == view
    assert reply.mode == "ephemeral"


@pytest.mark.parametrize(
    "request_",
    [
        act.ShareRequest("list", query_text="group:DWH_GROUP open", page=1),
        act.ShareRequest("detail", release_id=21),
        act.ShareRequest("standup", query_text=Query(groups=("DWH_GROUP",)).to_text()),
    ],
    ids=["list", "detail", "standup"],
)
def test_a_shared_copy_is_for_the_channel(answers: Answers, request_: act.ShareRequest) -> None:
    value = act.encode_share(request_)
    assert value is not None
    reply = answers.button(act.ACTION_SHARE, value, CALLER)
    assert reply.mode == "share"  # posted in_channel, the caller's copy deleted
    assert "<@U0ADA>" in str(reply.message.blocks)  # shared by


def test_the_message_shortcut_answers_the_caller_alone(answers: Answers) -> None:
    reply = answers.message_shortcut("see #21 and R&lt;!here&gt;", CALLER)
    assert reply.mode == "ephemeral"
