"""Claiming workers in threads on real PostgreSQL: polls never overlap per connection, failing
polls back off and say so once, a slow poll keeps its lease, and a stop hands claims back.

The processes-and-SIGKILL proof is in `tests/e2e/test_claiming_workers.py`.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from bot.clock import SystemClock
from bot.notify.scale.claims import ScheduleClaims
from bot.notify.scale.records import Claim, Polled, Schedule
from bot.notify.scale.worker import ClaimingWorker, ClaimSettings
from bot.notify.store import Store
from bot.notify.store.database import Database

WAIT = 30.0


@pytest.fixture
def live(pg_url: str) -> Iterator[ScheduleClaims]:
    with Store.from_url(pg_url) as store:
        yield ScheduleClaims(Database(store.engine, SystemClock()))


def _until(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {WAIT:.0f} s")
        time.sleep(0.01)


@contextmanager
def running(*workers: ClaimingWorker) -> Iterator[None]:
    stop = threading.Event()
    threads = [threading.Thread(target=w.run, args=(stop,)) for w in workers]
    for t in threads:
        t.start()
    try:
        yield
    finally:
        stop.set()
        for t in threads:
            t.join(WAIT)
        assert not any(t.is_alive() for t in threads)


class Recorder:
    """A fake poll: notes who polls what, and any poll that overlaps another of the same
    connection."""

    def __init__(self, seconds: float = 0.02, fail: Callable[[Claim], bool] = lambda c: False
                 ) -> None:
        self.seconds, self.fail = seconds, fail
        self.lock = threading.Lock()
        self.busy: set[str] = set()
        self.overlaps: list[str] = []
        self.polls: Counter[str] = Counter()
        self.by: Counter[str] = Counter()

    def __call__(self, claim: Claim) -> Polled:
        with self.lock:
            if claim.connection_id in self.busy:
                self.overlaps.append(claim.connection_id)
            self.busy.add(claim.connection_id)
        try:
            time.sleep(self.seconds)
            if self.fail(claim):
                raise ConnectionError("upstream said 503 with a long body")
        finally:
            with self.lock:
                self.busy.discard(claim.connection_id)
                self.polls[claim.connection_id] += 1
                self.by[claim.owner] += 1
        return Polled(changed=False)


def test_two_workers_share_the_connections_without_overlap(live: ScheduleClaims) -> None:
    ids = [f"c{n:02d}" for n in range(20)]
    for connection_id in ids:
        live.register(connection_id, 1)
    poll = Recorder()
    settings = ClaimSettings(pool_size=4)
    workers = [ClaimingWorker(live, poll, owner=f"w{n}", settings=settings) for n in (1, 2)]
    with running(*workers):
        _until(lambda: min(poll.polls[i] for i in ids) >= 3, "three polls of each")
    assert poll.overlaps == []
    assert set(poll.by) == {"w1", "w2"}
    assert all(live.held_by(w.owner) == [] for w in workers)  # a stop hands everything back


def test_a_failing_connection_backs_off_and_the_admins_hear_once(
    live: ScheduleClaims,
) -> None:
    live.register("bad", 1)
    live.register("good", 1)
    poll = Recorder(fail=lambda c: c.connection_id == "bad")
    heard: list[str] = []
    worker = ClaimingWorker(
        live, poll, owner="w1", on_failing=heard.append,
        settings=ClaimSettings(pool_size=2, idle_seconds=0.05),
    )
    with running(worker):
        _until(lambda: (s := live.schedule("bad")) is not None and s.consecutive_failures >= 3,
               "three failures")
        _until(lambda: poll.polls["good"] >= 3, "three good polls")
    bad, good = live.schedule("bad"), live.schedule("good")
    assert bad is not None
    assert good is not None
    assert (bad.status, bad.last_error) == ("failing", "ConnectionError")  # no upstream body
    assert (good.status, good.consecutive_failures) == ("active", 0)
    assert heard == ["bad"]
    assert bad.next_poll_at > good.last_good_poll_at  # type: ignore[operator]


def test_a_poll_slower_than_its_lease_keeps_the_connection(live: ScheduleClaims) -> None:
    """Renewal every third of the lease: a poll of three leases is neither taken over by a
    rival that claims all the while, nor fenced out at its commit."""
    live.register("slow", 1)
    settings = ClaimSettings(lease_seconds=1.0, pool_size=1, idle_seconds=0.05)
    slow = Recorder(seconds=3.0)
    worker = ClaimingWorker(live, slow, owner="w1", settings=settings)
    rival_poll = Recorder()
    rival = ClaimingWorker(live, rival_poll, owner="w2", settings=settings)
    seen: list[Schedule] = []

    def committed() -> bool:
        row = live.schedule("slow")
        if row is None or row.last_good_poll_at is None:
            return False
        seen.append(row)
        return True

    with running(worker):
        _until(lambda: live.held_by("w1") == ["slow"], "the claim")
        with running(rival):
            _until(committed, "the slow poll's commit")
            assert rival_poll.polls["slow"] == 0
    (done,) = seen
    assert done.lease_generation == 1  # claimed once, committed by that claim
