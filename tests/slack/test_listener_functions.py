"""The listeners as plain functions: a mocked ack, a stub Delivery, no Bolt and no HTTP."""

from __future__ import annotations

from typing import Any, cast
from unittest.mock import Mock

from slack_bolt import Ack, BoltContext

from bot.app.answers import Answers
from bot.render.actions import ACTION_DETAIL, ACTION_OPEN_SEARCH
from bot.render.search_modal import OUTDATED_TEXT
from bot.slack.listeners import (
    LISTENER_ACCEPTED,
    on_button,
    on_command,
    on_retired_form_submitted,
)
from bot.slack.reply_delivery import BUSY_TEXT
from tests.slack.support import StubAnswers, held_triggers, stub_delivery

URL = "https://hooks.slack.com/commands/T1/1/abc"
COMMAND = {"command": "/releases", "text": "open", "user_id": "U1", "team_id": "T1",
           "channel_id": "C1", "response_url": URL, "trigger_id": "t1"}


def _posts(delivery: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(c.args[0], c.args[1]) for c in delivery.response_urls.post.call_args_list]


def test_a_command_is_acked_empty_and_answered_on_the_work_queue() -> None:
    answers = StubAnswers()
    delivery, work, _ = stub_delivery()
    ack, context = Mock(Ack), BoltContext()
    on_command(cast(Answers, answers), delivery, ack, COMMAND, context)
    ack.assert_called_once_with()
    assert context[LISTENER_ACCEPTED] is True
    assert answers.asked == []  # nothing answered in the request's thread
    work.run_all()
    ((url, body),) = _posts(delivery)
    assert url == URL
    assert body["text"] == "answer to open"
    assert body["response_type"] == "ephemeral"


def test_a_command_on_a_full_queue_is_acked_with_the_busy_text() -> None:
    answers = StubAnswers()
    delivery, _, _ = stub_delivery(full=True)
    ack = Mock(Ack)
    on_command(cast(Answers, answers), delivery, ack, COMMAND, BoltContext())
    assert ack.call_count == 1
    assert ack.call_args.kwargs == {"text": BUSY_TEXT, "response_type": "ephemeral"}
    assert answers.asked == []


def test_a_click_on_a_full_queue_gets_the_busy_notice_from_the_notice_queue() -> None:
    delivery, _, notices = stub_delivery(full=True)
    ack = Mock(Ack)
    body = {"type": "block_actions", "user": {"id": "U1"}, "response_url": URL,
            "actions": [{"action_id": ACTION_DETAIL, "value": "21"}]}
    on_button(cast(Answers, StubAnswers()), delivery, ack, body, BoltContext())
    ack.assert_called_once_with()
    notices.run_all()
    ((url, notice),) = _posts(delivery)
    assert (url, notice["text"], notice["replace_original"]) == (URL, BUSY_TEXT, False)


def test_a_search_button_is_answered_on_the_trigger_lane_when_the_work_queue_is_full() -> None:
    answers = StubAnswers()
    delivery, work, notices = stub_delivery(full=True)
    ack = Mock(Ack)
    body = {"type": "block_actions", "user": {"id": "U1"}, "response_url": URL,
            "trigger_id": "t1",
            "actions": [{"action_id": f"{ACTION_OPEN_SEARCH}:2", "value": '{"v":1,"q":""}'}]}
    on_button(cast(Answers, answers), delivery, ack, body, BoltContext())
    ack.assert_called_once_with()
    assert (work.jobs, notices.jobs) == ([], [])  # no busy notice: it did not need the queue
    assert held_triggers(delivery).run_all() == 1
    assert answers.asked == [f"button {ACTION_OPEN_SEARCH}:2"]


def test_a_retired_search_form_is_replaced_by_one_saying_to_open_a_new_form() -> None:
    """A form of the app's first version: its metadata names a response URL, never read."""
    ack, context = Mock(Ack), BoltContext()
    on_retired_form_submitted(ack, context)
    ack.assert_called_once()
    assert ack.call_args.kwargs["response_action"] == "update"
    view = ack.call_args.kwargs["view"]
    assert view["type"] == "modal"
    assert [b["text"]["text"] for b in view["blocks"]] == [OUTDATED_TEXT]
    assert "submit" not in view  # nothing to submit: it can only be closed
    assert context[LISTENER_ACCEPTED] is True
