"""Takeover: a dead worker's successor runs the rounds within one poll interval.

On SQLite the lease is short and renewed by a heartbeat; on PostgreSQL leadership is a session
advisory lock, so a successor takes over as soon as the dead worker's connection is gone.
"""

from __future__ import annotations

import threading

import pytest
from slack_sdk import WebClient

from bot.app.finder import ReleaseFinder
from bot.cache.release_cache import ReleaseCache
from bot.config import Settings
from bot.demo import DemoApiServer
from bot.notify.store import Store
from bot.notify.worker import LEASE_NAME, Worker
from bot.notify.worker.lease import lease_timing
from tests.fakes.clock import FakeClock
from tests.fakes.slack_api import FakeSlack
from tests.notify.conftest import StoreFactory
from tests.notify.support import end_lock_sessions

SETTINGS = Settings(poll_interval_seconds=60, digest_grace_minutes=60)


@pytest.fixture
def slack() -> object:
    with FakeSlack() as fake:
        yield fake


def _worker(store: Store, cache: ReleaseCache, slack: FakeSlack, clock: FakeClock,
            holder: str, settings: Settings = SETTINGS) -> Worker:
    client = WebClient(token="xoxb-test", base_url=slack.url, timeout=5)
    return Worker(store, ReleaseFinder(cache), client, settings=settings, clock=clock,
                  holder_id=holder)


def _close_one(demo_api: DemoApiServer) -> None:
    target = next(r for r in demo_api.data.releases()
                  if not r.closed and not r.deleted and r.name != "Default Release")
    demo_api.data.close(target.id)


def test_the_lease_is_well_within_one_poll_interval() -> None:
    for interval in (1.0, 10.0, 60.0, 600.0):
        beat, ttl = lease_timing(interval)
        assert beat * 3 == ttl.total_seconds()
        assert ttl.total_seconds() <= max(interval, 1.5)
        assert ttl.total_seconds() <= 15


def test_sqlite_successor_takes_over_when_the_short_lease_runs_out(
    sqlite_url: str, demo_cache: ReleaseCache, slack: FakeSlack, clock: FakeClock,
    demo_api: DemoApiServer,
) -> None:
    stores = [Store.from_url(sqlite_url, clock=clock) for _ in range(2)]
    try:
        stores[0].subscriptions.add_change(
            team_id="T1", channel_id="C1", filters="open", created_by="U1"
        )
        first = _worker(stores[0], demo_cache, slack, clock, "w1")
        assert first.poll_once().leader
        _close_one(demo_api)  # ... and the first worker dies without a word
        successor = _worker(stores[1], demo_cache, slack, clock, "w2")
        assert not successor.poll_once().leader
        clock.advance(lease_timing(SETTINGS.poll_interval_seconds)[1])
        report = successor.poll_once()
        assert report.leader
        assert report.posted == 1
    finally:
        for store in stores:
            store.close()


@pytest.mark.postgres
def test_postgresql_successor_takes_over_as_soon_as_the_session_is_gone(
    pg_url: str, demo_cache: ReleaseCache, slack: FakeSlack, clock: FakeClock,
    demo_api: DemoApiServer,
) -> None:
    stores = [Store.from_url(pg_url, clock=clock) for _ in range(2)]
    try:
        stores[0].subscriptions.add_change(
            team_id="T1", channel_id="C1", filters="open", created_by="U1"
        )
        first = _worker(stores[0], demo_cache, slack, clock, "w1")
        assert first.poll_once().leader
        _close_one(demo_api)
        successor = _worker(stores[1], demo_cache, slack, clock, "w2")
        assert not successor.poll_once().leader  # the first one's session is alive
        # The first worker's connections die (SIGKILL, a cut network): no clock advance.
        assert end_lock_sessions(stores[1], LEASE_NAME) == 1
        report = successor.poll_once()
        assert report.leader
        assert report.posted == 1
        assert stores[1].leases.holder(LEASE_NAME) == "w2"
        # The old worker, should it live on, neither leads nor posts.
        assert not first.poll_once().leader
        assert len(slack.calls_to("chat.postMessage")) == 1
    finally:
        for store in stores:
            store.close()


def test_a_graceful_stop_hands_over_at_once_even_mid_delivery(
    make_store: StoreFactory, demo_cache: ReleaseCache, slack: FakeSlack, clock: FakeClock,
    demo_api: DemoApiServer,
) -> None:
    store = make_store()
    for channel in ("C1", "C2", "C3"):
        store.subscriptions.add_change(
            team_id="T1", channel_id=channel, filters="open", created_by="U1"
        )
    first = _worker(store, demo_cache, slack, clock, "w1")
    first.poll_once()
    _close_one(demo_api)
    stop = threading.Event()
    posted = threading.Event()
    original = slack.record_call

    def stop_after_first_post(call: object) -> None:
        original(call)  # type: ignore[arg-type]
        stop.set()
        posted.set()

    slack.record_call = stop_after_first_post  # type: ignore[method-assign]
    runner = threading.Thread(target=first.run, args=(stop,))
    runner.start()
    runner.join(30)
    assert not runner.is_alive()
    assert len(slack.calls_to("chat.postMessage")) == 1  # stopped between two posts
    slack.record_call = original  # type: ignore[method-assign]
    successor = _worker(make_store(), demo_cache, slack, clock, "w2")
    report = successor.poll_once()  # no clock advance: the lease was handed back
    assert report.leader
    assert report.posted == 2
