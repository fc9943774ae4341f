"""Side-by-side benchmark: a standup burst against the real web process, two listener pools.

Run: `.venv/bin/python -m tests.benchmarks.bench_burst [--people 30] [--latency 1.0]`

Starts the Procfile's web process twice in one run, against the demo API (with `latency`
seconds added to every answer) and the loopback Slack stand-in: once with Bolt's default pool
of 5 listener threads (LISTENER_THREADS=5, the baseline) and once with the bot's default (32).
Each time `people` signed `/releases` commands arrive at once; it reports how long the HTTP
acks took (Slack gives up after 3 s) and how long until every answer had arrived.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bot.demo.api_server import DemoApiServer
from tests.e2e.conftest import new_key, running_web
from tests.fakes.slack_api import FakeSlack


@dataclass(frozen=True)
class Burst:
    ack_max: float
    ack_median: float
    all_answered: float


def burst(people: int, latency: float, threads: str, query: str) -> Burst:
    with (
        DemoApiServer() as demo,
        FakeSlack() as slack,
        tempfile.TemporaryDirectory() as workdir,
        running_web(demo, slack, Path(workdir), LISTENER_THREADS=threads) as web,
    ):
        demo.switches.latency = latency
        keys = [new_key() for _ in range(people)]
        acks = [0.0] * people
        barrier = threading.Barrier(people)
        began = 0.0

        def one(i: int) -> None:
            nonlocal began
            barrier.wait()
            start = time.perf_counter()
            began = began or start
            web.command(query, key=keys[i])
            acks[i] = time.perf_counter() - start

        pool = [threading.Thread(target=one, args=(i,)) for i in range(people)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        for key in keys:
            web.answer(key, timeout=60)
        done = time.perf_counter() - began
        demo.switches.latency = 0.0
    return Burst(max(acks), statistics.median(acks), done)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--people", type=int, default=30)
    parser.add_argument("--latency", type=float, default=1.0)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}, {platform.system()}"
    )
    print(f"{args.people} commands at once, API latency {args.latency:.1f} s")
    # Distinct queries, so that each run starts with nothing cached.
    baseline = burst(args.people, args.latency, "5", "group:DWH_GROUP all")
    ours = burst(args.people, args.latency, "32", "group:LAKE_GROUP all")
    print(f"  {'listener threads':18} {'ack max':>9} {'ack median':>11} {'all answered':>13}")
    for label, r in (("5 (Bolt default)", baseline), ("32 (releases-bot)", ours)):
        print(
            f"  {label:18} {r.ack_max:8.2f}s {r.ack_median:10.2f}s {r.all_answered:12.2f}s"
        )
    print(
        f"  ratio baseline/ours: ack max {baseline.ack_max / ours.ack_max:.1f}x, "
        f"all answered {baseline.all_answered / ours.all_answered:.1f}x"
    )


if __name__ == "__main__":
    main()
