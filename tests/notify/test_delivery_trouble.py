"""`/releases subscriptions` says why a channel went quiet: the rows delivery gave up on, with
the reason, and a token Slack refused (which stops every channel), as the worker recorded them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from bot.app.answers import Answers, Caller
from bot.app.finder import ReleaseFinder
from bot.cache.release_cache import ReleaseCache
from bot.config import Settings
from bot.demo import DemoApiServer
from bot.notify.store import Store
from bot.notify.subscription_commands import SubscriptionCommands
from bot.notify.worker import Worker
from tests.fakes.clock import FakeClock
from tests.fakes.slack_api import FakeSlack
from tests.render.limits import all_text, assert_valid

SETTINGS = Settings(poll_interval_seconds=60, digest_grace_minutes=60)
TEAM, C1, C2 = "T1", "C1", "C2"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def _listing(store: Store, cache: ReleaseCache, clock: FakeClock, channel: str) -> str:
    service = SubscriptionCommands(store, settings=SETTINGS,
                                   group_names=ReleaseFinder(cache).group_names, clock=clock)
    answers = Answers(ReleaseFinder(cache), clock=clock, subscriptions=service)
    caller = Caller(team_id=TEAM, channel_id=channel, user_id="U0ALICE", user_name="alice")
    message = answers.command("subscriptions", caller).message
    assert_valid(message)
    return all_text(message)


def _worker_with_a_change(
    store: Store, cache: ReleaseCache, clock: FakeClock, demo_api: DemoApiServer,
    slack: FakeSlack,
) -> Worker:
    for channel in (C1, C2):
        store.subscriptions.add_change(team_id=TEAM, channel_id=channel, filters="open",
                                       created_by="U1")
    client = WebClient(token="xoxb-test", base_url=slack.url, timeout=2)
    worker = Worker(store, ReleaseFinder(cache), client, settings=SETTINGS, clock=clock,
                    holder_id="w1")
    worker.poll_once()
    first = next(r for r in demo_api.data.releases()
                 if not r.closed and not r.deleted and r.name != "Default Release")
    demo_api.data.rename(first.id, "Renamed For The List")
    return worker


def test_a_parked_row_is_listed_with_its_reason_in_its_channel_only(
    store: Store, demo_cache: ReleaseCache, clock: FakeClock, demo_api: DemoApiServer,
    slack: FakeSlack,
) -> None:
    worker = _worker_with_a_change(store, demo_cache, clock, demo_api, slack)
    slack.script.channel_errors[C1] = "msg_too_long"  # refused for good: parked at once
    report = worker.poll_once()
    assert (report.posted, report.failed) == (1, 1)
    text = _listing(store, demo_cache, clock, C1)
    assert "could not be posted" in text
    assert "msg_too_long" in text
    assert "could not be posted" not in _listing(store, demo_cache, clock, C2)


@pytest.mark.parametrize("error", ["token_revoked", "invalid_auth", "account_inactive"])
def test_a_refused_token_is_shown_until_a_post_gets_through(
    store: Store, demo_cache: ReleaseCache, clock: FakeClock, demo_api: DemoApiServer,
    slack: FakeSlack, error: str,
) -> None:
    worker = _worker_with_a_change(store, demo_cache, clock, demo_api, slack)
    assert "stopped posting" not in _listing(store, demo_cache, clock, C1)
    slack.script.chat_error = error
    assert worker.poll_once().posted == 0
    for channel in (C1, C2):  # every channel, though only the first post was refused
        text = _listing(store, demo_cache, clock, channel)
        assert "stopped posting" in text
        assert error in text
    slack.script.chat_error = None
    assert worker.poll_once().posted == 2
    assert "stopped posting" not in _listing(store, demo_cache, clock, C1)


def test_an_unreadable_refusal_record_does_not_break_the_list(
    store: Store, demo_cache: ReleaseCache, clock: FakeClock,
) -> None:
    from bot.notify.store.database import upsert
    from bot.notify.store.schema import worker_state
    from bot.notify.store.worker_status import REFUSAL_KEY

    with store.engine.begin() as conn:
        upsert(conn, worker_state, ("key",), {"key": REFUSAL_KEY, "value": "{not json"})
    assert store.worker_status.token_refused() is None
    assert "stopped posting" not in _listing(store, demo_cache, clock, C1)
