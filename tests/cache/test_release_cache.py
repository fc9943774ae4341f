"""The release cache: freshness, single flight, failure fan-out, stale on error, counters."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import cachetools
import pytest

from bot.cache.release_cache import DEFAULT_NAMES_TTL, ReleaseCache
from bot.clock import Deadline
from bot.demo import DemoApiServer
from bot.metakraftwerk.client import MetaKraftwerkClient
from bot.metakraftwerk.errors import (
    BadResponse,
    CredentialsRejected,
    GroupNotFound,
    ReleaseNotFound,
    Unavailable,
)
from bot.metakraftwerk.filter import ApiFilter
from bot.metakraftwerk.models import Release
from tests.conftest import ClientFactory
from tests.fakes.clock import FakeClock
from tests.fakes.release_source import R1, R2, FakeSource
from tests.waiting import wait_for

RELEASES = "/api/v1/releases"


@pytest.fixture
def source(manual_clock: FakeClock) -> FakeSource:
    return FakeSource(manual_clock)


@pytest.fixture
def cache(source: FakeSource, manual_clock: FakeClock) -> ReleaseCache:
    return ReleaseCache(source, ttl_seconds=60, max_entries=100, clock=manual_clock)


def run_threads(n: int, target: Callable[[], object]) -> tuple[list[object], list[BaseException]]:
    results: list[object] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            value = target()
        except BaseException as exc:
            with lock:
                errors.append(exc)
        else:
            with lock:
                results.append(value)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=15)
    return results, errors



# ---- freshness -----------------------------------------------------------------------------


def test_fresh_answers_come_from_the_cache(
    cache: ReleaseCache, source: FakeSource, manual_clock: FakeClock
) -> None:
    first = cache.releases(ApiFilter())
    manual_clock.advance(59)
    second = cache.releases(ApiFilter())
    assert second is first
    assert source.calls == ["list"]
    assert first.fetched_at == manual_clock.now() - timedelta(seconds=59)
    assert not first.stale


def test_expired_answers_are_fetched_again(
    cache: ReleaseCache, source: FakeSource, manual_clock: FakeClock
) -> None:
    cache.releases(ApiFilter())
    manual_clock.advance(61)
    again = cache.releases(ApiFilter())
    assert source.calls == ["list", "list"]
    assert again.fetched_at == manual_clock.now()


def test_each_filter_is_its_own_key(cache: ReleaseCache, source: FakeSource) -> None:
    cache.releases(ApiFilter(group="A"))
    cache.releases(ApiFilter(group="B"))
    cache.releases(ApiFilter(group="A", closed=False))
    cache.releases(ApiFilter(group="A"))
    assert source.calls == ["list", "list", "list"]


def test_refresh_skips_freshness(cache: ReleaseCache, source: FakeSource) -> None:
    cache.releases(ApiFilter())
    cache.releases(ApiFilter(), refresh=True)
    cache.release(1, refresh=True)
    assert source.calls == ["list", "list", "get 1"]


def test_a_list_fills_the_by_id_entries(cache: ReleaseCache, source: FakeSource) -> None:
    listed = cache.releases(ApiFilter())
    one = cache.release(2)
    assert one.value == R2
    assert one.fetched_at == listed.fetched_at
    assert source.calls == ["list"]
    with pytest.raises(ReleaseNotFound):
        cache.release(3)
    assert source.calls == ["list", "get 3"]


def test_size_is_bounded(source: FakeSource, manual_clock: FakeClock) -> None:
    cache = ReleaseCache(source, ttl_seconds=60, max_entries=3, clock=manual_clock)
    source.releases = ()
    for group in "ABCDEFG":
        cache.releases(ApiFilter(group=group))
    stats = cache.stats()
    assert stats["entries"] <= 3
    assert stats["stale_entries"] <= 3


def test_known_releases_keeps_the_newest_copy(
    cache: ReleaseCache, source: FakeSource, manual_clock: FakeClock
) -> None:
    cache.releases(ApiFilter())
    manual_clock.advance(120)
    source.releases = (Release(id=1, name="R1-renamed"), R2)
    cache.releases(ApiFilter(group="DWH_GROUP"))
    assert {r.name for r in cache.known_releases()} == {"R1-renamed", "R2"}


def test_known_releases_follows_what_is_held_after_being_asked(
    cache: ReleaseCache, source: FakeSource, manual_clock: FakeClock
) -> None:
    cache.releases(ApiFilter())
    assert {r.name for r in cache.known_releases()} == {"R1", "R2"}
    manual_clock.advance(120)
    source.releases = (Release(id=1, name="R1-renamed"), R2, Release(id=3, name="R3"))
    cache.releases(ApiFilter(group="DWH_GROUP"))
    assert {r.name for r in cache.known_releases()} == {"R1-renamed", "R2", "R3"}
    cache.clear()
    assert cache.known_releases() == ()


# ---- stale on error ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [Unavailable("MetaKraftwerk is unavailable (HTTP 503)", cause="HTTP 503"), BadResponse("junk")],
)
def test_stale_answer_when_the_api_fails(
    cache: ReleaseCache, source: FakeSource, manual_clock: FakeClock, error: Exception
) -> None:
    good = cache.releases(ApiFilter())
    manual_clock.advance(300)
    source.error = error
    served = cache.releases(ApiFilter())
    assert served.value == good.value
    assert served.stale
    assert served.fetched_at == good.fetched_at
    assert served.age(manual_clock.now()).total_seconds() == 300
    assert served.reason == str(error)
    assert cache.stats()["stale"] == 1
    # by-id entries filled from the list are stale-capable too
    one = cache.release(1)
    assert one.stale
    assert one.value == R1


def test_refresh_falls_back_to_stale_as_well(cache: ReleaseCache, source: FakeSource) -> None:
    cache.releases(ApiFilter())
    source.error = Unavailable("down", cause="timeout")
    assert cache.releases(ApiFilter(), refresh=True).stale


@pytest.mark.parametrize(
    "error",
    [ReleaseNotFound(1), CredentialsRejected("refused"), GroupNotFound("no group")],
)
def test_not_found_and_credentials_are_never_masked(
    cache: ReleaseCache, source: FakeSource, manual_clock: FakeClock, error: Exception
) -> None:
    cache.releases(ApiFilter())
    manual_clock.advance(300)
    source.error = error
    with pytest.raises(type(error)):
        cache.releases(ApiFilter())
    with pytest.raises(type(error)):
        cache.release(1)


def test_no_stale_answer_without_a_previous_one(cache: ReleaseCache, source: FakeSource) -> None:
    source.error = Unavailable("down", cause="timeout")
    with pytest.raises(Unavailable):
        cache.releases(ApiFilter())


def test_stale_answers_expire_eventually(source: FakeSource, manual_clock: FakeClock) -> None:
    cache = ReleaseCache(source, ttl_seconds=60, clock=manual_clock, stale_max_age_seconds=3600)
    cache.releases(ApiFilter())
    manual_clock.advance(3601)
    source.error = Unavailable("down", cause="timeout")
    with pytest.raises(Unavailable):
        cache.releases(ApiFilter())


def test_group_names_never_raise(
    cache: ReleaseCache, source: FakeSource, manual_clock: FakeClock
) -> None:
    source.error = Unavailable("down", cause="timeout")
    assert dict(cache.groups().value) == {}
    source.error = None
    assert dict(cache.groups().value) == {1: "DWH_GROUP"}
    manual_clock.advance(DEFAULT_NAMES_TTL + 1)
    source.error = Unavailable("down", cause="timeout")
    names = cache.groups()
    assert dict(names.value) == {1: "DWH_GROUP"}
    assert names.stale
    calls = len(source.calls)
    assert dict(cache.groups(fetch=False).value) == {1: "DWH_GROUP"}
    assert len(source.calls) == calls


def test_group_names_stay_fresh_longer_than_releases(
    cache: ReleaseCache, source: FakeSource, manual_clock: FakeClock
) -> None:
    cache.groups()
    cache.releases(ApiFilter())
    manual_clock.advance(120)  # past the releases' TTL of 60 s
    cache.groups()
    cache.releases(ApiFilter())
    assert source.calls == ["groups", "list", "list"]
    assert cache.fresh_groups() is not None
    manual_clock.advance(DEFAULT_NAMES_TTL)
    assert cache.fresh_groups() is None
    cache.groups()
    assert source.calls == ["groups", "list", "list", "groups"]


def test_missing_group_names_are_asked_again_after_the_release_ttl(
    cache: ReleaseCache, source: FakeSource, manual_clock: FakeClock
) -> None:
    source.error = BadResponse("MetaKraftwerk answered HTTP 404")
    assert dict(cache.groups().value) == {}
    source.error = None
    manual_clock.advance(61)  # the release TTL, far short of the names TTL
    assert dict(cache.groups().value) == {1: "DWH_GROUP"}
    assert source.calls == ["groups", "groups"]


def test_missing_groups_endpoint_is_not_asked_again_within_the_ttl(
    cache: ReleaseCache, source: FakeSource
) -> None:
    source.error = BadResponse("MetaKraftwerk answered HTTP 404")
    assert dict(cache.groups().value) == {}
    assert dict(cache.groups().value) == {}
    assert source.calls == ["groups"]


# ---- counters ------------------------------------------------------------------------------


def test_counters(cache: ReleaseCache, source: FakeSource, manual_clock: FakeClock) -> None:
    cache.releases(ApiFilter())  # miss
    cache.releases(ApiFilter())  # hit
    cache.release(1)  # hit (filled by the list)
    manual_clock.advance(61)
    source.error = Unavailable("down", cause="timeout")
    cache.releases(ApiFilter())  # miss, error, stale
    source.error = ReleaseNotFound(9)
    with pytest.raises(ReleaseNotFound):
        cache.release(9)  # miss, error
    stats = cache.stats()
    assert {k: stats[k] for k in ("hits", "misses", "stale", "errors", "coalesced")} == {
        "hits": 2,
        "misses": 3,
        "stale": 1,
        "errors": 2,
        "coalesced": 0,
    }


# ---- single flight -------------------------------------------------------------------------


def test_concurrent_misses_make_one_call(cache: ReleaseCache, source: FakeSource) -> None:
    source.gate = threading.Event()
    done: list[object] = []

    def lookup() -> object:
        return cache.releases(ApiFilter(group="DWH_GROUP"))

    runner = threading.Thread(target=lambda: done.extend(run_threads(50, lookup)[0]))
    runner.start()
    wait_for(lambda: cache.stats()["waiting"] == 49, timeout=5.0)
    source.gate.set()
    runner.join(10)
    assert source.calls == ["list"]
    assert len(done) == 50
    assert len({id(r) for r in done}) == 1
    assert cache.stats()["coalesced"] == 49


def test_a_failure_reaches_every_waiter_at_once(
    source: FakeSource, manual_clock: FakeClock
) -> None:
    """Measured against cachetools' own single flight, `cached(condition=...)`.

    Both see 20 concurrent lookups of one key while the API fails. cachetools lets the waiters
    retry one after another: 20 upstream calls, and the last caller waits for all 20 in a row
    (20 deadlines during a real outage). This cache makes 1 call and every waiter fails with it.
    """
    calls = {"cachetools": 0, "ours": 0}
    gate = threading.Event()

    def failing(which: str) -> tuple[Release, ...]:
        calls[which] += 1
        gate.wait(5)
        raise Unavailable("MetaKraftwerk did not answer within 8 s", cause="timeout")

    lock = threading.Lock()
    condition = threading.Condition(lock)

    @cachetools.cached(cachetools.TTLCache(maxsize=10, ttl=60), lock=lock, condition=condition)
    def cachetools_lookup(f: ApiFilter) -> tuple[Release, ...]:
        return failing("cachetools")

    source.list_releases = lambda f=None, *, deadline=None: failing("ours")  # type: ignore[method-assign]
    cache = ReleaseCache(source, ttl_seconds=60, clock=manual_clock)

    gate.set()  # cachetools: each call fails quickly, yet every waiter makes its own
    _, errors = run_threads(20, lambda: cachetools_lookup(ApiFilter()))
    assert len(errors) == 20
    assert calls["cachetools"] == 20

    gate.clear()
    runner_errors: list[BaseException] = []
    runner = threading.Thread(
        target=lambda: runner_errors.extend(run_threads(20, lambda: cache.releases(ApiFilter()))[1])
    )
    runner.start()
    wait_for(lambda: cache.stats()["waiting"] == 19, timeout=5.0)
    gate.set()
    runner.join(10)
    assert calls["ours"] == 1
    assert len(runner_errors) == 20
    assert len({id(e) for e in runner_errors}) == 1  # the very same exception, at once


def test_single_flight_against_the_demo_api(
    demo_api: DemoApiServer, demo_client: MetaKraftwerkClient
) -> None:
    demo_client.list_releases(ApiFilter(name="R1"))  # logged in
    cache = ReleaseCache(demo_client, ttl_seconds=60)
    demo_api.switches.hang(path=RELEASES)
    runner = threading.Thread(
        target=lambda: run_threads(50, lambda: cache.releases(ApiFilter(group="DWH_GROUP")))
    )
    runner.start()
    wait_for(lambda: cache.stats()["waiting"] == 49, timeout=5.0)
    demo_api.switches.release_hang()
    runner.join(10)
    assert demo_api.counts.count(RELEASES, params={"group": "DWH_GROUP"}) == 1
    assert cache.stats()["coalesced"] == 49


def test_failure_fan_out_against_a_hung_demo_api(
    demo_api: DemoApiServer, make_client: ClientFactory
) -> None:
    deadline = 0.6
    client = make_client(deadline_seconds=deadline)
    client.list_releases(ApiFilter(name="R1"))  # logged in
    cache = ReleaseCache(client, ttl_seconds=60, wait_timeout=deadline + 2)
    demo_api.switches.hang(path=RELEASES)
    finished: list[float] = []
    errors: list[BaseException] = []
    started = time.monotonic()

    def lookup() -> None:
        try:
            cache.releases(ApiFilter())
        except Unavailable as exc:
            errors.append(exc)
        finally:
            finished.append(time.monotonic() - started)

    threads = [threading.Thread(target=lookup) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(errors) == 50
    assert max(finished) < deadline + 1.0
    assert demo_api.counts.count(RELEASES, params={}) == 1


def test_a_waiter_gives_up_at_its_own_deadline(
    source: FakeSource, manual_clock: FakeClock
) -> None:
    """A lookup that joins a slow call late must not wait past the budget it has left."""
    cache = ReleaseCache(source, ttl_seconds=60, clock=manual_clock, wait_timeout=10)
    source.gate = threading.Event()
    leader = threading.Thread(target=lambda: cache.releases(ApiFilter()))
    leader.start()
    try:
        wait_for(lambda: cache.stats()["in_flight"] == 1, timeout=5.0)
        almost_spent = Deadline.start(manual_clock, 0.2)
        started = time.monotonic()
        with pytest.raises(Unavailable):
            cache.releases(ApiFilter(), deadline=almost_spent)
        assert time.monotonic() - started < 2.0
    finally:
        source.gate.set()
        leader.join(10)
