"""App Home: what it reads (cache, subscriptions through their commands), and its listeners."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, cast
from unittest.mock import Mock

import pytest
from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.app.answers import Caller, Reply, SubscriptionCommand
from bot.app.finder import ReleaseFinder
from bot.app.home import Home, UserChannels
from bot.cache.release_cache import ReleaseCache
from bot.cache.replay import LocalReplayGuard
from bot.demo.api_server import DemoApiServer
from bot.i18n import ENGLISH, Texts
from bot.notify.records import Subscription
from bot.notify.subscription_list import render_subscriptions
from bot.query import SubscriptionsCommand
from bot.render.errors import render_error
from bot.slack.home_listeners import (
    RATE_LIMITED,
    on_app_home_opened,
    on_home_refresh,
    user_channels,
)
from tests.fakes.clock import FakeClock
from tests.slack.support import stub_delivery

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


class FakeSubscriptions:
    """The Subscriptions protocol with one channel holding a subscription; records reads."""

    def __init__(self, channel_id: str = "C0SUBS", *, fail: bool = False) -> None:
        self.channel_id = channel_id
        self.fail = fail
        self.commands: list[tuple[SubscriptionCommand, Caller]] = []

    def handle(
        self, command: SubscriptionCommand, caller: Caller, t: Texts = ENGLISH
    ) -> Reply:
        self.commands.append((command, caller))
        if self.fail:
            raise RuntimeError("database is gone")
        subs = []
        if caller.channel_id == self.channel_id:
            subs = [
                Subscription(
                    id=7, team_id=caller.team_id, channel_id=caller.channel_id, kind="change",
                    filters="open group:DWH_GROUP", schedule=None, timezone=None, mention=None,
                    created_by="U0ADA", created_at=NOW,
                )
            ]
        return Reply(render_subscriptions(subs, NOW, t=t))

    def remove(self, subscription_id: int, caller: Caller, t: Texts = ENGLISH) -> Reply:
        raise AssertionError("App Home never removes anything")


@pytest.fixture
def finder(demo_cache: ReleaseCache) -> ReleaseFinder:
    return ReleaseFinder(demo_cache)


def _text(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def test_home_lists_the_subscriptions_of_the_users_channels_only(finder: ReleaseFinder) -> None:
    subs = FakeSubscriptions()
    home = Home(finder, clock=FakeClock(NOW), subscriptions=subs)
    view = home.view(Caller("T1", user_id="U1"), UserChannels(("C0OTHER", "C0SUBS")))
    text = _text(view)
    assert "<#C0SUBS>" in text
    assert "#7" in text
    assert "DWH_GROUP" in text
    assert "C0OTHER" not in text  # nothing there, so it is not shown
    assert "Remove" not in text  # the list's buttons belong to the channel, not to Home
    assert [c.channel_id for _, c in subs.commands] == ["C0OTHER", "C0SUBS"]
    assert all(isinstance(cmd, SubscriptionsCommand) for cmd, _ in subs.commands)


def test_home_opens_when_the_subscriptions_cannot_be_read(finder: ReleaseFinder) -> None:
    home = Home(finder, clock=FakeClock(NOW), subscriptions=FakeSubscriptions(fail=True))
    text = _text(home.view(Caller("T1", user_id="U1"), UserChannels(("C0SUBS",))))
    assert "could not be read" in text
    assert "DWH_GROUP" in text


def test_home_without_a_store_says_so(finder: ReleaseFinder) -> None:
    text = _text(Home(finder, clock=FakeClock(NOW)).view(Caller(user_id="U1"), UserChannels()))
    assert "not set up" in text


def test_home_reads_releases_from_the_cache(finder: ReleaseFinder, demo_api: DemoApiServer) -> None:
    home = Home(finder, clock=FakeClock(NOW))
    home.view(Caller(user_id="U1"), UserChannels())
    calls = demo_api.counts.total
    home.view(Caller(user_id="U2"), UserChannels())
    assert demo_api.counts.total == calls
    home.view(Caller(user_id="U2"), UserChannels(), refresh=True)  # the Refresh button
    assert demo_api.counts.total > calls


def test_home_with_the_api_down_and_nothing_held_still_opens(
    finder: ReleaseFinder, demo_api: DemoApiServer
) -> None:
    demo_api.switches.fail_next(1000, 503)
    text = _text(Home(finder, clock=FakeClock(NOW)).view(Caller(user_id="U1"), UserChannels()))
    assert "could not be read" in text
    assert "How to" in text


# ---- listeners ------------------------------------------------------------------------


def _slack_error(error: str) -> SlackApiError:
    response = SlackResponse(
        client=None, http_verb="POST", api_url="", req_args={}, data={"ok": False, "error": error},
        headers={}, status_code=200,
    )
    return SlackApiError(error, response)  # type: ignore[no-untyped-call]


def test_user_channels_follow_the_cursor_and_degrade_on_errors() -> None:
    client = Mock(WebClient)
    client.users_conversations.side_effect = [
        {"channels": [{"id": "C1"}], "response_metadata": {"next_cursor": "n1"}},
        {"channels": [{"id": "C2"}], "response_metadata": {"next_cursor": ""}},
    ]
    assert user_channels(client, "U1") == UserChannels(("C1", "C2"))
    assert client.users_conversations.call_args_list[1].kwargs["cursor"] == "n1"
    client.users_conversations.side_effect = _slack_error("missing_scope")
    assert user_channels(client, "U1") == UserChannels((), "missing_scope")


def _rate_limited() -> SlackApiError:
    response = SlackResponse(
        client=None, http_verb="POST", api_url="", req_args={},
        data={"ok": False, "error": "ratelimited"}, headers={"Retry-After": "30"}, status_code=429,
    )
    return SlackApiError("ratelimited", response)  # type: ignore[no-untyped-call]


def test_user_channels_rate_limited_keep_the_pages_read_and_say_so() -> None:
    client = Mock(WebClient)
    client.users_conversations.side_effect = [
        {"channels": [{"id": "C1"}], "response_metadata": {"next_cursor": "n1"}},
        _rate_limited(),
    ]
    channels = user_channels(client, "U1")
    assert channels.ids == ("C1",)
    assert channels.error == RATE_LIMITED
    assert len(RATE_LIMITED) <= 80  # shown whole in the Home's note


EVENT = {"type": "app_home_opened", "user": "U1", "tab": "home"}


def _home() -> Mock:
    home = Mock(Home)
    home.view.return_value = {"type": "home", "blocks": []}
    return home


def _client(channels: list[dict[str, str]] | None = None) -> Mock:
    client = Mock(WebClient)
    client.users_conversations.return_value = {"channels": channels or []}
    return client


def test_app_home_opened_acks_first_and_publishes_once_per_event_id() -> None:
    home, client = _home(), _client([{"id": "C1"}])
    delivery, work, _ = stub_delivery(client=client)
    seen = LocalReplayGuard()
    body = {"event_id": "Ev1", "team_id": "T1"}
    assert on_app_home_opened(home, delivery, seen, body, EVENT) is None  # acked, 200
    client.users_conversations.assert_not_called()  # nothing slow in the request's thread
    client.views_publish.assert_not_called()
    on_app_home_opened(home, delivery, seen, body, EVENT)  # Slack's retry
    assert work.run_all() == 2
    client.views_publish.assert_called_once_with(user_id="U1", view={"type": "home", "blocks": []})
    caller, channels = home.view.call_args.args
    assert caller == Caller(team_id="T1", user_id="U1")
    assert channels == UserChannels(("C1",))
    on_app_home_opened(home, delivery, seen, {"event_id": "Ev2"}, {**EVENT, "tab": "messages"})
    assert work.jobs == []


def test_a_retry_that_reaches_another_process_is_dropped_through_the_shared_guard() -> None:
    shared = LocalReplayGuard()  # what every process shares through Redis
    first, first_work, _ = stub_delivery(client=_client())
    second, second_work, _ = stub_delivery(client=_client())
    body = {"event_id": "Ev1", "team_id": "T1"}
    on_app_home_opened(_home(), first, shared, body, EVENT)
    on_app_home_opened(_home(), second, shared, body, EVENT)
    first_work.run_all()
    second_work.run_all()
    assert cast(Mock, first.client).views_publish.call_count == 1
    cast(Mock, second.client).views_publish.assert_not_called()


def test_a_full_queue_skips_the_home_and_lets_slack_send_the_event_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    home, client = _home(), _client()
    delivery, work, _ = stub_delivery(client=client, full=True)
    seen = LocalReplayGuard()
    body = {"event_id": "Ev1", "team_id": "T1"}
    response = on_app_home_opened(home, delivery, seen, body, EVENT)
    assert response is not None
    assert response.status == 503  # not 2xx: Slack delivers the event again
    assert "busy" in caplog.text
    work.full = False
    assert on_app_home_opened(home, delivery, seen, body, EVENT) is None  # the retry
    work.run_all()
    client.views_publish.assert_called_once()  # not taken for a duplicate of the skipped one


def test_a_failed_publish_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    client = _client()
    client.views_publish.side_effect = _slack_error("not_enabled")
    delivery, work, _ = stub_delivery(client=client)
    on_app_home_opened(_home(), delivery, LocalReplayGuard(), {"event_id": "Ev1"}, EVENT)
    work.run_all()
    assert "not_enabled" in caplog.text


def test_refresh_acks_first_and_publishes_fresh_data_on_a_work_thread() -> None:
    home, client = _home(), _client()
    delivery, work, _ = stub_delivery(client=client)
    ack = Mock(Ack)
    on_home_refresh(home, delivery, ack, {"user": {"id": "U1", "team_id": "T1"}})
    ack.assert_called_once_with()
    home.view.assert_not_called()
    work.run_all()
    assert home.view.call_args.kwargs["refresh"] is True
    client.views_publish.assert_called_once()


def test_refresh_on_a_full_queue_is_acked_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    home, client = _home(), _client()
    delivery, _, _ = stub_delivery(client=client, full=True)
    ack = Mock(Ack)
    on_home_refresh(home, delivery, ack, {"user": {"id": "U1", "team_id": "T1"}})
    ack.assert_called_once_with()
    home.view.assert_not_called()
    assert "refresh" in caplog.text


def test_errors_render_without_breaking_the_rows_reader() -> None:
    # A refusal or error reply from the commands has no rows: Home shows no channel for it.
    from bot.app.home import _subscription_rows

    assert _subscription_rows(render_error("nope").blocks) == ()


class RowsOnly(FakeSubscriptions):
    """A service whose rows come as data: Home must not read them out of its list message."""

    def rows(self, caller: Caller, t: Texts = ENGLISH) -> tuple[str, ...]:
        return ("*#7* · changes · open · group DWH_GROUP",) if caller.channel_id == "C0SUBS" else ()

    def handle(
        self, command: SubscriptionCommand, caller: Caller, t: Texts = ENGLISH
    ) -> Reply:
        raise AssertionError("Home reads the rows, not the list message")


def test_home_shows_the_rows_the_service_gives_as_data(finder: ReleaseFinder) -> None:
    subs = RowsOnly()
    home = Home(finder, clock=FakeClock(NOW), subscriptions=subs, rows=subs)
    text = _text(home.view(Caller("T1", user_id="U1"), UserChannels(("C0OTHER", "C0SUBS"))))
    assert "<#C0SUBS>" in text
    assert "*#7* · changes · open · group DWH_GROUP" in text
    assert "C0OTHER" not in text
