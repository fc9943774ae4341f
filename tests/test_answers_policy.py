"""The policy at the answers' entry points: a user of another organisation pages and opens
what is in the channel, nothing more; a guest looks up and changes nothing."""

from __future__ import annotations

import pytest

from bot.app.answers import Answers, Caller
from bot.app.finder import ReleaseFinder
from bot.app.gate import Gate
from bot.app.policy import EXTERNAL_REFUSAL, GUEST_REFUSAL, UNKNOWN_REFUSAL, Audience
from bot.cache.release_cache import ReleaseCache
from bot.render import actions as act
from tests.render.limits import all_text

EXTERNAL = Caller(team_id="T1", channel_id="C1", user_id="U0EXT", home_team_id="T9")
GUEST = Caller(team_id="T1", channel_id="C1", user_id="U0GUEST", home_team_id="T1")


def answers_for(demo_cache: ReleaseCache, audience: Audience | None) -> Answers:
    return Answers(ReleaseFinder(demo_cache), gate=Gate(lambda caller: audience))



@pytest.mark.parametrize("text", ["open", "#21", "subscribe", "follow 21", "groups", "standup"])
def test_an_external_user_is_refused_every_command_but_help(
    demo_cache: ReleaseCache, text: str
) -> None:
    answers = answers_for(demo_cache, "member")
    assert EXTERNAL_REFUSAL in all_text(answers.command(text, EXTERNAL).message)
    assert EXTERNAL_REFUSAL not in all_text(answers.command("help", EXTERNAL).message)


def test_an_external_user_pages_and_opens_details_but_not_more(demo_cache: ReleaseCache) -> None:
    answers = answers_for(demo_cache, "member")
    page = act.encode_page("all", 2)
    assert page is not None
    paged = answers.button(act.ACTION_PAGE, page, EXTERNAL)
    assert paged.mode == "replace"
    assert paged.message.meta.get("view") == "list"
    detail = answers.button(act.ACTION_DETAIL, act.encode_release_ref(21), EXTERNAL)
    assert detail.message.meta.get("view") == "detail"
    share = act.encode_share(act.ShareRequest("detail", release_id=21))
    assert share is not None
    for action_id, value in [
        (act.ACTION_SHARE, share),
        (act.ACTION_FOLLOW, act.encode_release_ref(21)),
        (act.ACTION_OPEN_SEARCH, act.encode_open_search("")),
    ]:
        reply = answers.button(action_id, value, EXTERNAL)
        assert reply.mode == "ephemeral"
        assert reply.view is None
        assert EXTERNAL_REFUSAL in all_text(reply.message)
    shortcut = answers.message_shortcut("release 21", EXTERNAL)
    assert EXTERNAL_REFUSAL in all_text(shortcut.message)
    search = answers.search_submitted({}, EXTERNAL)
    assert EXTERNAL_REFUSAL in all_text(search.message)


def test_a_guest_looks_up_but_does_not_subscribe_follow_or_share(
    demo_cache: ReleaseCache,
) -> None:
    answers = answers_for(demo_cache, "guest")
    assert answers.command("#21", GUEST).message.meta.get("view") == "detail"
    assert answers.command("open", GUEST).message.meta.get("view") == "list"
    for text in ["subscribe", "digest daily 09:00", "unsubscribe all", "follow 21"]:
        assert GUEST_REFUSAL in all_text(answers.command(text, GUEST).message), text
    share = act.encode_share(act.ShareRequest("detail", release_id=21))
    assert share is not None
    reply = answers.button(act.ACTION_SHARE, share, GUEST)
    assert (reply.mode, GUEST_REFUSAL in all_text(reply.message)) == ("ephemeral", True)


def test_when_slack_cannot_say_privileged_commands_fail_closed(demo_cache: ReleaseCache) -> None:
    answers = answers_for(demo_cache, None)
    assert UNKNOWN_REFUSAL in all_text(answers.command("follow 21", GUEST).message)
    assert answers.command("#21", GUEST).message.meta.get("view") == "detail"
