"""Replay guards: a key is new once per TTL, in one process (local) or across all (Redis)."""

from __future__ import annotations

import socket
import threading

import pytest
import redis

from bot.cache.replay import LocalReplayGuard, RedisReplayGuard, ReplayGuard
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
