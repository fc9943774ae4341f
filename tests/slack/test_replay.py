"""The in-process replay guard: one True per key within its TTL, across threads."""

from __future__ import annotations

import threading

from bot.slack.replay import MemoryReplayGuard, ReplayGuard


class Timer:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_key_is_new_once_within_its_ttl() -> None:
    timer = Timer()
    guard: ReplayGuard = MemoryReplayGuard(timer=timer)
    assert guard.first_time("a", 300)
    assert not guard.first_time("a", 300)
    assert guard.first_time("b", 300)
    timer.now = 299.9
    assert not guard.first_time("a", 300)
    timer.now = 300.1
    assert guard.first_time("a", 300)


def test_each_key_keeps_its_own_ttl() -> None:
    timer = Timer()
    guard = MemoryReplayGuard(timer=timer)
    assert guard.first_time("short", 10)
    assert guard.first_time("long", 100)
    timer.now = 50
    assert guard.first_time("short", 10)
    assert not guard.first_time("long", 100)


def test_many_threads_with_one_key_get_exactly_one_true() -> None:
    guard = MemoryReplayGuard()
    results: list[bool] = []
    start = threading.Barrier(16)

    def one() -> None:
        start.wait()
        results.append(guard.first_time("same", 300))

    threads = [threading.Thread(target=one) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 15 + [True]
