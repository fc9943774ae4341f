"""Listeners ack in the request thread and never wait for a work thread; full means "busy"."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from slack_bolt import App, BoltRequest

from bot.cache.replay import LocalReplayGuard
from bot.render.actions import ACTION_DETAIL
from bot.slack.front import SlackFront
from bot.slack.reply_delivery import BUSY_TEXT
from bot.slack.signature import SlackSignature
from tests.fakes.signing import (
    SIGNING_SECRET,
    block_action_payload,
    interactive_body,
    signed_headers,
    slash_command_body,
)
from tests.fakes.slack_api import FakeSlack
from tests.slack.support import StubAnswers, call, make_app, make_delivery

FORM = "application/x-www-form-urlencoded"
EVENTS = "/slack/events"


@pytest.fixture
def tiny(slack: FakeSlack, answers: StubAnswers) -> Iterator[SlackFront]:
    """One work thread and one waiting place: the third slow request finds the queue full."""
    delivery, http = make_delivery(slack.url, threads=1, limit=1)
    yield SlackFront(
        make_app(answers, delivery), SlackSignature(SIGNING_SECRET), LocalReplayGuard()
    )
    answers.gate.set()
    delivery.work.close(timeout=5)
    delivery.notices.close(timeout=5)
    http.close()


def send_command(
    front: SlackFront, slack: FakeSlack, text: str, key: str
) -> tuple[float, dict[str, Any]]:
    body = slash_command_body(text, response_url=slack.response_url(key))
    began = time.monotonic()
    answer = call(front, "POST", EVENTS, body.encode(), signed_headers(body, content_type=FORM))
    assert answer.status.startswith("200"), answer
    return time.monotonic() - began, json.loads(answer.body or b"{}")


def test_a_full_queue_acks_at_once_with_busy_and_the_rest_are_answered(
    tiny: SlackFront, slack: FakeSlack, answers: StubAnswers
) -> None:
    answers.gate.clear()  # every answer waits, as on a hung API
    first, _ = send_command(tiny, slack, "one", "k1")
    second, _ = send_command(tiny, slack, "two", "k2")
    third, busy = send_command(tiny, slack, "three", "k3")
    assert max(first, second, third) < 1.0  # nobody waited for a work thread
    assert busy == {"text": BUSY_TEXT, "response_type": "ephemeral"}
    answers.gate.set()
    assert slack.wait_responses("k1")[0].body["text"] == "answer to one"
    assert slack.wait_responses("k2")[0].body["text"] == "answer to two"
    assert slack.wait_responses("k3", timeout=0.5) == []
    assert answers.asked == ["one", "two"]


def test_a_click_on_a_full_queue_gets_the_busy_notice_at_its_response_url(
    tiny: SlackFront, slack: FakeSlack, answers: StubAnswers
) -> None:
    answers.gate.clear()
    send_command(tiny, slack, "one", "k1")
    send_command(tiny, slack, "two", "k2")
    body = interactive_body(
        block_action_payload(ACTION_DETAIL, "21", response_url=slack.response_url("click"))
    )
    answer = call(tiny, "POST", EVENTS, body.encode(), signed_headers(body, content_type=FORM))
    assert answer.status.startswith("200")
    notice = slack.wait_responses("click")[0].body
    assert notice["text"] == BUSY_TEXT
    assert notice["response_type"] == "ephemeral"
    assert notice["replace_original"] is False


def test_an_ack_does_not_wait_for_the_answer(
    front: SlackFront, slack: FakeSlack, answers: StubAnswers
) -> None:
    answers.gate.clear()
    seconds, body = send_command(front, slack, "slow", "k")
    assert seconds < 1.0
    assert body == {}
    assert slack.responses_to("k") == []
    answers.gate.set()
    assert slack.wait_responses("k")[0].body["text"] == "answer to slow"


def test_an_answer_that_fails_tells_the_user_with_a_reference(
    front: SlackFront, slack: FakeSlack, answers: StubAnswers
) -> None:
    def broken(text: str, caller: object) -> object:
        raise RuntimeError("boom")

    answers.command = broken  # type: ignore[assignment,method-assign]
    _, ack = send_command(front, slack, "x", "k")
    assert ack == {}
    told = slack.wait_responses("k")[0].body
    assert told["text"] == "Something went wrong on our side (ref ref1). Please try again."
    assert told["response_type"] == "ephemeral"
    assert [type(e) for e in answers.errors] == [RuntimeError]


def test_answers_run_on_work_threads_not_the_request_thread(
    front: SlackFront, slack: FakeSlack, answers: StubAnswers
) -> None:
    seen: list[str] = []
    original = answers.command

    def spy(text: str, caller: object) -> object:
        seen.append(threading.current_thread().name)
        return original(text, caller)  # type: ignore[arg-type]

    answers.command = spy  # type: ignore[assignment,method-assign]
    send_command(front, slack, "open", "k")
    slack.wait_responses("k")
    assert seen
    assert seen[0].startswith("test-answer")


@pytest.mark.parametrize("timestamp", ["abc", "", "9" * 400])
def test_the_error_handler_never_answers_a_request_nobody_verified(
    bolt: App, slack: FakeSlack, answers: StubAnswers, timestamp: str
) -> None:
    """Even handed to Bolt directly (no front), a request whose timestamp makes slack_sdk's
    verifier raise reaches the error handler, which must not post to its response_url."""
    body = slash_command_body("open", response_url=slack.response_url("probe"))
    response = bolt.dispatch(
        BoltRequest(
            body=body,
            headers={"content-type": FORM, "x-slack-request-timestamp": timestamp,
                     "x-slack-signature": "v0=00"},
        )
    )
    assert response.status == 401
    assert slack.wait_responses("probe", timeout=0.5) == []
    assert answers.asked == []
    assert answers.errors == []
