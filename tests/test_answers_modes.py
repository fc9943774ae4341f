"""Who sees an answer: `Reply.mode` is the one field delivery reads, so it is what is checked.

A command's answers are for the caller alone; "Share in channel" posts for everyone (and
removes the caller's copy); the message shortcut answers the caller alone.
"""

from __future__ import annotations

import pytest

from bot.app.answers import Answers, Caller
from bot.app.finder import MAX_LIST_CALLS, ReleaseFinder
from bot.app.refresh_limit import REFRESHES_PER_WINDOW
from bot.cache.release_cache import ReleaseCache
from bot.demo import DemoApiServer
from bot.query import Query
from bot.render import actions as act
from tests.fakes.clock import FakeClock
from tests.render.limits import all_text

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


# ---- refresh: a small per-user rate -------------------------------------------------------


def test_refresh_is_limited_per_user_and_says_when_it_works_again(
    demo_cache: ReleaseCache, demo_api: DemoApiServer, manual_clock: FakeClock
) -> None:
    answers = Answers(ReleaseFinder(demo_cache), clock=manual_clock)
    ada, bob = Caller(team_id="T1", user_id="UADA"), Caller(team_id="T1", user_id="UBOB")
    for _ in range(REFRESHES_PER_WINDOW):
        assert answers.command("group:DWH_GROUP refresh", ada).message.meta.get("view") == "list"
    calls = demo_api.counts.count("/api/v1/releases")
    refused = all_text(answers.command("group:DWH_GROUP refresh", ada).message)
    assert "refresh" in refused
    assert "Try again in 60 s" in refused
    assert demo_api.counts.count("/api/v1/releases") == calls  # nothing asked upstream
    # Without refresh the cached answer comes at once; another user may still refresh.
    assert answers.command("group:DWH_GROUP", ada).message.meta.get("view") == "list"
    assert answers.command("group:DWH_GROUP refresh", bob).message.meta.get("view") == "list"
    manual_clock.advance(61)
    assert answers.command("group:DWH_GROUP refresh", ada).message.meta.get("view") == "list"


def test_a_command_asking_for_too_many_lists_is_answered_with_the_bound(
    answers: Answers, demo_api: DemoApiServer
) -> None:
    many = " ".join(f"group_id:{i}" for i in range(1, 49))
    text = all_text(answers.command(f"{many} refresh", CALLER).message)
    assert f"at most {MAX_LIST_CALLS}" in text
    assert demo_api.counts.count("/api/v1/releases") == 0
