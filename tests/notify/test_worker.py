"""The worker end to end: the demo MetaKraftwerk API, a real store, the Slack fake over HTTP.

Time in the store and for digests is an injected clock; the API and Slack are real servers on
loopback. Each test changes the demo data between polls, as MetaKraftwerk users would.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.app.finder import ReleaseFinder
from bot.cache.release_cache import ReleaseCache
from bot.config import Secret, Settings
from bot.demo import DemoApiServer
from bot.demo.data import DemoData
from bot.metakraftwerk.models import Release
from bot.notify.records import Snapshot
from bot.notify.store import Store
from bot.notify.store.schema import digest_runs
from bot.notify.worker import LEASE_NAME, Worker, glitch_reason
from bot.schedule import parse_schedule
from bot.slack.webclient import make_web_client
from tests.conftest import TEST_DEADLINE, ClientFactory
from tests.fakes.clock import FakeClock
from tests.fakes.slack_api import Call, FakeSlack
from tests.notify.conftest import StoreFactory
from tests.notify.support import T0, delivery_state, end_lock_sessions, release

TEAM, C1, C2 = "T1", "C1", "C2"
SETTINGS = Settings(poll_interval_seconds=60, digest_grace_minutes=60)
TEAM_MENTION = "<!subteam^S0DWH|@dwh-team>"

MakeWorker = Callable[..., Worker]


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def _web_client(slack: FakeSlack, retries: int = 3) -> WebClient:
    settings = Settings(slack_api_url=slack.url, slack_bot_token=Secret("xoxb-test-token"))
    return make_web_client(settings, max_rate_limit_retries=retries)


@pytest.fixture
def make_worker(
    make_store: StoreFactory, demo_cache: ReleaseCache, slack: FakeSlack, clock: FakeClock
) -> MakeWorker:
    """A worker over its own store connection (as a separate process would have)."""

    def make(
        holder: str = "w1", *, store: Store | None = None, retries: int = 3,
        finder: ReleaseFinder | None = None,
    ) -> Worker:
        return Worker(
            store or make_store(), finder or ReleaseFinder(demo_cache), _web_client(slack, retries),
            settings=SETTINGS, clock=clock, holder_id=holder,
        )

    return make


@pytest.fixture
def worker(make_worker: MakeWorker, store: Store) -> Worker:
    return make_worker(store=store)


def _subscribe(store: Store, channel: str = C1, filters: str = "open", **kw: Any) -> int:
    return store.subscriptions.add_change(
        team_id=TEAM, channel_id=channel, filters=filters, created_by="U0ALICE", **kw
    ).id


def _open_release(api: DemoApiServer) -> Release:
    return next(
        r for r in api.data.releases()
        if not r.closed and not r.deleted and r.name != "Default Release" and r.end_date
    )


def _posts(slack: FakeSlack, channel: str | None = None) -> list[Call]:
    return [
        c for c in slack.calls_to("chat.postMessage")
        if channel is None or c.args.get("channel") == channel
    ]


# ---- change notifications -----------------------------------------------------------------


def test_the_first_poll_is_a_baseline(worker: Worker, store: Store, slack: FakeSlack) -> None:
    _subscribe(store)
    report = worker.poll_once()
    assert report.leader
    assert report.changes_checked
    assert report.events == 0
    assert _posts(slack) == []
    assert store.outbox.load_snapshot().taken_at is not None


def test_a_new_subscription_starts_with_a_baseline(
    worker: Worker, store: Store, slack: FakeSlack, demo_api: DemoApiServer
) -> None:
    worker.poll_once()
    _subscribe(store)
    demo_api.data.close(_open_release(demo_api).id)
    assert worker.poll_once().events == 1
    assert _posts(slack) == []  # its first poll only noted where things stood


def test_close_then_dates_change_parent_then_thread(
    worker: Worker, store: Store, slack: FakeSlack, demo_api: DemoApiServer, clock: FakeClock
) -> None:
    _subscribe(store, filters="all", mention=TEAM_MENTION)
    worker.poll_once()
    target = _open_release(demo_api)
    demo_api.data.close(target.id)

    clock.advance(timedelta(minutes=1))
    report = worker.poll_once()
    assert (report.events, report.enqueued, report.posted) == (1, 1, 1)
    (parent,) = _posts(slack)
    assert parent.args["channel"] == C1
    assert parent.args["text"].startswith(TEAM_MENTION)
    assert f"{target.name} closed" in parent.args["text"]
    assert "thread_ts" not in parent.args
    assert parent.token == "xoxb-test-token"
    parent_ts = store.outbox.get_parent(TEAM, C1, target.id)
    assert parent_ts is not None

    clock.advance(timedelta(minutes=1))
    assert worker.poll_once().posted == 0  # nothing new: nothing posted
    assert len(_posts(slack)) == 1

    assert target.end_date is not None
    new_end = target.end_date + timedelta(days=7)
    demo_api.data.set_dates(target.id, end=new_end)
    clock.advance(timedelta(minutes=1))
    assert worker.poll_once().posted == 1
    _, reply = _posts(slack)
    assert reply.args["thread_ts"] == parent_ts
    assert "dates changed: end" in reply.args["text"]
    assert new_end.astimezone(UTC).strftime("%Y-%m-%d") in reply.args["text"]
    (update,) = slack.calls_to("chat.update")
    assert update.args["ts"] == parent_ts
    assert update.args["channel"] == C1
    assert str(int(new_end.timestamp())) in str(update.args["blocks"])  # the current dates
    assert "Closed" in str(update.args["blocks"])


def test_open_releases_are_followed_and_their_threads_kept_current(
    worker: Worker, store: Store, slack: FakeSlack, demo_api: DemoApiServer
) -> None:
    _subscribe(store)  # the default: open releases
    worker.poll_once()
    target = _open_release(demo_api)
    assert target.end_date is not None
    demo_api.data.set_dates(target.id, end=target.end_date + timedelta(days=1))
    worker.poll_once()
    (parent,) = _posts(slack)
    assert "dates changed" in parent.args["text"]
    demo_api.data.close(target.id)
    worker.poll_once()
    _, reply = _posts(slack)
    assert reply.args["thread_ts"] == store.outbox.get_parent(TEAM, C1, target.id)
    assert reply.args["text"] == f"{target.name} closed"
    (update,) = slack.calls_to("chat.update")
    assert ":lock: Closed" in str(update.args["blocks"])
    # closed, it no longer matches `open`, but its thread here hears later edits
    demo_api.data.set_dates(target.id, end=target.end_date + timedelta(days=9))
    worker.poll_once()
    _, _, late = _posts(slack)
    assert late.args["thread_ts"] == store.outbox.get_parent(TEAM, C1, target.id)
    assert "dates changed" in late.args["text"]


def test_each_channel_gets_its_own_parent(
    worker: Worker, store: Store, slack: FakeSlack, demo_api: DemoApiServer
) -> None:
    _subscribe(store, C1)
    _subscribe(store, C1, filters="all")  # two matching subscriptions, one post
    _subscribe(store, C2)
    worker.poll_once()
    target = _open_release(demo_api)
    demo_api.data.close(target.id)
    worker.poll_once()
    assert len(_posts(slack, C1)) == 1
    assert len(_posts(slack, C2)) == 1
    assert store.outbox.get_parent(TEAM, C1, target.id) != store.outbox.get_parent(
        TEAM, C2, target.id
    )


def test_unmatched_changes_are_not_posted(
    worker: Worker, store: Store, slack: FakeSlack, demo_api: DemoApiServer
) -> None:
    _subscribe(store, filters="open group:NO_SUCH_GROUP")
    worker.poll_once()
    demo_api.data.close(_open_release(demo_api).id)
    assert worker.poll_once().events == 1
    assert _posts(slack) == []


# ---- restarts and a second worker ------------------------------------------------------------


def test_a_restart_between_polls_posts_nothing_twice(
    make_worker: MakeWorker, store: Store, slack: FakeSlack, demo_api: DemoApiServer
) -> None:
    _subscribe(store)
    first = make_worker("w1")
    first.poll_once()
    demo_api.data.close(_open_release(demo_api).id)
    first.poll_once()
    first.close()
    assert len(_posts(slack)) == 1

    restarted = make_worker("w2")
    report = restarted.poll_once()
    assert report.leader
    assert report.posted == 0
    assert len(_posts(slack)) == 1


def test_a_change_committed_before_a_crash_is_posted_once_after_it(
    make_worker: MakeWorker, store: Store, slack: FakeSlack, demo_api: DemoApiServer,
    clock: FakeClock,
) -> None:
    _subscribe(store)
    first = make_worker("w1")
    first.poll_once()
    demo_api.data.close(_open_release(demo_api).id)
    slack.script.chat_error = "invalid_auth"  # the round stops before anything is posted
    report = first.poll_once()
    assert (report.enqueued, report.posted) == (1, 0)
    # the process dies here without handing back its lease
    end_lock_sessions(store, LEASE_NAME)
    slack.script.chat_error = None
    refused = len(_posts(slack))

    successor = make_worker("w2")
    if store.engine.dialect.name == "sqlite":
        assert not successor.poll_once().leader  # waits for the dead worker's lease
    clock.advance(timedelta(minutes=4))
    assert successor.poll_once().posted == 1
    assert successor.poll_once().posted == 0
    assert len(_posts(slack)) == refused + 1


def test_a_row_left_mid_post_is_posted_again_and_logged(
    make_worker: MakeWorker, store: Store, slack: FakeSlack, demo_api: DemoApiServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _subscribe(store)
    worker = make_worker("w1")
    worker.poll_once()
    demo_api.data.close(_open_release(demo_api).id)
    slack.script.chat_error = "invalid_auth"
    worker.poll_once()
    slack.script.chat_error = None
    (row,) = store.outbox.pending_deliveries()
    assert store.outbox.claim_delivery(row.id)  # as if the worker died while Slack had the post
    worker.close()

    successor = make_worker("w2")
    with caplog.at_level(logging.WARNING, logger="bot.notify.worker"):
        assert successor.poll_once().posted == 1
    assert f"delivery {row.id} (channel {C1}" in caplog.text
    assert "may show it twice" in caplog.text
    assert delivery_state(store, row.id) == "sent"


def test_a_second_worker_never_double_posts(
    make_worker: MakeWorker, store: Store, slack: FakeSlack, demo_api: DemoApiServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _subscribe(store)
    workers = [make_worker("w1"), make_worker("w2")]

    def together() -> list[bool]:
        barrier = threading.Barrier(len(workers))
        leaders: dict[str, bool] = {}

        def run(w: Worker) -> None:
            barrier.wait()
            leaders[w.holder_id] = w.poll_once().leader

        threads = [threading.Thread(target=run, args=(w,)) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        return [leaders[w.holder_id] for w in workers]

    with caplog.at_level(logging.INFO, logger="bot.notify.worker"):
        first = together()
    assert sorted(first) == [False, True]
    leader, waiter = (workers[0], workers[1]) if first[0] else (workers[1], workers[0])
    assert f"worker {waiter.holder_id} waits: {leader.holder_id} runs the rounds" in caplog.text

    targets = [r for r in demo_api.data.releases()
               if not r.closed and not r.deleted and r.name != "Default Release"][:3]
    for target in targets:
        demo_api.data.close(target.id)
    assert together() == first
    posts = _posts(slack)
    assert sorted(c.args["text"] for c in posts) == sorted(
        f"{t.name} closed ({demo_api.data.groups()[t.group_id or 0]})" for t in targets
    )
    assert store.leases.holder(LEASE_NAME) == leader.holder_id

    leader.close()  # a clean stop hands over at once
    assert waiter.poll_once().leader
    assert len(_posts(slack)) == len(targets)


# ---- Slack failures -----------------------------------------------------------------------


def test_not_in_channel_pauses_that_channel_only(
    worker: Worker, store: Store, slack: FakeSlack, demo_api: DemoApiServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    lost = _subscribe(store, C1)
    kept = _subscribe(store, C2)
    worker.poll_once()
    slack.script.channel_errors[C1] = "not_in_channel"
    first, second = [r for r in demo_api.data.releases() if not r.closed and not r.deleted][1:3]
    demo_api.data.close(first.id)
    demo_api.data.close(second.id)
    with caplog.at_level(logging.WARNING, logger="bot.notify.worker"):
        report = worker.poll_once()
    assert report.paused_channels == (C1,)
    assert len(_posts(slack, C1)) == 1  # tried once, then the channel's rows were cancelled
    assert len(_posts(slack, C2)) == 2
    paused = store.subscriptions.get(TEAM, C1, lost)
    assert paused is not None
    assert paused.paused
    assert "not_in_channel" in (paused.paused_reason or "")
    ok = store.subscriptions.get(TEAM, C2, kept)
    assert ok is not None
    assert not ok.paused
    assert caplog.text.count("Slack says not_in_channel") == 1

    demo_api.data.open(first.id)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot.notify.worker"):
        worker.poll_once()
    assert len(_posts(slack, C1)) == 1  # not retried forever
    assert len(_posts(slack, C2)) == 3
    assert "not_in_channel" not in caplog.text


def test_a_rate_limit_is_waited_out(
    worker: Worker, store: Store, slack: FakeSlack, demo_api: DemoApiServer
) -> None:
    _subscribe(store)
    worker.poll_once()
    demo_api.data.close(_open_release(demo_api).id)
    slack.script.rate_limit_next = 1
    slack.script.retry_after = 1
    assert worker.poll_once().posted == 1
    assert len(_posts(slack)) == 2  # the 429, then the post after Retry-After


def test_a_rate_limited_channel_keeps_its_order(
    make_worker: MakeWorker, store: Store, slack: FakeSlack, demo_api: DemoApiServer,
    clock: FakeClock,
) -> None:
    _subscribe(store, C1)
    worker = make_worker(store=store, retries=0)
    worker.poll_once()
    first, second = [r for r in demo_api.data.releases()
                     if not r.closed and not r.deleted and r.name != "Default Release"][:2]
    demo_api.data.close(first.id)
    demo_api.data.close(second.id)
    slack.script.rate_limit_next = 1
    slack.script.retry_after = 2
    assert worker.poll_once().posted == 0
    assert len(_posts(slack)) == 1  # the 429; the channel's next row waited its turn
    clock.advance(timedelta(seconds=2))
    assert worker.poll_once().posted == 2
    assert [c.args["text"].split(" closed")[0] for c in _posts(slack)[1:]] == [
        first.name, second.name,
    ]


def test_a_rate_limit_beyond_the_retries_waits_for_the_next_round(
    make_worker: MakeWorker, store: Store, slack: FakeSlack, demo_api: DemoApiServer,
    clock: FakeClock,
) -> None:
    _subscribe(store, C1)
    _subscribe(store, C2)
    worker = make_worker(store=store, retries=0)
    worker.poll_once()
    demo_api.data.close(_open_release(demo_api).id)
    slack.script.rate_limit_next = 1
    slack.script.retry_after = 7
    report = worker.poll_once()
    assert report.posted == 1  # the other channel is not held up
    assert store.outbox.pending_deliveries() == []  # the limited one waits for Retry-After
    clock.advance(timedelta(seconds=3))
    assert worker.poll_once().posted == 0
    assert len(_posts(slack)) == 2  # the 429 and the other channel's post
    clock.advance(timedelta(seconds=5))
    assert worker.poll_once().posted == 1
    assert {c.args["channel"] for c in _posts(slack)[1:]} == {C1, C2}


def test_a_bad_token_stops_the_round_and_loses_nothing(
    worker: Worker, store: Store, slack: FakeSlack, demo_api: DemoApiServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _subscribe(store, C1)
    _subscribe(store, C2)
    worker.poll_once()
    demo_api.data.close(_open_release(demo_api).id)
    slack.script.chat_error = "invalid_auth"
    with caplog.at_level(logging.ERROR, logger="bot.notify.worker"):
        report = worker.poll_once()
    assert report.posted == 0
    assert len(_posts(slack)) == 1  # stopped after the first refusal
    assert "invalid_auth" in caplog.text
    assert "xoxb-test-token" not in caplog.text
    slack.script.chat_error = None
    assert worker.poll_once().posted == 2


# ---- the API's answers -------------------------------------------------------------------------


def test_stale_data_is_never_news_and_the_change_is_not_lost(
    worker: Worker, store: Store, slack: FakeSlack, demo_api: DemoApiServer
) -> None:
    _subscribe(store)
    worker.poll_once()
    demo_api.data.close(_open_release(demo_api).id)
    demo_api.switches.fail_next(1000, path="/api/v1/releases")
    report = worker.poll_once()
    assert report.skipped_reason == "stale data"
    assert not report.changes_checked
    assert _posts(slack) == []
    demo_api.switches.reset()
    report = worker.poll_once()
    assert (report.events, report.posted) == (1, 1)


def test_a_failed_api_is_skipped(
    make_worker: MakeWorker, make_client: ClientFactory, store: Store, slack: FakeSlack,
    demo_api: DemoApiServer,
) -> None:
    _subscribe(store)
    cache = ReleaseCache(make_client(), ttl_seconds=60, wait_timeout=TEST_DEADLINE + 2)
    cold = ReleaseFinder(cache)  # nothing held yet, so nothing stale to fall back on
    worker = make_worker(store=store, finder=cold)
    demo_api.switches.fail_next(1000, path="/api/v1/releases")
    report = worker.poll_once()
    assert report.skipped_reason == "api failed"
    assert store.outbox.load_snapshot().taken_at is None
    assert _posts(slack) == []


def test_an_empty_answer_after_many_releases_is_a_glitch(
    worker: Worker, store: Store, slack: FakeSlack, demo_api: DemoApiServer
) -> None:
    _subscribe(store, filters="all deleted:yes")
    worker.poll_once()
    before = len(store.outbox.load_snapshot().releases)
    full = demo_api.data
    demo_api.data = DemoData([], full.groups())
    report = worker.poll_once()
    assert report.skipped_reason == "looks glitched"
    assert report.events == 0
    assert len(store.outbox.load_snapshot().releases) == before
    demo_api.data = full
    assert worker.poll_once().events == 0
    assert _posts(slack) == []


def test_a_glitch_that_persists_is_believed(
    worker: Worker, store: Store, demo_api: DemoApiServer
) -> None:
    _subscribe(store)
    worker.poll_once()
    demo_api.data = DemoData([], demo_api.data.groups())
    assert worker.poll_once().skipped_reason == "looks glitched"
    assert worker.poll_once().skipped_reason == "looks glitched"
    report = worker.poll_once()
    assert report.changes_checked
    assert report.events > 0


@pytest.mark.parametrize(
    ("before", "after", "glitch"),
    [
        (3, 0, True),
        (2, 0, False),  # too few to tell
        (10, 4, True),
        (10, 5, False),
        (9, 1, False),
        (0, 0, False),
    ],
)
def test_glitch_rules(before: int, after: int, glitch: bool) -> None:
    old = Snapshot({i: release(i) for i in range(before)}, T0)
    polled = [release(i) for i in range(after)]
    assert (glitch_reason(old, polled) is not None) is glitch
    assert glitch_reason(Snapshot({}, None), []) is None  # the first poll


# ---- digests ----------------------------------------------------------------------------------


def _digest(store: Store, days: str = "weekdays", at: str = "09:00") -> int:
    return store.subscriptions.add_digest(
        team_id=TEAM, channel_id=C1, filters="open group:DWH_GROUP",
        schedule=parse_schedule(days, at), timezone="Europe/Berlin", created_by="U0ALICE",
    ).id


def test_a_digest_comes_at_its_minute_once(
    worker: Worker, store: Store, slack: FakeSlack, clock: FakeClock
) -> None:
    monday_0900_berlin = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    clock.set(monday_0900_berlin - timedelta(hours=1))
    _digest(store)
    assert worker.poll_once().digests_enqueued == 0
    clock.set(monday_0900_berlin - timedelta(seconds=1))
    worker.poll_once()
    assert _posts(slack) == []

    clock.set(monday_0900_berlin + timedelta(seconds=30))
    report = worker.poll_once()
    assert (report.digests_enqueued, report.posted) == (1, 1)
    (post,) = _posts(slack)
    assert post.args["channel"] == C1
    assert post.args["blocks"][0]["text"]["text"].startswith("Digest · open · group DWH_GROUP")
    assert "thread_ts" not in post.args

    clock.advance(timedelta(minutes=5))
    assert worker.poll_once().digests_enqueued == 0
    assert len(_posts(slack)) == 1


def test_a_digest_missed_beyond_the_grace_is_skipped(
    worker: Worker, store: Store, slack: FakeSlack, clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock.set(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))  # Sunday
    sub = _digest(store)
    tuesday_0900_berlin = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    clock.set(tuesday_0900_berlin + timedelta(minutes=61))  # the worker was down on Monday too
    with caplog.at_level(logging.WARNING, logger="bot.notify.worker"):
        report = worker.poll_once()
    assert (report.digests_enqueued, report.digests_skipped) == (0, 2)
    assert _posts(slack) == []
    assert f"digest {sub} (channel {C1}) for 2026-03-03 skipped: 61 min late" in caplog.text
    with store.engine.connect() as conn:
        outcomes = conn.execute(
            select(digest_runs.c.local_date, digest_runs.c.outcome).order_by(digest_runs.c.id)
        ).all()
    assert [o for _, o in outcomes] == ["skipped", "skipped"]
    assert worker.poll_once().digests_skipped == 0


def test_a_late_digest_within_the_grace_is_sent(
    worker: Worker, store: Store, slack: FakeSlack, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    _digest(store, days="mon")
    clock.set(datetime(2026, 3, 2, 8, 59, tzinfo=UTC))  # 59 minutes late
    assert worker.poll_once().digests_enqueued == 1
    assert len(_posts(slack)) == 1


def test_no_digest_on_other_days(worker: Worker, store: Store, slack: FakeSlack,
                                 clock: FakeClock) -> None:
    clock.set(datetime(2026, 3, 6, 12, 0, tzinfo=UTC))  # Friday
    _digest(store)
    clock.set(datetime(2026, 3, 7, 8, 30, tzinfo=UTC))  # Saturday 09:30 in Berlin
    assert worker.poll_once().digests_enqueued == 0
    assert _posts(slack) == []


# ---- running ----------------------------------------------------------------------------------


def test_run_polls_until_stopped_and_hands_back_the_lease(
    make_store: StoreFactory, demo_cache: ReleaseCache, slack: FakeSlack, clock: FakeClock,
    store: Store,
) -> None:
    _subscribe(store)
    fast = Settings(poll_interval_seconds=0.05)
    worker = Worker(make_store(), ReleaseFinder(demo_cache), _web_client(slack),
                    settings=fast, clock=clock, holder_id="runner")
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        assert _wait(lambda: store.outbox.load_snapshot().taken_at is not None)
        assert store.leases.holder(LEASE_NAME) == "runner"
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert store.leases.holder(LEASE_NAME) is None


def _wait(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    done = threading.Event()
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return True
        done.wait(0.05)
    return predicate()


def test_worker_once_hands_back_the_lease(sqlite_url: str, slack: FakeSlack) -> None:
    """`releases-bot worker --once` (e.g. from cron) must not block the next run for a TTL."""
    from bot.run import run_worker

    settings = Settings(
        slack_bot_token=Secret("xoxb-test-token"), slack_api_url=slack.url,
        database_url=sqlite_url,
    )
    assert run_worker(settings, once=True, demo=True) == 0
    with Store.from_url(sqlite_url) as store:
        assert store.outbox.load_snapshot().taken_at is not None
        assert store.leases.holder(LEASE_NAME) is None


def test_a_round_reads_pending_rows_in_batches_of_one_size_each_row_once(
    make_store: StoreFactory, demo_cache: ReleaseCache, store: Store, slack: FakeSlack,
    demo_api: DemoApiServer, clock: FakeClock,
) -> None:
    """Batches follow each other by row id and keep their size: they used to grow by the
    rows already seen, so a backlog of 25,000 rows was read in ever larger batches, and each
    channel's rows of one batch went out one paced second after another, 8 channels at a time
    (27 posts a second in `bench.worker_scale`; 230 with batches of one size)."""
    for channel in (C1, C2, "C3"):
        _subscribe(store, channel)
    worker = Worker(store, ReleaseFinder(demo_cache), _web_client(slack, retries=0),
                    settings=SETTINGS, clock=clock, holder_id="w1", batch_size=2)
    worker.poll_once()
    opened = [r for r in demo_api.data.releases()
              if not r.closed and not r.deleted and r.name != "Default Release"][:3]
    for target in opened:
        demo_api.data.close(target.id)
    read: list[int] = []
    asked: list[int] = []
    pending = store.outbox.pending_deliveries

    def counted(limit: int = 100, *, after_id: int = 0) -> list[Any]:
        asked.append(limit)
        rows = pending(limit, after_id=after_id)
        read.extend(row.id for row in rows)
        return rows

    store.outbox.pending_deliveries = counted  # type: ignore[method-assign]
    slack.script.rate_limit_next = 1  # the round's first post: its channel waits
    slack.script.retry_after = 60
    report = worker.poll_once()
    assert report.enqueued == 9
    assert report.posted == 6  # the two other channels' rows; the limited channel's wait
    assert len(read) == len(set(read)) == 7  # the limited channel's later rows: blocked
    assert set(asked) == {2}
