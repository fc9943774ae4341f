"""The per-host cap: no more than `per_host` requests to one host at once, hosts apart."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from bot.notify.scale.host_limits import HostLimits

WAIT = 10.0


def _until(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {WAIT:.0f} s")
        time.sleep(0.005)


def test_one_host_gets_at_most_its_cap_and_the_rest_wait() -> None:
    limits = HostLimits(per_host=3)
    go = threading.Event()
    entered: list[int] = []
    peak = [0]
    lock = threading.Lock()

    def call(n: int) -> None:
        with limits.slot("mkw.example"):
            with lock:
                entered.append(n)
                peak[0] = max(peak[0], limits.in_flight("mkw.example"))
            go.wait(WAIT)

    threads = [threading.Thread(target=call, args=(n,)) for n in range(7)]
    for t in threads:
        t.start()
    _until(lambda: len(entered) == 3, "three callers in")
    assert limits.in_flight("mkw.example") == 3
    assert not limits.try_slot("mkw.example")  # full: a fourth would wait
    assert limits.try_slot("other.example")  # another host has slots of its own
    limits.release("other.example")
    go.set()
    for t in threads:
        t.join(WAIT)
    assert sorted(entered) == list(range(7))
    assert peak[0] == 3
    assert limits.in_flight("mkw.example") == 0


def test_a_failing_call_gives_its_slot_back() -> None:
    limits = HostLimits(per_host=1)
    with pytest.raises(RuntimeError), limits.slot("h"):
        raise RuntimeError("upstream 503")
    assert limits.try_slot("h")


def test_a_cap_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        HostLimits(per_host=0)
