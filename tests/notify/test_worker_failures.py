"""Delivery under Slack failures that the worker must survive without losing, reordering or
endlessly retrying a notification."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from slack_sdk import WebClient

from bot.app.finder import ReleaseFinder
from bot.cache.release_cache import ReleaseCache
from bot.config import Settings
from bot.demo import DemoApiServer
from bot.notify.store import Store
from bot.notify.worker import Worker
from bot.notify.worker.backoff import MIN_ATTEMPTS
from tests.e2e.conftest import free_port
from tests.fakes.clock import FakeClock
from tests.fakes.slack_api import FakeSlack
from tests.notify.support import delivery_state

SETTINGS = Settings(poll_interval_seconds=60, digest_grace_minutes=60)
TEAM, C1, C2 = "T1", "C1", "C2"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    with fake:
        yield fake


def _worker(store: Store, cache: ReleaseCache, url: str, clock: FakeClock) -> Worker:
    # No retry handlers (slack_sdk's default ConnectionErrorRetryHandler would sleep about a
    # second before retrying each refused connection): the worker's own retries are tested.
    client = WebClient(token="xoxb-test", base_url=url, timeout=2, retry_handlers=[])
    return Worker(store, ReleaseFinder(cache), client, settings=SETTINGS, clock=clock,
                  holder_id="w1")


def _open(demo_api: DemoApiServer) -> list[int]:
    return [r.id for r in demo_api.data.releases()
            if not r.closed and not r.deleted and r.name != "Default Release"]


def _posts(slack: FakeSlack, channel: str | None = None) -> list[str]:
    return [str(c.args["text"]) for c in slack.calls_to("chat.postMessage")
            if channel is None or c.args.get("channel") == channel]


def test_an_exception_while_posting_is_parked_after_the_attempt_limit(
    store: Store, demo_cache: ReleaseCache, clock: FakeClock, demo_api: DemoApiServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store.subscriptions.add_change(team_id=TEAM, channel_id=C1, filters="open",
                                   created_by="U1")
    # Nothing listens there: every post fails with a connection error, not a Slack error.
    worker = _worker(store, demo_cache, f"http://127.0.0.1:{free_port()}/api/", clock)
    worker.poll_once()
    demo_api.data.close(_open(demo_api)[0])
    with caplog.at_level(logging.WARNING, logger="bot.notify.worker"):
        for _ in range(MIN_ATTEMPTS + 3):
            worker.poll_once()
            clock.advance(timedelta(hours=3))
    (row_id,) = [r.id for r in store.outbox.failed_deliveries(TEAM, C1)]
    assert delivery_state(store, row_id) == "failed"
    (parked,) = store.outbox.failed_deliveries(TEAM, C1)
    assert "URLError" in (parked.last_error or "")
    assert caplog.text.count("parked as failed") == 1


def test_a_row_waiting_to_be_retried_holds_back_the_channels_later_rows(
    store: Store, demo_cache: ReleaseCache, clock: FakeClock, demo_api: DemoApiServer,
    slack: FakeSlack,
) -> None:
    store.subscriptions.add_change(team_id=TEAM, channel_id=C1, filters="open",
                                   created_by="U1")
    store.subscriptions.add_change(team_id=TEAM, channel_id=C2, filters="open",
                                   created_by="U1")
    worker = _worker(store, demo_cache, slack.url, clock)
    worker.poll_once()
    target = _open(demo_api)[0]
    demo_api.data.rename(target, "First")
    slack.script.channel_errors_next[C1] = ["internal_error"]
    worker.poll_once()  # C1's first rename fails and waits up to 1 s; C2 gets it
    demo_api.data.rename(target, "Second")
    worker.poll_once()  # the second rename must not overtake the waiting first one in C1
    assert [t for t in _posts(slack, C1) if "Second" in t] == []
    clock.advance(timedelta(seconds=31))
    worker.poll_once()
    c1 = _posts(slack, C1)
    assert len(c1) == 3, c1  # the failed try, then both in order
    assert "First" in c1[1], c1
    assert "Second" not in c1[1], c1
    assert "Second" in c1[2], c1
    updates = [c for c in slack.calls_to("chat.update") if c.args["channel"] == C1]
    assert updates
    assert "Second" in str(updates[-1].args["text"])  # the parent shows the latest state


def test_retry_after_that_cannot_be_read_is_a_long_back_off(
    store: Store, demo_cache: ReleaseCache, clock: FakeClock, demo_api: DemoApiServer,
    slack: FakeSlack,
) -> None:
    store.subscriptions.add_change(team_id=TEAM, channel_id=C1, filters="open",
                                   created_by="U1")
    worker = _worker(store, demo_cache, slack.url, clock)
    worker.poll_once()
    demo_api.data.close(_open(demo_api)[0])
    slack.script.rate_limit_next = 1
    slack.script.retry_after = "inf"
    worker.poll_once()
    assert store.outbox.failed_deliveries(TEAM, C1) == []  # not dropped
    clock.advance(timedelta(minutes=2))
    assert worker.poll_once().posted == 0
    clock.advance(timedelta(minutes=10))
    assert worker.poll_once().posted == 1


def _two_channels_and_a_change(
    store: Store, demo_cache: ReleaseCache, clock: FakeClock, demo_api: DemoApiServer,
    slack: FakeSlack,
) -> Worker:
    for channel in (C1, C2):
        store.subscriptions.add_change(team_id=TEAM, channel_id=channel, filters="open",
                                       created_by="U1")
    worker = _worker(store, demo_cache, slack.url, clock)
    worker.poll_once()
    demo_api.data.rename(_open(demo_api)[0], "First")
    return worker


@pytest.mark.parametrize("error", ["account_inactive", "token_revoked", "invalid_auth"])
def test_a_dead_token_stops_posting_without_pausing_channels(
    store: Store, demo_cache: ReleaseCache, clock: FakeClock, demo_api: DemoApiServer,
    slack: FakeSlack, caplog: pytest.LogCaptureFixture, error: str,
) -> None:
    worker = _two_channels_and_a_change(store, demo_cache, clock, demo_api, slack)
    slack.script.chat_error = error
    with caplog.at_level(logging.ERROR, logger="bot.notify.worker"):
        report = worker.poll_once()
    assert report.posted == 0
    assert report.paused_channels == ()
    assert len(_posts(slack)) == 1  # stopped at the first refusal
    assert not any(s.paused for s in store.subscriptions.all("change"))
    assert f"Slack refused the bot's token ({error})" in caplog.text
    slack.script.chat_error = None
    assert worker.poll_once().posted == 2  # nothing lost


@pytest.mark.parametrize("error", ["thread_not_found", "message_not_found"])
def test_a_deleted_parent_is_posted_again_then_the_reply_in_its_thread(
    store: Store, demo_cache: ReleaseCache, clock: FakeClock, demo_api: DemoApiServer,
    slack: FakeSlack, error: str,
) -> None:
    worker = _two_channels_and_a_change(store, demo_cache, clock, demo_api, slack)
    worker.poll_once()
    release_id = _open(demo_api)[0]
    first_parent = store.outbox.get_parent(TEAM, C1, release_id)
    assert first_parent is not None
    slack.script.gone_messages[first_parent] = error  # someone deleted the parent message
    demo_api.data.rename(release_id, "Second")
    assert worker.poll_once().posted == 2
    new_parent = store.outbox.get_parent(TEAM, C1, release_id)
    assert new_parent is not None
    assert new_parent != first_parent
    tries = [c for c in slack.calls_to("chat.postMessage") if c.args["channel"] == C1]
    refused, parent, reply = tries[-3:]
    assert refused.args["thread_ts"] == first_parent
    assert "thread_ts" not in parent.args  # the parent again, with the latest state
    assert "Second" in str(parent.args["text"])
    assert reply.args["thread_ts"] == new_parent  # then the change, in the new thread
    assert "Second" in str(reply.args["text"])
    assert not [c for c in slack.calls_to("chat.update") if c.args["ts"] == first_parent]
    demo_api.data.rename(release_id, "Third")
    worker.poll_once()
    later = [c for c in slack.calls_to("chat.postMessage") if c.args["channel"] == C1][-1]
    assert later.args["thread_ts"] == new_parent


def test_refused_blocks_still_deliver_the_text(
    store: Store, demo_cache: ReleaseCache, clock: FakeClock, demo_api: DemoApiServer,
    slack: FakeSlack,
) -> None:
    worker = _two_channels_and_a_change(store, demo_cache, clock, demo_api, slack)
    slack.script.channel_errors_next[C1] = ["invalid_blocks"]
    assert worker.poll_once().posted == 2
    tries = [c for c in slack.calls_to("chat.postMessage") if c.args["channel"] == C1]
    assert len(tries) == 2
    assert "blocks" in tries[0].args
    assert "blocks" not in tries[1].args
    assert "First" in str(tries[1].args["text"])


def test_the_retry_base_after_a_slack_failure_comes_from_the_settings(
    store: Store, demo_cache: ReleaseCache, clock: FakeClock, demo_api: DemoApiServer,
    slack: FakeSlack,
) -> None:
    store.subscriptions.add_change(team_id=TEAM, channel_id=C1, filters="open",
                                   created_by="U1")
    client = WebClient(token="xoxb-test", base_url=slack.url, timeout=2)
    settings = Settings(poll_interval_seconds=60, digest_grace_minutes=60,
                        slack_retry_base_seconds=2)
    # The jitter draws the longest wait each time, so the ceilings show.
    worker = Worker(store, ReleaseFinder(cache=demo_cache), client, settings=settings,
                    clock=clock, holder_id="w1", jitter=lambda low, high: high)
    worker.poll_once()
    demo_api.data.close(_open(demo_api)[0])
    slack.script.channel_errors_next[C1] = ["internal_error", "internal_error"]
    worker.poll_once()  # first try fails: wait up to 2 s
    clock.advance(timedelta(seconds=1))
    assert worker.poll_once().posted == 0
    clock.advance(timedelta(seconds=1.5))
    worker.poll_once()  # second try fails: wait 4 s
    clock.advance(timedelta(seconds=3))
    assert worker.poll_once().posted == 0
    clock.advance(timedelta(seconds=1.5))
    assert worker.poll_once().posted == 1


def test_the_outbox_names_when_the_next_back_off_ends_and_the_worker_posts_then(
    store: Store, demo_cache: ReleaseCache, clock: FakeClock, demo_api: DemoApiServer,
    slack: FakeSlack,
) -> None:
    sub = store.subscriptions.add_change(team_id=TEAM, channel_id=C1, filters="open",
                                         created_by="U1")
    client = WebClient(token="xoxb-test", base_url=slack.url, timeout=2)
    worker = Worker(store, ReleaseFinder(cache=demo_cache), client, settings=SETTINGS,
                    clock=clock, holder_id="w1", jitter=lambda low, high: high)
    worker.poll_once()
    assert store.outbox.next_retry_at() is None
    demo_api.data.close(_open(demo_api)[0])
    slack.script.channel_errors_next[C1] = ["internal_error"]
    worker.poll_once()
    assert store.outbox.next_retry_at() == clock.now() + timedelta(seconds=1)
    assert worker.deliver_due()  # not due yet: nothing posted, no poll
    assert len(_posts(slack, C1)) == 1
    clock.advance(timedelta(seconds=1))
    polls = demo_api.counts.count(path="/api/v1/releases", method="GET", params={})
    assert worker.deliver_due()
    assert len(_posts(slack, C1)) == 2
    assert demo_api.counts.count(path="/api/v1/releases", method="GET", params={}) == polls
    assert store.outbox.next_retry_at() is None
    # A paused subscription's waiting row is no reason to wake up.
    demo_api.data.close(_open(demo_api)[0])
    slack.script.channel_errors_next[C1] = ["internal_error"]
    worker.poll_once()
    assert store.outbox.next_retry_at() is not None
    store.subscriptions.pause_channel(TEAM, C1, "paused by a test")
    assert store.outbox.next_retry_at() is None
    assert store.subscriptions.get(TEAM, C1, sub.id) is not None
