"""Side-by-side benchmark: the bot's single-flight cache against cachetools and against no cache.

Run: `.venv/bin/python -m tests.benchmarks.bench_cache [--threads 20] [--latency 0.05]`

Two scenarios, each run for every contender in the same process, one after the other:
- outage: every upstream call fails after `latency` seconds, N threads ask for one key at once;
- burst:  every upstream call succeeds after `latency` seconds, N threads ask for one key at once.
It prints, per contender, upstream calls, the slowest caller's wait, and the ratio to the bot's
cache, with the machine noted. Nothing here asserts a time; the tests assert the call counts.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import cachetools

from bot.cache.release_cache import ReleaseCache
from bot.clock import Deadline, SystemClock
from bot.metakraftwerk.errors import Unavailable
from bot.metakraftwerk.filter import ApiFilter
from bot.metakraftwerk.models import Release

RELEASES = tuple(Release(id=i, name=f"R{i}") for i in range(1, 200))


class Upstream:
    """A fake API: sleeps `latency`, then answers or fails; counts calls."""

    def __init__(self, latency: float, fail: bool) -> None:
        self.latency = latency
        self.fail = fail
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self) -> tuple[Release, ...]:
        with self._lock:
            self.calls += 1
        time.sleep(self.latency)
        if self.fail:
            raise Unavailable("MetaKraftwerk is unavailable (HTTP 503)", cause="HTTP 503")
        return RELEASES

    # The ReleaseSource protocol, for ReleaseCache.
    def new_deadline(self) -> Deadline:
        return Deadline.start(SystemClock(), 8.0)

    def list_releases(
        self, f: ApiFilter | None = None, *, deadline: Deadline | None = None
    ) -> tuple[Release, ...]:
        return self()

    def get_release(self, release_id: int, *, deadline: Deadline | None = None) -> Release:
        raise NotImplementedError

    def fetch_groups(self, *, deadline: Deadline | None = None) -> dict[int, str]:
        return {}


@dataclass(frozen=True)
class Outcome:
    upstream_calls: int
    slowest: float
    median: float


def run(threads: int, lookup: Callable[[], object]) -> tuple[float, float]:
    barrier = threading.Barrier(threads)
    waits: list[float] = []
    lock = threading.Lock()

    def one() -> None:
        barrier.wait()
        start = time.perf_counter()
        with contextlib.suppress(Unavailable):
            lookup()
        with lock:
            waits.append(time.perf_counter() - start)

    pool = [threading.Thread(target=one) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return max(waits), statistics.median(waits)


def contenders(upstream: Upstream) -> dict[str, Callable[[], object]]:
    lock = threading.Lock()
    condition = threading.Condition(lock)

    @cachetools.cached(cachetools.TTLCache(maxsize=16, ttl=60), lock=lock, condition=condition)
    def with_cachetools(key: str) -> tuple[Release, ...]:
        return upstream()

    ours = ReleaseCache(upstream, ttl_seconds=60)
    return {
        "no cache": upstream,
        "cachetools cached(condition=)": lambda: with_cachetools("k"),
        "releases-bot ReleaseCache": lambda: ours.releases(ApiFilter()),
    }


def scenario(name: str, threads: int, latency: float, fail: bool) -> None:
    print(
        f"\n{name}: {threads} threads, one key, upstream {latency * 1000:.0f} ms, "
        f"{'failing' if fail else 'answering'}"
    )
    results: dict[str, Outcome] = {}
    for label in contenders(Upstream(latency, fail)):
        upstream = Upstream(latency, fail)  # a fresh upstream (and cache) per contender
        lookup = contenders(upstream)[label]
        slowest, median = run(threads, lookup)
        results[label] = Outcome(upstream.calls, slowest, median)
    ours = results["releases-bot ReleaseCache"]
    print(
        f"  {'contender':32} {'upstream calls':>14} {'slowest wait':>13} {'median':>9} "
        f"{'slowest / ours':>15}"
    )
    for label, r in results.items():
        print(
            f"  {label:32} {r.upstream_calls:14d} {r.slowest * 1000:10.0f} ms "
            f"{r.median * 1000:6.0f} ms {r.slowest / ours.slowest:14.1f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}, {platform.system()}"
    )
    scenario("outage", args.threads, args.latency, fail=True)
    scenario("burst", args.threads, args.latency, fail=False)


if __name__ == "__main__":
    main()
