"""Distributed mode: the shared client has no token; a request's calls carry its team's."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator

import pytest
from slack_bolt import BoltContext, BoltRequest, BoltResponse
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.slack.tenant_token import BindTenantToken
from bot.slack.webclient import make_web_client
from bot.slack.work import WorkQueue
from tests.fakes.slack_api import FakeSlack


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.script.require_token = True
        yield fake


def test_a_call_that_names_no_token_is_refused(slack: FakeSlack) -> None:
    client = make_web_client(Settings(mode="distributed", slack_api_url=slack.url))
    assert client.token is None
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel="C1", text="hello")
    assert refused.value.response["error"] == "not_authed"
    client.chat_postMessage(token="xoxb-team-one", channel="C1", text="hello")
    assert [call.token for call in slack.calls_to("chat.postMessage")] == [None, "xoxb-team-one"]


def _request(token: str) -> BoltRequest:
    request = BoltRequest(body="{}", headers={"content-type": ["application/json"]})
    request.context["bot_token"] = token
    return request


def test_the_work_queue_carries_each_requests_token(slack: FakeSlack) -> None:
    client = make_web_client(Settings(mode="distributed", slack_api_url=slack.url))
    work = WorkQueue(2, 8, name="test")
    done = threading.Barrier(3, timeout=10)

    def listener(channel: str) -> BoltResponse:
        def answer() -> None:
            client.chat_postMessage(channel=channel, text="hi")
            done.wait()
        assert work.submit(answer)
        return BoltResponse(status=200, body="")

    bind = BindTenantToken()

    def request(token: str, channel: str) -> None:  # as Bolt runs a chain: next, then on
        resp = BoltResponse(status=200)
        bind.process(req=_request(token), resp=resp, next=lambda: resp)
        listener(channel)

    for token, channel in (("xoxb-one", "C1"), ("xoxb-two", "C2")):
        contextvars.copy_context().run(request, token, channel)  # one request thread each
    done.wait()
    work.close(timeout=5)
    seen = {call.args["channel"]: call.token for call in slack.calls_to("chat.postMessage")}
    assert seen == {"C1": "xoxb-one", "C2": "xoxb-two"}
    with pytest.raises(SlackApiError):  # outside any request: no token at all
        client.chat_postMessage(channel="C3", text="hi")
    assert BoltContext().bot_token is None
