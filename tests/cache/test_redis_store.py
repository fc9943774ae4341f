"""The release cache shared through Redis: two caches over one Redis stand for two processes."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from functools import partial

import pytest
import redis

from bot.app.answers import Answers, Caller
from bot.app.finder import ReleaseFinder
from bot.cache.redis.codec import key_name
from bot.cache.redis.link import RedisLink
from bot.cache.redis.store import RedisStore
from bot.cache.release_cache import ReleaseCache
from bot.clock import Deadline
from bot.metakraftwerk.errors import BadResponse, ReleaseNotFound, Unavailable
from bot.metakraftwerk.filter import ApiFilter
from bot.metakraftwerk.models import Release
from bot.query import Query
from tests.cache.conftest import LinkFactory, ProxiedRedis
from tests.fakes.clock import FakeClock
from tests.fakes.release_source import R1, R2, FakeSource
from tests.waiting import wait_for

DWH = ApiFilter(group="DWH_GROUP")
CacheFactory = Callable[..., ReleaseCache]


@pytest.fixture
def source(manual_clock: FakeClock) -> FakeSource:
    return FakeSource(manual_clock)


@pytest.fixture
def make_cache(
    source: FakeSource, manual_clock: FakeClock, make_link: LinkFactory, prefix: str
) -> CacheFactory:
    """A cache on the test Redis: each one is another process (its own link and memory)."""

    def make(url: str | None = None, **options: object) -> ReleaseCache:
        link = make_link(url)
        options.setdefault("wait_timeout", 5.0)
        return ReleaseCache(
            source,
            ttl_seconds=60,
            clock=manual_clock,
            store=RedisStore.factory(link, prefix=prefix),
            **options,  # type: ignore[arg-type]
        )

    return make


def run_threads(
    n: int, target: Callable[[int], object]
) -> tuple[list[object], list[BaseException]]:
    results: list[object] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        try:
            value = target(i)
        except BaseException as exc:
            with lock:
                errors.append(exc)
        else:
            with lock:
                results.append(value)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    return results, errors



def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def link_lines(caplog: pytest.LogCaptureFixture, words: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "bot.cache.redis.link"
        and r.levelno >= logging.WARNING
        and words in r.getMessage()
    ]


# ---- sharing -------------------------------------------------------------------------------


def test_a_burst_split_over_two_processes_makes_one_upstream_call(
    make_cache: CacheFactory, source: FakeSource
) -> None:
    a, b = make_cache(), make_cache()
    source.gate = threading.Event()
    runner_results: list[object] = []
    runner_errors: list[BaseException] = []

    def burst() -> None:
        results, errors = run_threads(30, lambda i: (a if i % 2 else b).releases(DWH))
        runner_results.extend(results)
        runner_errors.extend(errors)

    runner = threading.Thread(target=burst)
    runner.start()
    # Every lookup has arrived: 14 wait in each process behind the one that went further.
    wait_for(lambda: a.stats()["waiting"] == 14 and b.stats()["waiting"] == 14)
    source.gate.set()
    runner.join(20)
    assert source.calls == ["list"]
    assert runner_errors == []
    assert len(runner_results) == 30
    assert {r.value for r in runner_results} == {(R1, R2)}  # type: ignore[attr-defined]
    assert a.stats()["coalesced"] + b.stats()["coalesced"] == 29
    assert a.stats()["misses"] + b.stats()["misses"] == 1


def test_an_answer_cached_by_one_process_is_served_by_the_other(
    make_cache: CacheFactory,
    source: FakeSource,
    manual_clock: FakeClock,
    redis_client: redis.Redis,
    prefix: str,
) -> None:
    a, b = make_cache(), make_cache()
    first = a.releases(DWH)
    manual_clock.advance(30)
    second = b.releases(DWH)
    assert second == first
    assert b.release(2).value == R2  # the by-id entries are shared too
    assert b.groups().value == {1: "DWH_GROUP"}
    assert dict(a.groups().value) == {1: "DWH_GROUP"}
    assert source.calls == ["list", "groups"]
    assert b.stats()["hits"] == 2
    assert {r.name for r in b.known_releases()} == {"R1", "R2"}
    assert list(redis_client.scan_iter(match=f"{prefix}*lock*")) == []  # released, not expired


def test_shared_answers_expire_with_the_ttl(
    make_cache: CacheFactory, source: FakeSource, manual_clock: FakeClock
) -> None:
    a, b = make_cache(), make_cache()
    a.releases(DWH)
    manual_clock.advance(61)
    b.releases(DWH)
    assert source.calls == ["list", "list"]


def test_a_refresh_in_one_process_is_seen_by_the_other(
    make_cache: CacheFactory, source: FakeSource
) -> None:
    a, b = make_cache(), make_cache()
    assert a.releases(DWH).value == (R1, R2)
    source.releases = (Release(id=1, name="R1-renamed"),)
    assert b.releases(DWH, refresh=True).value == (Release(id=1, name="R1-renamed"),)
    assert a.releases(DWH).value == (Release(id=1, name="R1-renamed"),)
    assert a.release(1).value.name == "R1-renamed"
    assert source.calls == ["list", "list"]


def test_a_stale_copy_is_shared(
    make_cache: CacheFactory, source: FakeSource, manual_clock: FakeClock
) -> None:
    a, b = make_cache(), make_cache()
    good = a.releases(DWH)
    manual_clock.advance(300)
    source.error = Unavailable("MetaKraftwerk is unavailable (HTTP 503)", cause="HTTP 503")
    served = b.releases(DWH)  # b never had an answer of its own
    assert served.stale
    assert served.value == good.value
    assert served.fetched_at == good.fetched_at
    assert served.reason == "MetaKraftwerk is unavailable (HTTP 503)"


def test_clear_forgets_the_shared_answers(
    make_cache: CacheFactory, source: FakeSource
) -> None:
    a, b = make_cache(), make_cache()
    a.releases(DWH)
    b.clear()
    a.releases(DWH)
    assert source.calls == ["list", "list"]


# ---- failures across processes -------------------------------------------------------------


def burst_over_two(
    a: ReleaseCache,
    b: ReleaseCache,
    source: FakeSource,
    lookup: Callable[[ReleaseCache], object],
) -> list[BaseException]:
    """Ten lookups in each process while the first upstream call is held; their errors."""
    source.gate = threading.Event()
    errors: list[BaseException] = []
    runner = threading.Thread(
        target=lambda: errors.extend(run_threads(20, lambda i: lookup(a if i % 2 else b))[1])
    )
    runner.start()
    wait_for(lambda: a.stats()["waiting"] == 9 and b.stats()["waiting"] == 9)
    source.gate.set()
    runner.join(20)
    return errors


@pytest.mark.parametrize(
    "error",
    [
        Unavailable("MetaKraftwerk did not answer within 8 s", cause="timeout"),
        Unavailable("MetaKraftwerk is unavailable (HTTP 503)", cause="HTTP 503"),
        BadResponse("MetaKraftwerk answered HTTP 500 (ref a1b2c3)", ref="a1b2c3"),
    ],
)
def test_an_api_outage_costs_one_call_for_all_processes(
    make_cache: CacheFactory, source: FakeSource, error: Exception
) -> None:
    a, b = make_cache(), make_cache()
    source.error = error
    errors = burst_over_two(a, b, source, lambda cache: cache.releases(DWH))
    assert source.calls == ["list"]
    assert len(errors) == 20
    assert {type(e) for e in errors} == {type(error)}
    if isinstance(error, Unavailable):
        assert {str(e) for e in errors} == {str(error)}
    else:  # the other process says it in its own words, with the ref to find the log line
        assert all(str(e).startswith("MetaKraftwerk ") and "a1b2c3" in str(e) for e in errors)


def _forge(redis_client: redis.Redis, prefix: str, outcome: dict[str, object]) -> None:
    """Whoever can write to Redis holds the key's lock and writes its outcome."""
    redis_client.set(f"{prefix}cache:v1:lock:{key_name(DWH)}", "forged", px=30_000)
    redis_client.set(f"{prefix}cache:v1:done:forged", json.dumps(outcome), px=30_000)


@pytest.mark.parametrize(
    "forged",
    [
        {"ok": False, "kind": "unavailable", "message": "<!channel> Pay at evil.example",
         "cause": "HTTP 503"},
        {"ok": False, "kind": "bad_response", "message": "<!channel> Pay at evil.example"},
    ],
)
def test_a_forged_failure_reaches_waiters_in_our_words_only(
    make_cache: CacheFactory, redis_client: redis.Redis, prefix: str,
    forged: dict[str, object],
) -> None:
    _forge(redis_client, prefix, forged)
    with pytest.raises((Unavailable, BadResponse)) as caught:
        make_cache().releases(DWH)
    message = str(caught.value)
    assert "evil" not in message
    assert "<" not in message
    assert message.startswith("MetaKraftwerk ")


@pytest.mark.parametrize(
    "forged",
    [
        {"ok": False, "kind": "unavailable", "cause": "<!channel> Pay at evil.example"},
        {"ok": False, "kind": "unavailable", "cause": "timeout", "within": "<!here>"},
        {"ok": False, "kind": "bad_response", "ref": "<!channel>"},
        {"ok": False, "kind": "other"},
        {"ok": "maybe"},
    ],
)
def test_an_outcome_nobody_can_vouch_for_makes_the_waiter_ask_for_itself(
    make_cache: CacheFactory, source: FakeSource, redis_client: redis.Redis, prefix: str,
    forged: dict[str, object],
) -> None:
    _forge(redis_client, prefix, forged)
    assert make_cache().releases(DWH).value == (R1, R2)
    assert source.calls == ["list"]


def test_a_not_found_is_not_passed_on_each_process_asks_itself(
    make_cache: CacheFactory, source: FakeSource
) -> None:
    """Only failures a stale copy may stand in for are shared; a 404 is asked again."""
    a, b = make_cache(), make_cache()
    errors = burst_over_two(a, b, source, lambda cache: cache.release(99))
    assert len(errors) == 20
    assert all(isinstance(e, ReleaseNotFound) for e in errors)
    assert source.calls == ["get 99", "get 99"]


def test_a_waiter_takes_over_when_the_lock_holder_died(
    make_cache: CacheFactory, source: FakeSource, redis_client: redis.Redis, prefix: str
) -> None:
    cache = make_cache()
    redis_client.set(f"{prefix}cache:v1:lock:{key_name(DWH)}", "dead-process", px=300)
    assert cache.releases(DWH).value == (R1, R2)
    assert source.calls == ["list"]


def test_a_waiter_gives_up_at_its_own_deadline(
    make_cache: CacheFactory, redis_client: redis.Redis, prefix: str, manual_clock: FakeClock
) -> None:
    cache = make_cache(wait_timeout=10)
    redis_client.set(f"{prefix}cache:v1:lock:{key_name(DWH)}", "slow-process", px=30_000)
    started = time.monotonic()
    with pytest.raises(Unavailable, match="did not answer in time"):
        cache.releases(DWH, deadline=Deadline.start(manual_clock, 0.2))
    assert time.monotonic() - started < 3.0


# ---- untrusted content -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "junk", [b"\x80\x04\x95pickle", b"{}", b'{"format":1,"fetched_at":"x","value":[]}', b"[1,2]"]
)
def test_a_corrupt_value_in_redis_is_a_miss(
    make_cache: CacheFactory,
    source: FakeSource,
    redis_client: redis.Redis,
    prefix: str,
    caplog: pytest.LogCaptureFixture,
    junk: bytes,
) -> None:
    cache = make_cache()
    redis_client.set(f"{prefix}cache:v1:fresh:{key_name(DWH)}", junk)
    with caplog.at_level(logging.WARNING, logger="bot.cache.redis.store"):
        assert cache.releases(DWH).value == (R1, R2)
    assert source.calls == ["list"]
    assert any("treated as a miss" in r.getMessage() for r in caplog.records)


def test_a_corrupt_stale_copy_is_never_served(
    make_cache: CacheFactory,
    source: FakeSource,
    redis_client: redis.Redis,
    prefix: str,
) -> None:
    cache = make_cache()
    redis_client.set(f"{prefix}cache:v1:stale:{key_name(DWH)}", b'{"format":1}')
    source.error = Unavailable("down", cause="timeout")
    with pytest.raises(Unavailable):
        cache.releases(DWH)


# ---- Redis going away ----------------------------------------------------------------------


def test_redis_unreachable_from_the_start_means_a_local_cache(
    make_cache: CacheFactory, source: FakeSource, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.cache.redis.link"):
        cache = make_cache(f"redis://127.0.0.1:{closed_port()}/13")
        assert cache.releases(DWH).value == (R1, R2)
        assert cache.releases(DWH).value == (R1, R2)
        state = cache.backend()
    assert source.calls == ["list"]
    assert state["backend"] == "local"
    assert state["redis"].startswith("unreachable: ")
    assert len(link_lines(caplog, "is unreachable")) == 1


def test_redis_stopped_mid_run_loses_no_lookup_and_is_logged_once(
    make_cache: CacheFactory,
    source: FakeSource,
    proxied_redis: ProxiedRedis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    proxy = proxied_redis.proxy
    processes = [make_cache(proxied_redis.url), make_cache(proxied_redis.url)]
    filters = [ApiFilter(group=f"G{i}") for i in range(4)]
    done = threading.Semaphore(0)
    cut = threading.Event()

    def lookups(i: int) -> None:
        cache = processes[i % 2]
        for n in range(40):
            cache.releases(filters[n % 4], refresh=n % 5 == 0)
            done.release()
            if n == 20:
                cut.wait(10)  # half of each thread's lookups before Redis goes, half after

    with caplog.at_level(logging.WARNING, logger="bot.cache.redis.link"):
        runner_errors: list[BaseException] = []
        runner = threading.Thread(
            target=lambda: runner_errors.extend(run_threads(6, lookups)[1])
        )
        runner.start()
        for _ in range(6 * 21):
            assert done.acquire(timeout=10)
        proxy.close()
        cut.set()
        runner.join(30)
        assert runner_errors == []
        assert [p.backend()["backend"] for p in processes] == ["local", "local"]
        assert len(link_lines(caplog, "is unreachable")) == 2  # one line per process

        proxy.start()  # Redis is back
        for cache in processes:
            wait_for(partial(lambda c: c.backend()["backend"] == "redis", cache))
        assert len(link_lines(caplog, "is reachable again")) == 2
        assert len(link_lines(caplog, "is unreachable")) == 2
        calls = len(source.calls)
        processes[0].releases(ApiFilter(group="after"))
        processes[1].releases(ApiFilter(group="after"))
        assert len(source.calls) == calls + 1  # shared again


def test_the_link_reports_its_state_without_the_password(make_link: LinkFactory) -> None:
    link = make_link(f"redis://:top-secret@127.0.0.1:{closed_port()}/13")
    assert isinstance(link, RedisLink)
    assert "top-secret" not in link.name
    state = link.check()
    assert state["backend"] == "local"
    assert "top-secret" not in str(state)


def test_a_cached_release_dated_where_utc_cannot_reach_breaks_no_answer(
    make_cache: CacheFactory, source: FakeSource, redis_client: redis.Redis, prefix: str,
    manual_clock: FakeClock,
) -> None:
    """A release dated 0001-01-01T00:00:00+14:00 in Redis crashed `/releases open` for all."""
    forged = dict.fromkeys(
        ("group_id", "description", "end_date", "hotfix_of_id", "prev_release_id")
    ) | {"id": 66, "name": "R66", "start_date": "0001-01-01T00:00:00+14:00",
         "closed": False, "deleted": False}
    entry = {"format": 1, "fetched_at": manual_clock.now().isoformat(), "value": [forged]}
    open_list = ApiFilter(closed=False)
    assert Query().api_filters() == (open_list,)
    redis_client.set(f"{prefix}cache:v1:fresh:{key_name(open_list)}", json.dumps(entry))
    answers = Answers(ReleaseFinder(make_cache()), clock=manual_clock)
    reply = answers.command("open", Caller(user_id="U1"))
    assert reply.message.meta.get("view") == "list"
    assert reply.message.meta.get("total") == 2  # R1 and R2, asked for again: a miss
    assert "list" in source.calls
