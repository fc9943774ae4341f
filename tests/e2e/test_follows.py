"""Following one release end to end: the Procfile's `web` and `worker` on one SQLite file.

The follow is a signed slash command to the web process; the worker polls the demo API and
sends the follower direct messages (conversations.open, then chat.postMessage to the channel
it returns) through the Slack stand-in. The Unfollow button of such a message, pressed as a
signed interaction, stops them. Nothing is timed: the test waits for worker rounds or states.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Notifier, all_text, new_key
from tests.e2e.test_notifications import add_release, command, wait_until
from tests.fakes.signing import block_action_payload, interactive_body, post_signed

pytestmark = pytest.mark.slow

USER = "U0USER"  # the user of every signed request
DM = f"D{USER}"  # the channel the Slack stand-in's conversations.open gives for USER


def direct_messages(notifier: Notifier) -> list[dict[str, Any]]:
    return [a.args for a in notifier.slack.accepted("chat.postMessage", DM)]


def test_a_follower_gets_direct_messages_until_pressing_unfollow(notifier: Notifier) -> None:
    slack, data = notifier.slack, notifier.demo.data
    release_id = add_release(notifier, "FOLLOW-E2E-A")
    notifier.wait_rounds(1)  # the worker's first poll is the baseline everyone starts from

    answer = command(notifier, "C7", f"follow {release_id}")
    assert answer.get("response_type") == "ephemeral", answer
    assert "You follow *FOLLOW-E2E-A*" in answer["text"]

    data.close(release_id)
    wait_until("the closing DM", lambda: len(direct_messages(notifier)) == 1, notifier)
    opened = slack.accepted("conversations.open")
    assert [a.args["users"] for a in opened] == [USER]
    [closed] = direct_messages(notifier)
    assert "FOLLOW-E2E-A closed" in closed["text"]
    assert slack.accepted("chat.postMessage", "C7") == []  # nothing in the channel

    # The DM's Unfollow button, pressed in the DM.
    unfollow = next(
        element
        for block in closed["blocks"] if block.get("type") == "actions"
        for element in block["elements"] if element["action_id"].startswith("release_unfollow")
    )
    key = new_key()
    payload = block_action_payload(
        unfollow["action_id"], unfollow["value"], response_url=notifier.slack.response_url(key),
        channel_id=DM,
    )
    response = post_signed(notifier.web.http, notifier.web.events_url, interactive_body(payload))
    assert response.status_code == 200, response.text
    assert "You no longer follow" in all_text(notifier.web.answer(key))
    assert "You follow no releases" in command(notifier, "C7", "following")["text"]

    data.open(release_id)
    data.rename(release_id, "FOLLOW-E2E-A2")
    notifier.wait_rounds(2)
    assert len(direct_messages(notifier)) == 1
    assert len(slack.accepted("conversations.open")) == 1


def test_a_deleted_release_ends_the_follow_with_one_last_message(notifier: Notifier) -> None:
    data = notifier.demo.data
    release_id = add_release(notifier, "FOLLOW-E2E-B")
    notifier.wait_rounds(1)
    command(notifier, "C8", f"follow {release_id}")

    data.delete(release_id)
    wait_until("the deletion DM", lambda: len(direct_messages(notifier)) == 1, notifier)
    [last] = direct_messages(notifier)
    assert "FOLLOW-E2E-B deleted" in last["text"]
    assert "no longer follow it" in all_text(last["blocks"])
    assert "You follow no releases" in command(notifier, "C8", "following")["text"]

    data.update(release_id, deleted=False)
    notifier.wait_rounds(2)
    assert len(direct_messages(notifier)) == 1
