"""Who is speaking, end to end: signed requests to the Procfile's web process, users.info and
the answers through the Slack stand-in.

The bot token's workspace is T0001 (the stand-in's auth.test). A user of another organisation
(home team T0EXT, as Slack names it in a shared channel) pages through a list already posted
and nothing more; a guest of T0001 looks up but does not subscribe.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.app.policy import EXTERNAL_REFUSAL, GUEST_REFUSAL, SHARED_CHANNEL_REFUSAL
from bot.render import actions
from tests.e2e.conftest import WebProcess, all_text, new_key
from tests.fakes.signing import block_action_payload, post_signed, slash_command_body

pytestmark = pytest.mark.slow

EXT_TEAM, EXT_USER, GUEST = "T0EXT", "U0EXT", "U0GUEST"


@pytest.fixture
def guest(web: WebProcess) -> Iterator[str]:
    web.slack.script.users[GUEST] = {"is_restricted": True}
    yield GUEST
    web.slack.script.users.pop(GUEST, None)


def ask(web: WebProcess, text: str, *, user: str, team: str = "T0001") -> str:
    key = new_key()
    body = slash_command_body(text, response_url=web.slack.response_url(key), user_id=user,
                              team_id=team, channel_id="CSHARED")
    response = post_signed(web.http, web.events_url, body)
    assert response.status_code == 200, response.text
    return all_text(web.answer(key))


def subscriptions_of_the_channel(web: WebProcess) -> str:
    return ask(web, "subscriptions", user="U0USER")


def test_an_external_user_is_refused_subscribe_and_follow_in_one_line(web: WebProcess) -> None:
    def standing_lookups() -> int:  # not the language's users.info, which asks for the locale
        return sum(1 for c in web.slack.calls_to("users.info") if "include_locale" not in c.args)

    before = standing_lookups()
    for text in ("subscribe group:DWH_GROUP", "follow 21", "open"):
        key = new_key()
        body = slash_command_body(text, response_url=web.slack.response_url(key),
                                  user_id=EXT_USER, team_id=EXT_TEAM, channel_id="CSHARED")
        assert post_signed(web.http, web.events_url, body).status_code == 200
        answer = web.answer(key)
        assert answer.get("response_type") == "ephemeral", answer
        assert EXTERNAL_REFUSAL in answer["text"], (text, answer)
        assert "\n" not in answer["text"].strip()  # one line
    assert "has no subscriptions" in subscriptions_of_the_channel(web)
    assert standing_lookups() == before  # the payload said enough


def test_an_external_user_pages_a_list_already_posted(web: WebProcess) -> None:
    value = actions.encode_page("all", 2)
    assert value is not None
    key = new_key()
    payload = block_action_payload(
        actions.ACTION_PAGE, value, response_url=web.slack.response_url(key),
        channel_id="CSHARED", user_id=EXT_USER,
    )
    payload["user"]["team_id"] = EXT_TEAM  # team.id stays the app's side: T0001
    assert web.interact(payload).status_code == 200
    answer = web.answer(key)
    assert answer.get("replace_original") is True, answer
    assert "page 2" in all_text(answer).lower()

    key = new_key()
    follow = block_action_payload(
        actions.ACTION_FOLLOW, actions.encode_release_ref(21),
        response_url=web.slack.response_url(key), channel_id="CSHARED", user_id=EXT_USER,
    )
    follow["user"]["team_id"] = EXT_TEAM
    assert web.interact(follow).status_code == 200
    assert EXTERNAL_REFUSAL in all_text(web.answer(key))


def test_a_guest_looks_up_but_is_refused_subscribe(web: WebProcess, guest: str) -> None:
    assert GUEST_REFUSAL in ask(web, "subscribe group:DWH_GROUP hotfix:yes", user=guest)
    assert "has no subscriptions" in subscriptions_of_the_channel(web)
    assert any(c.args.get("user") == guest for c in web.slack.calls_to("users.info"))
    looked_up = ask(web, "21", user=guest)
    assert GUEST_REFUSAL not in looked_up
    assert "R" in looked_up


def test_a_member_still_subscribes(web: WebProcess) -> None:
    answer = ask(web, "subscribe group:DWH_GROUP closed", user="U0MEMBER")
    assert "subscribed this channel" in answer, answer
    ask(web, "unsubscribe all", user="U0MEMBER")


def test_a_channel_shared_with_other_organisations_gets_news_once_allowed(
    web: WebProcess,
) -> None:
    web.slack.script.ext_shared.add("CEXT")
    try:
        def say(text: str) -> str:
            key = new_key()
            body = slash_command_body(text, response_url=web.slack.response_url(key),
                                      user_id="U0MEMBER", channel_id="CEXT")
            assert post_signed(web.http, web.events_url, body).status_code == 200
            return all_text(web.answer(key))

        assert SHARED_CHANNEL_REFUSAL in say("subscribe group:DWH_GROUP")
        assert SHARED_CHANNEL_REFUSAL in say("digest daily 09:00")
        assert "21" in say("21")  # look-ups are for the caller alone: they go ahead
        assert "allowed subscriptions" in say("allow-shared-channel")
        assert "subscribed this channel" in say("subscribe group:DWH_GROUP")
        assert "took back" in say("disallow-shared-channel")
        assert SHARED_CHANNEL_REFUSAL in say("subscribe group:DWH_GROUP open")
        assert "removed all" in say("unsubscribe all")  # removing is never blocked
    finally:
        web.slack.script.ext_shared.discard("CEXT")
