"""Replay guards: a key is new once per TTL, in one process (local) or across all (Redis)."""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid

import pytest
import redis

from bot.cache.replay import (
    DEFAULT_SLOW_RETRY_AFTER,
    LocalReplayGuard,
    RedisReplayGuard,
    ReplayGuard,
)
from tests.cache.conftest import LinkFactory, ProxiedRedis
from tests.fakes.clock import FakeClock


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_local_guard_sees_each_key_once_per_ttl(manual_clock: FakeClock) -> None:
    guard: ReplayGuard = LocalReplayGuard(clock=manual_clock)
    assert guard.first_time("sig-1", 300)
    assert not guard.first_time("sig-1", 300)
    assert guard.first_time("sig-2", 10)
    manual_clock.advance(11)
    assert guard.first_time("sig-2", 10)  # its own TTL is over
    assert not guard.first_time("sig-1", 300)
    manual_clock.advance(300)
    assert guard.first_time("sig-1", 300)


def test_local_guard_is_bounded(manual_clock: FakeClock) -> None:
    guard = LocalReplayGuard(max_keys=3, clock=manual_clock)
    for n in range(10):
        assert guard.first_time(f"k{n}", 300)
    assert guard.first_time("k0", 300)  # forgotten to make room


def test_local_guard_lets_one_of_many_threads_through(manual_clock: FakeClock) -> None:
    guard = LocalReplayGuard(clock=manual_clock)
    firsts: list[bool] = []
    threads = [
        threading.Thread(target=lambda: firsts.append(guard.first_time("same", 60)))
        for _ in range(20)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert sorted(firsts) == [False] * 19 + [True]


def test_redis_guard_is_shared_by_processes(
    make_link: LinkFactory, prefix: str, redis_client: redis.Redis
) -> None:
    one: ReplayGuard = RedisReplayGuard(make_link(), prefix=prefix)
    other = RedisReplayGuard(make_link(), prefix=prefix)
    assert one.first_time("sig-1", 300)
    assert not other.first_time("sig-1", 300)
    assert not one.first_time("sig-1", 300)
    assert other.first_time("sig-2", 1.5)
    ttl = redis_client.pttl(f"{prefix}replay:sig-2")
    assert 0 < ttl <= 1500


def test_redis_guard_keeps_long_keys_short(
    make_link: LinkFactory, prefix: str, redis_client: redis.Redis
) -> None:
    guard = RedisReplayGuard(make_link(), prefix=prefix)
    assert guard.first_time("x" * 10_000, 60)
    assert not guard.first_time("x" * 10_000, 60)
    assert guard.first_time("x" * 9_999, 60)
    assert all(len(k) < 120 for k in redis_client.scan_iter(match=f"{prefix}*"))


def test_redis_guard_falls_back_to_memory(make_link: LinkFactory, prefix: str) -> None:
    guard = RedisReplayGuard(make_link(f"redis://127.0.0.1:{closed_port()}/13"), prefix=prefix)
    assert guard.first_time("sig-1", 300)
    assert not guard.first_time("sig-1", 300)


def test_what_redis_saw_is_remembered_for_an_outage(
    make_link: LinkFactory, prefix: str, manual_clock: FakeClock, proxied_redis: ProxiedRedis
) -> None:
    link = make_link(proxied_redis.url)
    guard = RedisReplayGuard(link, prefix=prefix, fallback=LocalReplayGuard(clock=manual_clock))
    assert guard.first_time("sig-1", 300)
    proxied_redis.proxy.close()  # Redis goes away
    assert not guard.first_time("sig-1", 300)
    assert guard.first_time("sig-2", 300)
    assert not link.up


@pytest.mark.parametrize("guard_kind", ["local", "redis"])
def test_both_guards_satisfy_the_protocol(guard_kind: str, request: pytest.FixtureRequest) -> None:
    guard: ReplayGuard = LocalReplayGuard()
    if guard_kind == "redis":  # only this one needs Redis
        make_link: LinkFactory = request.getfixturevalue("make_link")
        guard = RedisReplayGuard(make_link(), prefix=request.getfixturevalue("prefix"))
    assert guard.first_time("k", 1) is True
    assert guard.first_time("k", 1) is False


# ---- a slow Redis: it answers, but later than a request thread may wait -------------------

SLOW_REPLY = 0.4  # seconds a reply takes: under the link's own timeout, so Redis is not "down"


def slow_guard(
    make_link: LinkFactory, proxied: ProxiedRedis, prefix: str, clock: FakeClock
) -> RedisReplayGuard:
    guard = RedisReplayGuard(
        make_link(proxied.url),
        prefix=prefix,
        fallback=LocalReplayGuard(clock=clock),
        clock=clock,
    )
    assert guard.first_time("warm-up", 60)  # a connection is open before Redis turns slow
    return guard


def test_a_slow_redis_gives_way_to_the_local_guard_and_is_logged_once(
    make_link: LinkFactory,
    prefix: str,
    manual_clock: FakeClock,
    proxied_redis: ProxiedRedis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    guard = slow_guard(make_link, proxied_redis, prefix, manual_clock)
    proxied_redis.proxy.latency = SLOW_REPLY
    caplog.set_level(logging.INFO, logger="bot.cache.replay")
    assert guard.first_time("sig-1", 300)
    assert not guard.first_time("sig-1", 300)  # this process remembers it meanwhile
    for n in range(20):
        assert guard.first_time(f"sig-more-{n}", 300)
    slow = [r for r in caplog.records if "is slow" in r.getMessage()]
    assert len(slow) == 1, caplog.text
    assert slow[0].levelno == logging.WARNING
    assert "replay check" in slow[0].getMessage()


def test_after_a_slow_spell_redis_answers_again(
    make_link: LinkFactory,
    prefix: str,
    manual_clock: FakeClock,
    proxied_redis: ProxiedRedis,
    redis_client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    guard = slow_guard(make_link, proxied_redis, prefix, manual_clock)
    proxied_redis.proxy.latency = SLOW_REPLY
    caplog.set_level(logging.INFO, logger="bot.cache.replay")
    assert guard.first_time("while-slow", 300)
    assert guard.slow
    proxied_redis.proxy.latency = 0.0
    assert guard.first_time("still-local", 300)  # within retry_after: Redis is not asked
    assert redis_client.get(f"{prefix}replay:still-local") is None
    recover(guard, manual_clock)
    assert guard.first_time("quick-again", 300)
    assert redis_client.get(f"{prefix}replay:quick-again") is not None
    assert "answers replay checks in time again" in caplog.text


def test_the_slow_warning_is_rate_limited(
    make_link: LinkFactory,
    prefix: str,
    manual_clock: FakeClock,
    proxied_redis: ProxiedRedis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    guard = slow_guard(make_link, proxied_redis, prefix, manual_clock)
    caplog.set_level(logging.INFO, logger="bot.cache.replay")
    for spell in range(3):  # slow, quick again, slow again: within a few minutes
        proxied_redis.proxy.latency = SLOW_REPLY
        assert guard.first_time(f"slow-{spell}", 300)
        assert guard.slow
        proxied_redis.proxy.latency = 0.0
        recover(guard, manual_clock)
    assert caplog.text.count("is slow") == 1, caplog.text


def recover(guard: RedisReplayGuard, clock: FakeClock, timeout: float = 10.0) -> None:
    """Let the guard try Redis again until a check is answered in time."""
    deadline = time.monotonic() + timeout
    while guard.slow:
        assert time.monotonic() < deadline, "the guard never used Redis again"
        clock.advance(DEFAULT_SLOW_RETRY_AFTER + 1)
        guard.first_time(f"probe-{uuid.uuid4().hex}", 300)
