"""The request front in-process: nothing reaches Bolt before it is checked."""

from __future__ import annotations

import io
import json
import logging
from urllib.parse import urlencode

import pytest

from bot.slack.front import MAX_BODY_BYTES, SlackFront
from tests.fakes.signing import (
    block_action_payload,
    interactive_body,
    signed_bytes_headers,
    signed_headers,
    slash_command_body,
)
from tests.fakes.slack_api import FakeSlack
from tests.slack.support import StubAnswers, call

FORM = "application/x-www-form-urlencoded"
EVENTS = "/slack/events"


class Unreadable(io.RawIOBase):
    """A request body that fails the test if anyone reads it."""

    def read(self, size: int = -1) -> bytes:
        raise AssertionError("the body was read")


def command(slack: FakeSlack, text: str = "open", key: str = "k") -> str:
    return slash_command_body(text, response_url=slack.response_url(key))


def test_other_paths_and_methods(front: SlackFront) -> None:
    assert call(front, "GET", "/").status.startswith("404")
    assert call(front, "POST", "/healthz").status.startswith("404")
    answer = call(front, "GET", EVENTS)
    assert answer.status.startswith("405")
    assert answer.headers["allow"] == "POST"


def test_a_signed_command_reaches_the_listener(
    front: SlackFront, slack: FakeSlack, answers: StubAnswers
) -> None:
    body = command(slack, "open")
    answer = call(front, "POST", EVENTS, body.encode(), signed_headers(body, content_type=FORM))
    assert answer.status.startswith("200")
    assert answer.body == b""
    assert slack.wait_responses("k")[0].body["text"] == "answer to open"
    assert answers.asked == ["open"]


@pytest.mark.parametrize("timestamp", ["abc", "", "9" * 400])
def test_a_bad_timestamp_is_401_and_no_listener_or_error_handler_runs(
    front: SlackFront, slack: FakeSlack, answers: StubAnswers, timestamp: str
) -> None:
    body = command(slack)
    headers = {"Content-Type": FORM, "X-Slack-Request-Timestamp": timestamp}
    answer = call(front, "POST", EVENTS, body.encode(), headers)
    assert answer.status.startswith("401")
    assert answers.asked == []
    assert answers.errors == []
    assert slack.wait_responses("k", timeout=0.3) == []


def test_a_forged_signature_is_401(front: SlackFront, slack: FakeSlack) -> None:
    body = command(slack)
    headers = signed_headers(body, content_type=FORM, secret="not-ours")
    assert call(front, "POST", EVENTS, body.encode(), headers).status.startswith("401")


def test_a_large_declared_body_is_refused_unread(front: SlackFront) -> None:
    answer = call(
        front, "POST", EVENTS, stream=Unreadable(), content_length=str(MAX_BODY_BYTES + 1),
        headers={"Content-Type": FORM},
    )
    assert answer.status.startswith("413")


def test_a_body_without_length_is_read_only_up_to_the_limit(front: SlackFront) -> None:
    class Endless(io.RawIOBase):
        served = 0

        def read(self, size: int = -1) -> bytes:
            self.served += size
            return b"a" * size

    stream = Endless()
    environ_extra: dict[str, object] = {"wsgi.input_terminated": True}
    answer = call(
        _with_environ(front, environ_extra), "POST", EVENTS, stream=stream, content_length="",
        headers={"Content-Type": FORM},
    )
    assert answer.status.startswith("413")
    assert stream.served <= MAX_BODY_BYTES + 64 * 1024


def _with_environ(front: SlackFront, extra: dict[str, object]) -> object:
    def app(environ: dict[str, object], start_response: object) -> object:
        environ.update(extra)
        return front(environ, start_response)  # type: ignore[arg-type]

    return app


def test_a_replay_answers_200_empty_and_does_nothing(
    front: SlackFront, slack: FakeSlack, answers: StubAnswers
) -> None:
    body = command(slack, "open")
    headers = signed_headers(body, content_type=FORM)
    assert call(front, "POST", EVENTS, body.encode(), headers).status.startswith("200")
    replay = call(front, "POST", EVENTS, body.encode(), headers)
    assert replay.status.startswith("200")
    assert replay.body == b""
    assert len(slack.wait_responses("k", 2, timeout=0.5)) == 1
    assert answers.asked == ["open"]


NOT_A_PAYLOAD = {
    "payload-not-json": ("payload=notjson", FORM),
    "json-list": ("[1]", "application/json"),
    "payload-list": ("payload=%5B1%5D", FORM),
    "form-as-json": (urlencode({"command": "/releases", "text": "x"}), "application/json"),
}


@pytest.mark.parametrize("case", list(NOT_A_PAYLOAD))
def test_a_body_that_is_no_payload_is_400_with_one_log_line(
    front: SlackFront, answers: StubAnswers, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    body, content_type = NOT_A_PAYLOAD[case]
    caplog.set_level(logging.INFO)
    answer = call(
        front, "POST", EVENTS, body.encode(), signed_headers(body, content_type=content_type)
    )
    assert answer.status.startswith("400"), answer
    assert len(caplog.records) == 1, [r.getMessage() for r in caplog.records]
    assert caplog.records[0].exc_info is None
    assert answers.asked == []
    assert answers.errors == []


def _button(**changes: object) -> str:
    payload = block_action_payload("release_detail", "21", response_url="")
    payload.update(changes)
    return interactive_body(payload)


# Objects in Slack's envelope, of a shape Slack never sends: Slack shows the user an error for
# any status but 200, so they get 200, nothing or a clear ephemeral, and one log line.
MALFORMED_PAYLOADS = {
    "actions-empty": (_button(actions=[]), FORM),
    "actions-a-string": (interactive_body({"type": "block_actions", "actions": "x"}), FORM),
    "actions-not-objects": (interactive_body({"type": "block_actions", "actions": ["x"]}), FORM),
    "actions-null": (_button(actions=None), FORM),
    "action-id-a-number": (_button(actions=[{"action_id": 5, "value": "21"}]), FORM),
    "user-a-string": (
        interactive_body({"type": "message_action", "callback_id": "find_releases",
                          "user": "x"}),
        FORM,
    ),
    "channel-a-number": (
        interactive_body({"type": "message_action", "callback_id": "find_releases",
                          "user": "x", "message": "y", "channel": 3}),
        FORM,
    ),
    "command-channel-an-object": (
        json.dumps({"command": "/releases", "text": "x", "channel_id": {"id": 1},
                    "user_id": ["U1"]}),
        "application/json",
    ),
    "view-a-string": (
        interactive_body({"type": "view_submission", "view": "x", "user": {"id": "U1"}}),
        FORM,
    ),
    "event-a-string": (
        json.dumps({"type": "event_callback", "event": "x", "event_id": "Ev1"}),
        "application/json",
    ),
    "event-type-a-number": (
        json.dumps({"type": "event_callback", "event": {"type": 5}, "event_id": "Ev1"}),
        "application/json",
    ),
    "text-a-number": (json.dumps({"command": "/releases", "text": 5}), "application/json"),
}


@pytest.mark.parametrize("case", list(MALFORMED_PAYLOADS))
def test_a_malformed_signed_payload_is_200_with_one_log_line(
    front: SlackFront, answers: StubAnswers, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    body, content_type = MALFORMED_PAYLOADS[case]
    caplog.set_level(logging.INFO)
    answer = call(
        front, "POST", EVENTS, body.encode(), signed_headers(body, content_type=content_type)
    )
    assert answer.status.startswith("200"), answer
    assert b"Traceback" not in answer.body
    if answer.body:
        reply = json.loads(answer.body)
        assert reply["response_type"] == "ephemeral"
        assert "could not be read" in reply["text"]
    assert len(caplog.records) == 1, [r.getMessage() for r in caplog.records]
    assert caplog.records[0].exc_info is None
    assert answers.asked == []
    assert answers.errors == []


def test_signed_binary_is_400(front: SlackFront) -> None:
    body = b"\xff\xfe\x00"
    headers = signed_bytes_headers(body, content_type=FORM)
    assert call(front, "POST", EVENTS, body, headers).status.startswith("400")
