"""Single flight: concurrent identical calls share one execution and its outcome.

Unlike a lock around "check cache, else fetch" (or cachetools' `cached(condition=...)`), a failed
call is not repeated by each waiter in turn: every waiter receives the leader's exception at
once, so 50 requests during an outage cost one upstream timeout, not fifty in a row.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class FlightTimeout(TimeoutError):
    """A waiter gave up waiting for the call it joined."""


@dataclass(slots=True)
class _Call(Generic[V]):
    done: threading.Event = field(default_factory=threading.Event)
    value: V | None = None
    error: BaseException | None = None
    waiters: int = 0


@dataclass(frozen=True, slots=True)
class Outcome(Generic[V]):
    value: V
    leader: bool  # False when this caller joined a call already in flight


class SingleFlight(Generic[K, V]):
    """Run `fn` once per key at a time; callers arriving meanwhile wait for that run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[K, _Call[V]] = {}

    def run(self, key: K, fn: Callable[[], V], wait_timeout: float | None = None) -> Outcome[V]:
        with self._lock:
            call = self._calls.get(key)
            leader = call is None
            if call is None:
                call = self._calls[key] = _Call()
            else:
                call.waiters += 1
        if leader:
            try:
                call.value = fn()
            except BaseException as exc:
                call.error = exc
            finally:
                with self._lock:
                    del self._calls[key]
                call.done.set()
        elif not call.done.wait(wait_timeout):
            raise FlightTimeout(f"gave up waiting after {wait_timeout:g} s")
        if call.error is not None:
            raise call.error
        return Outcome(value=call.value, leader=leader)  # type: ignore[arg-type]

    def in_flight(self) -> int:
        """Calls running now."""
        with self._lock:
            return len(self._calls)

    def waiting(self) -> int:
        """Callers waiting for a call that another caller runs."""
        with self._lock:
            return sum(call.waiters for call in self._calls.values())
