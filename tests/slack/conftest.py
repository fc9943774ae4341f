"""The request front, the listeners and their delivery, in-process against FakeSlack."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_bolt import App

from bot.cache.replay import LocalReplayGuard
from bot.slack.front import SlackFront
from bot.slack.reply_delivery import Delivery
from bot.slack.signature import SlackSignature
from tests.fakes.signing import SIGNING_SECRET
from tests.fakes.slack_api import FakeSlack
from tests.slack.support import StubAnswers, make_app, make_delivery


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def answers() -> Iterator[StubAnswers]:
    stub = StubAnswers()
    yield stub
    stub.gate.set()


@pytest.fixture
def delivery(slack: FakeSlack) -> Iterator[Delivery]:
    made, http = make_delivery(slack.url)
    yield made
    made.work.close(timeout=5)
    made.notices.close(timeout=5)
    http.close()


@pytest.fixture
def bolt(answers: StubAnswers, delivery: Delivery) -> App:
    return make_app(answers, delivery)


@pytest.fixture
def front(bolt: App) -> SlackFront:
    return SlackFront(bolt, SlackSignature(SIGNING_SECRET), LocalReplayGuard())
