"""The web process answers each person in their language: German for a user whose Slack
locale (users.info, asked with include_locale) is `de-DE`, English as before for everyone
else, and the person's own choice (`/releases language`) over both."""

from __future__ import annotations

import uuid
from typing import Any

from tests.e2e.conftest import WebProcess, all_text, new_key
from tests.fakes.signing import event_body, post_event, post_signed, slash_command_body


def _user() -> str:
    return f"U{uuid.uuid4().hex[:8].upper()}"


def _ask(web: WebProcess, text: str, user: str) -> dict[str, Any]:
    key = new_key()
    body = slash_command_body(text, response_url=web.slack.response_url(key), user_id=user)
    response = post_signed(web.http, web.events_url, body)
    assert response.status_code == 200, response.text
    return web.answer(key)


def test_a_german_slack_user_is_answered_in_german(web: WebProcess) -> None:
    german, english = _user(), _user()
    web.slack.script.users_locale[german] = "de-DE"
    web.slack.script.users_locale[english] = "en-US"

    listing = all_text(_ask(web, "open", german))
    assert "Offene Releases" in listing, web.log()
    assert "Im Channel teilen" in listing
    assert "Open releases" not in listing
    assert "Share in channel" not in listing
    assert "Hilfe: Filter" in all_text(_ask(web, "hilfe filters", german))
    assert "Kein Release namens `R5999`" in all_text(_ask(web, "R5999", german))

    answer = all_text(_ask(web, "open", english))
    assert "Open releases" in answer
    assert "Share in channel" in answer
    asked = [c.args for c in web.slack.calls_to("users.info") if c.args.get("user") == german]
    assert asked
    assert str(asked[0].get("include_locale")).lower() in ("1", "true")


def test_the_own_choice_wins_over_the_slack_locale(web: WebProcess) -> None:
    user = _user()
    web.slack.script.users_locale[user] = "de-DE"
    said = all_text(_ask(web, "language en", user))
    assert "From now on I answer you in English." in said
    assert "Open releases" in all_text(_ask(web, "open", user))
    said = all_text(_ask(web, "sprache auto", user))
    assert "Slack-Sprache" in said
    assert "Offene Releases" in all_text(_ask(web, "offen", user))


def test_app_home_is_published_in_the_viewers_language(web: WebProcess) -> None:
    user = _user()
    web.slack.script.users_locale[user] = "de-DE"
    web.slack.script.user_channels[user] = ["C0CHAN"]
    event = {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home",
             "event_ts": "1700000000.000200"}
    body = event_body(event, event_id=f"Ev{uuid.uuid4().hex[:10]}")
    assert post_event(web.http, web.events_url, body).status_code == 200

    def published(_slack: object) -> bool:
        return any(c.args.get("user_id") == user for c in web.slack.calls_to("views.publish"))

    assert web.slack.wait_for(published), web.log()
    (call,) = [c for c in web.slack.calls_to("views.publish") if c.args.get("user_id") == user]
    text = all_text(call.args["view"])
    assert "Offene Releases nach Gruppe" in text
    assert "Aktualisieren" in text
