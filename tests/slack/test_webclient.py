"""The Web API client on kept-alive connections, against the Slack stand-in over loopback:
calls share connections across threads that come and go, and slack_sdk's own handling of
429s, server errors, dropped and refused connections and proxies is what it was."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from urllib.error import URLError

import pytest
from slack_sdk.errors import SlackApiError

from bot.config import Secret, Settings
from bot.slack.webclient import KeptAliveWebClient, make_web_client
from tests.e2e.conftest import free_port
from tests.fakes.slack_api import FakeSlack


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def _client(url: str, retries: int = 0) -> KeptAliveWebClient:
    settings = Settings(slack_api_url=url, slack_bot_token=Secret("xoxb-test-token"))
    return make_web_client(settings, max_rate_limit_retries=retries)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy",
                 "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_calls_share_one_kept_alive_connection(slack: FakeSlack) -> None:
    client = _client(slack.url)
    assert client.auth_test()["ok"]
    for i in range(3):
        assert client.chat_postMessage(channel="C1", text=f"hello {i}")["ok"]
    slack.script.users_tz["U1"] = "Europe/Berlin"
    assert client.users_info(user="U1")["ok"]
    assert [c.method for c in slack.calls] == [
        "auth.test", "chat.postMessage", "chat.postMessage", "chat.postMessage", "users.info",
    ]
    assert [c.args["text"] for c in slack.calls_to("chat.postMessage")] == [
        "hello 0", "hello 1", "hello 2",
    ]
    assert {c.token for c in slack.calls} == {"xoxb-test-token"}
    assert slack.connections == 1
    client.close()


def test_threads_that_end_leave_their_connection_for_the_next(slack: FakeSlack) -> None:
    """The worker serves each batch of channels on a new pool of threads."""
    client = _client(slack.url)
    for i in range(5):
        thread = threading.Thread(
            target=lambda i=i: client.chat_postMessage(channel=f"C{i}", text="x")
        )
        thread.start()
        thread.join()
    assert len(slack.calls_to("chat.postMessage")) == 5
    assert slack.connections == 1
    start = threading.Barrier(4)

    def post() -> None:
        start.wait()
        for _ in range(3):
            client.chat_postMessage(channel="C9", text="y")

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(slack.calls_to("chat.postMessage")) == 17
    assert slack.connections <= 4  # at most one per thread posting at the same time
    client.close()


def test_a_429_is_slack_sdks_as_before(slack: FakeSlack) -> None:
    slack.script.rate_limit_next = 1
    slack.script.retry_after = 7
    with pytest.raises(SlackApiError) as caught:
        _client(slack.url).chat_postMessage(channel="C1", text="x")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "7"
    slack.script.rate_limit_next = 1
    slack.script.retry_after = 0
    assert _client(slack.url, retries=1).chat_postMessage(channel="C1", text="x")["ok"]


def test_a_server_error_is_an_api_error_with_its_status(slack: FakeSlack) -> None:
    slack.outage(seconds=30, status=503)
    with pytest.raises(SlackApiError) as caught:
        _client(slack.url).chat_postMessage(channel="C1", text="x")
    assert caught.value.response.status_code == 503
    assert caught.value.response["error"] == "fatal_error"


def test_a_refused_connection_is_a_urlerror_after_slack_sdks_retries() -> None:
    with pytest.raises(URLError):
        _client(f"http://127.0.0.1:{free_port()}/api/").auth_test()


def test_a_proxy_in_the_environment_sends_through_urllib(
    slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(URLError):  # the proxy is asked, and it is not there
        _client(slack.url).auth_test()
    assert slack.calls == []
