"""What the demo API can be made to do wrong, and what it was asked: for tests and benchmarks.

`Switches` inject latency, failures, hangs, bad JSON and dropped connections; `RequestCounts`
records the requests the server answered.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

DEFAULT_TOKEN_LIFETIME = timedelta(hours=20).total_seconds()


@dataclass(slots=True)
class _Fault:
    kind: str  # "status", "invalid_json" or "drop"
    remaining: int
    path: str | None
    status: int = 503
    retry_after: str | None = None
    message: str | None = None


class Switches:
    """Misbehaviour on demand, for tests and manual trials; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._unhung = threading.Event()
        self._unhung.set()
        self._hang_path: str | None = None
        self.latency = 0.0  # seconds added to every answer
        self.token_lifetime = DEFAULT_TOKEN_LIFETIME  # seconds
        self.token_generation = 0

    def fail_next(
        self,
        n: int = 1,
        status: int = 503,
        *,
        retry_after: float | str | None = None,
        path: str | None = None,
        message: str | None = None,
    ) -> None:
        """The next `n` requests (to paths starting with `path`) answer `status` (`message`)."""
        header = None if retry_after is None else str(retry_after)
        if isinstance(retry_after, float) and retry_after.is_integer():
            header = str(int(retry_after))
        self._add(_Fault("status", n, path, status, header, message))

    def invalid_json_next(self, n: int = 1, *, path: str | None = None) -> None:
        self._add(_Fault("invalid_json", n, path))

    def drop_next(self, n: int = 1, *, path: str | None = None) -> None:
        """Close the connection without answering."""
        self._add(_Fault("drop", n, path))

    def hang(self, path: str | None = None) -> None:
        """Requests (to `path`) get no answer until `release_hang()`."""
        with self._lock:
            self._hang_path = path
            self._unhung.clear()

    def release_hang(self) -> None:
        self._unhung.set()

    def revoke_tokens(self) -> None:
        """Tokens issued so far answer 401 from now on (the fixed demo token stays valid)."""
        with self._lock:
            self.token_generation += 1

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()
            self.latency = 0.0
            self.token_lifetime = DEFAULT_TOKEN_LIFETIME
        self._unhung.set()

    def _add(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.path is None or path.startswith(fault.path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
            return None

    def _wait_if_hung(self, path: str) -> None:
        with self._lock:
            hang_path = self._hang_path
        if not self._unhung.is_set() and (hang_path is None or path.startswith(hang_path)):
            self._unhung.wait()


class RequestCounts:
    """What the server was asked: method, path and query parameters of every request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counter: Counter[tuple[str, str, tuple[tuple[str, str], ...]]] = Counter()
        self._in_flight: Counter[str] = Counter()
        self._peak: Counter[str] = Counter()

    def enter(self, who: str) -> None:
        """A release list for `who` (an account) starts: two at once are two polls at once."""
        with self._lock:
            self._in_flight[who] += 1
            self._peak[who] = max(self._peak[who], self._in_flight[who])

    def leave(self, who: str) -> None:
        with self._lock:
            self._in_flight[who] -= 1

    def peak_in_flight(self, who: str) -> int:
        """The most release lists for `who` the server answered at one time."""
        with self._lock:
            return self._peak[who]

    def record(self, method: str, path: str, params: Mapping[str, str]) -> None:
        with self._lock:
            self._counter[(method, path, tuple(sorted(params.items())))] += 1

    def count(
        self,
        path: str | None = None,
        method: str | None = None,
        params: Mapping[str, str] | None = None,
    ) -> int:
        """Requests matching every given part; `params` must match exactly (use {} for none)."""
        wanted = None if params is None else tuple(sorted(params.items()))
        with self._lock:
            return sum(
                n
                for (m, p, q), n in self._counter.items()
                if (path is None or p == path)
                and (method is None or m == method)
                and (wanted is None or q == wanted)
            )

    @property
    def total(self) -> int:
        return self.count()

    def most_repeated(self) -> int:
        """How often the most asked request (method, path and parameters) was asked."""
        with self._lock:
            return max(self._counter.values(), default=0)

    def reset(self) -> None:
        with self._lock:
            self._counter.clear()
            self._peak.clear()
