"""A release whose first post in a channel still waits for a retry already has its thread
there: later changes follow it, even those that no longer match the channel's filter."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.config import Settings
from bot.notify.store import Store
from bot.notify.worker import Worker
from tests.fakes.clock import FakeClock
from tests.notify.outbox_model import CrashingSlack, ListFinder
from tests.notify.support import release

SETTINGS = Settings(poll_interval_seconds=60, digest_grace_minutes=60)


def test_a_change_after_a_first_post_that_waits_for_a_retry_reaches_the_channel(
    store: Store, clock: FakeClock,
) -> None:
    store.subscriptions.add_change(team_id="T1", channel_id="C1", filters="open",
                                   created_by="U1")
    slack, finder = CrashingSlack(store), ListFinder()
    worker = Worker(store, finder, slack, settings=SETTINGS, clock=clock, holder_id="w1")
    r1 = release(1)
    finder.listed = (r1, release(2))
    worker.poll_once()  # the baseline
    closed = replace(r1, closed=True)
    finder.listed = (closed, release(2))
    slack.fail_next.append(TimeoutError("The read operation timed out"))
    clock.advance(timedelta(seconds=61))
    worker.poll_once()  # "closed" fails and waits 30 s
    finder.listed = (replace(closed, name="R1-final"), release(2))
    clock.advance(timedelta(seconds=61))
    worker.poll_once()  # a closed release renamed: no match for `open`, but C1 owes a post
    assert [(p.kind, p.thread_ts is None) for p in slack.posts] == [
        ("closed", True), ("renamed", False)
    ]
    assert slack.posts[1].thread_ts == slack.posts[0].ts
    assert slack.shown[("C1", slack.posts[0].ts)].name == "R1-final"
