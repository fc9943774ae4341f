"""The Bolt app as build_app makes it: it acts only on what the request front verified."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, cast
from unittest.mock import Mock

import pytest
from slack_bolt import App, BoltRequest

from bot.app.answers import Answers
from bot.cache.replay import LocalReplayGuard
from bot.config import Secret, Settings
from bot.slack.app import build_app
from bot.slack.front import SlackFront
from bot.slack.reply_delivery import Delivery
from bot.slack.signature import SlackSignature
from tests.fakes.signing import SIGNING_SECRET, signed_headers, slash_command_body
from tests.fakes.slack_api import FakeSlack
from tests.slack.support import StubAnswers, call

FORM = "application/x-www-form-urlencoded"
EVENTS = "/slack/events"


class SurfaceAnswers(StubAnswers):
    """StubAnswers with what the other surfaces read when build_app registers them."""

    finder: Any = Mock()
    subscriptions: Any = None
    follows: Any = None

    def now(self) -> datetime:
        return datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def answers() -> Iterator[StubAnswers]:
    stub = SurfaceAnswers()
    yield stub
    stub.gate.set()


@pytest.fixture
def app(slack: FakeSlack, answers: StubAnswers, delivery: Delivery) -> App:
    settings = Settings(
        slack_bot_token=Secret("xoxb-test"),
        slack_signing_secret=Secret(SIGNING_SECRET),
        slack_api_url=slack.url + "/api/",
    )
    return build_app(settings, cast(Answers, answers), delivery, replay=LocalReplayGuard())


def _command(slack: FakeSlack, key: str) -> tuple[str, dict[str, str]]:
    body = slash_command_body("open", response_url=slack.response_url(key))
    return body, signed_headers(body, content_type=FORM)


def test_a_command_through_the_front_is_answered(
    app: App, slack: FakeSlack, answers: StubAnswers
) -> None:
    front = SlackFront(app, SlackSignature(SIGNING_SECRET), LocalReplayGuard())
    body, headers = _command(slack, "k")
    assert call(front, "POST", EVENTS, body.encode(), headers).status.startswith("200")
    assert slack.wait_responses("k")[0].body["text"] == "answer to open"
    assert answers.asked == ["open"]


def test_a_correctly_signed_request_handed_to_bolt_without_the_front_does_nothing(
    app: App, slack: FakeSlack, answers: StubAnswers, caplog: pytest.LogCaptureFixture
) -> None:
    body, headers = _command(slack, "direct")
    with caplog.at_level(logging.WARNING, logger="bot.slack.app"):
        response = app.dispatch(BoltRequest(body=body, headers=dict[str, Any](headers)))
    assert response.status == 401
    assert "the request front did not verify" in caplog.text
    # A command the front lets through afterwards is answered; the refused one never is.
    front = SlackFront(app, SlackSignature(SIGNING_SECRET), LocalReplayGuard())
    body, headers = _command(slack, "after")
    assert call(front, "POST", EVENTS, body.encode(), headers).status.startswith("200")
    slack.wait_responses("after")
    assert slack.responses_to("direct") == []
    assert answers.asked == ["open"]
    assert answers.errors == []


def test_a_forged_signature_through_the_front_is_refused_before_bolt(
    app: App, slack: FakeSlack, answers: StubAnswers
) -> None:
    front = SlackFront(app, SlackSignature(SIGNING_SECRET), LocalReplayGuard())
    body = slash_command_body("open", response_url=slack.response_url("forged"))
    headers = signed_headers(body, secret="not-the-secret", content_type=FORM)
    assert call(front, "POST", EVENTS, body.encode(), headers).status.startswith("401")
    assert answers.asked == []


def test_socket_mode_envelopes_need_no_signature(
    app: App, slack: FakeSlack, answers: StubAnswers
) -> None:
    body = slash_command_body("open", response_url=slack.response_url("socket"))
    response = app.dispatch(BoltRequest(body=body, mode="socket_mode"))
    assert response.status == 200
    assert slack.wait_responses("socket")[0].body["text"] == "answer to open"
    assert answers.asked == ["open"]
