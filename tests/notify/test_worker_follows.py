"""Followers' direct messages through the worker: demo API, real store, the Slack fake."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.app.finder import ReleaseFinder
from bot.cache.release_cache import ReleaseCache
from bot.demo import DemoApiServer
from bot.notify.store import Store
from bot.notify.worker import Worker
from tests.fakes.clock import FakeClock
from tests.fakes.slack_api import Call, FakeSlack
from tests.notify.test_worker import SETTINGS, _open_release, _subscribe, _web_client

TEAM, ALICE, BOB = "T1", "U0ALICE", "U0BOB"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def worker(store: Store, demo_cache: ReleaseCache, slack: FakeSlack, clock: FakeClock) -> Worker:
    return Worker(
        store, ReleaseFinder(demo_cache), _web_client(slack), settings=SETTINGS, clock=clock,
        holder_id="w1",
    )


def _dms(slack: FakeSlack, user: str) -> list[Call]:
    return [c for c in slack.calls_to("chat.postMessage") if c.args.get("channel") == f"D{user}"]


def test_a_follower_gets_each_change_as_a_direct_message_until_unfollowing(
    worker: Worker, store: Store, slack: FakeSlack, demo_api: DemoApiServer, clock: FakeClock
) -> None:
    target = _open_release(demo_api)
    store.follows.follow(TEAM, ALICE, target.id)
    worker.poll_once()  # the first poll: a baseline, for followers too

    demo_api.data.close(target.id)
    clock.advance(timedelta(minutes=1))
    report = worker.poll_once()
    assert (report.enqueued, report.posted) == (1, 1)
    [opened] = slack.calls_to("conversations.open")
    assert opened.args["users"] == ALICE
    [closed] = _dms(slack, ALICE)
    assert f"{target.name} closed" in closed.args["text"]
    assert target.group_id is not None
    assert demo_api.data.groups()[target.group_id] in str(closed.args["blocks"])  # named
    assert "thread_ts" not in closed.args
    assert f"unfollow {target.id}" in str(closed.args["blocks"])

    demo_api.data.rename(target.id, "R-FOLLOWED-RENAMED")
    clock.advance(timedelta(minutes=1))
    assert worker.poll_once().posted == 1
    assert "renamed (was" in _dms(slack, ALICE)[-1].args["text"]

    assert store.follows.unfollow(TEAM, ALICE, target.id)
    demo_api.data.open(target.id)
    clock.advance(timedelta(minutes=1))
    report = worker.poll_once()
    assert (report.events, report.posted) == (1, 0)
    assert len(_dms(slack, ALICE)) == 2


def test_a_new_hotfix_and_a_deletion_reach_followers_and_the_follow_ends(
    worker: Worker, store: Store, slack: FakeSlack, demo_api: DemoApiServer, clock: FakeClock
) -> None:
    target = _open_release(demo_api)
    store.follows.follow(TEAM, ALICE, target.id)
    store.follows.follow(TEAM, BOB, target.id)
    _subscribe(store, filters="all", events=("closed",))  # a channel that hears no hotfixes
    worker.poll_once()

    assert target.group_id is not None
    hotfix = demo_api.data.add(f"{target.name}-HF9", target.group_id, hotfix_of=target.id)
    clock.advance(timedelta(minutes=1))
    assert worker.poll_once().posted == 2
    for user in (ALICE, BOB):
        [message] = _dms(slack, user)
        assert f"New hotfix of {target.name}: {hotfix.name}" in message.args["text"]
        assert demo_api.data.groups()[target.group_id] in str(message.args["blocks"])
    assert [c for c in slack.calls_to("chat.postMessage") if c.args["channel"] == "C1"] == []

    demo_api.data.delete(target.id)
    clock.advance(timedelta(minutes=1))
    assert worker.poll_once().posted == 2
    last = _dms(slack, ALICE)[-1]
    assert f"{target.name} deleted" in last.args["text"]
    assert "no longer follow it" in str(last.args["blocks"])
    assert store.follows.all() == []

    demo_api.data.update(target.id, deleted=False)
    clock.advance(timedelta(minutes=1))
    assert worker.poll_once().events == 1
    assert len(_dms(slack, ALICE)) == 2  # the follow ended with the deletion


def test_a_user_slack_cannot_reach_costs_one_failed_message_and_holds_up_nobody(
    worker: Worker, store: Store, slack: FakeSlack, demo_api: DemoApiServer, clock: FakeClock
) -> None:
    target = _open_release(demo_api)
    store.follows.follow(TEAM, ALICE, target.id)
    store.follows.follow(TEAM, BOB, target.id)
    slack.script.dm_errors[ALICE] = "user_not_found"
    worker.poll_once()
    demo_api.data.close(target.id)
    clock.advance(timedelta(minutes=1))
    report = worker.poll_once()
    assert (report.posted, report.failed) == (1, 1)
    assert len(_dms(slack, BOB)) == 1
    clock.advance(timedelta(minutes=1))
    assert worker.poll_once().failed == 0  # not retried
