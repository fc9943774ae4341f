"""Members, guests and users of other organisations as users.info tells them, over real HTTP
to the Slack stand-in; a failure refuses the privileged actions and nothing else."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.app.caller import Caller
from bot.app.gate import Gate
from bot.app.policy import UNKNOWN_REFUSAL
from bot.slack.user_standing import audience_of, lookup_client, slack_audience
from tests.fakes.clock import FakeClock
from tests.fakes.slack_api import FakeSlack

HOST = Caller(team_id="T0001", user_id="U1", channel_id="C1")
GRID = Caller(team_id="T0001", enterprise_id="E0ORG", user_id="U1")


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.mark.parametrize(
    ("user", "caller", "audience"),
    [
        ({"team_id": "T0001"}, HOST, "member"),
        ({"team_id": "T0001", "is_restricted": True}, HOST, "guest"),
        ({"team_id": "T0001", "is_restricted": True, "is_ultra_restricted": True}, HOST, "guest"),
        ({"team_id": "T0001", "is_ultra_restricted": True}, HOST, "guest"),
        ({"team_id": "T0001", "is_stranger": True}, HOST, "external"),
        ({"team_id": "T0EXT"}, HOST, "external"),
        ({"team_id": "T0EXT", "is_restricted": True}, HOST, "external"),
        ({"team_id": "T0SIB", "enterprise_user": {"enterprise_id": "E0ORG"}}, GRID, "member"),
        ({"team_id": "E0ORG"}, GRID, "member"),
        ({"team_id": "T0EXT", "enterprise_user": {"enterprise_id": "E0OTHER"}}, GRID,
         "external"),
        ({}, HOST, "member"),  # a reduced profile says nothing against the payload
    ],
)
def test_audience_of_a_users_info_answer(
    user: dict[str, Any], caller: Caller, audience: str
) -> None:
    assert audience_of(user, caller) == audience


def test_a_guest_is_cached_per_team_and_user(slack: FakeSlack) -> None:
    clock = FakeClock()
    slack.script.users["U1"] = {"is_restricted": True}
    lookup = slack_audience(lookup_client("xoxb-t", slack.url), clock=clock)
    assert lookup(HOST) == "guest"
    assert lookup(HOST) == "guest"
    assert len(slack.calls_to("users.info")) == 1
    lookup(Caller(team_id="T0002", user_id="U1"))  # another installation: asked on its own
    assert len(slack.calls_to("users.info")) == 2
    slack.script.users["U1"] = {}
    clock.advance(301)
    assert lookup(HOST) == "member"


def test_a_failed_look_up_refuses_privileged_actions_only(
    slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    slack.script.users_errors["U1"] = "user_not_found"
    gate = Gate(slack_audience(lookup_client("xoxb-t", slack.url), clock=clock))
    with caplog.at_level(logging.WARNING):
        assert gate.refusal("subscribe", HOST) == UNKNOWN_REFUSAL
    assert "users.info for U1 failed (user_not_found)" in caplog.text
    assert gate.refusal("follow", HOST) == UNKNOWN_REFUSAL
    assert len(slack.calls_to("users.info")) == 1  # the failure is remembered briefly
    assert gate.refusal("lookup", HOST) is None
    assert gate.refusal("page", HOST) is None
    del slack.script.users_errors["U1"]
    clock.advance(21)
    assert gate.refusal("subscribe", HOST) is None


def test_a_slow_slack_is_given_up_within_the_bound(caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()

    class Hang(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            release.wait(10)

        do_POST = do_GET

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hang)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/api/"
        client = lookup_client("xoxb-t", url)
        assert isinstance(client, WebClient)
        assert client.timeout <= 2
        assert client.retry_handlers == []
        with caplog.at_level(logging.WARNING):
            assert slack_audience(client)(HOST) is None
        assert "users.info for U1 failed" in caplog.text
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def test_rate_limited_is_a_failure_at_once(slack: FakeSlack) -> None:
    slack.script.rate_limited.add("users.info")
    assert slack_audience(lookup_client("xoxb-t", slack.url))(HOST) is None
    assert len(slack.calls_to("users.info")) == 1
