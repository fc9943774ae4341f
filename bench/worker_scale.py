"""The notification worker at scale: one round's planning time, the store's queries per round,
and the delivery rate with Slack's per-channel limit, against the demo API and a Slack stand-in.

Run: `.venv/bin/python -m bench.worker_scale --database-url postgresql+psycopg://...`
(defaults: 10,000 releases in 100 groups, 5,000 subscriptions over 1,000 channels, 500 changes,
20 s of delivery). The database's notification tables are emptied first: use a database of its
own. Round one records the baseline; then `changes` releases are closed at the API and round two
is measured: planning (fetch, compare, write the outbox), the SQL statements it ran (counted
with a SQLAlchemy event listener), then delivery for `--deliver-seconds` with the real clock.
Between the two, one round in which nothing changed: a worker that has been running, as in
production, not one that just started. The worker logs at INFO, as the Procfile's does, to
a file (`--log-file`, default a temporary one), through the same redacting handler.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from sqlalchemy import delete, event
from sqlalchemy.engine import Engine

from bot.config import Secret, Settings
from bot.demo.api_server import DEMO_TOKEN, DemoApiServer
from bot.demo.data import DemoData
from bot.logs import configure_logging
from bot.metakraftwerk.models import Release
from bot.notify.store import Store
from bot.notify.store.engine import create_store_engine
from bot.notify.store.schema import metadata
from bot.notify.worker import Worker
from bot.slack.webclient import make_web_client
from bot.wiring import build_services
from tests.fakes.slack_api import FakeSlack


@dataclass(frozen=True, slots=True)
class Figures:
    releases: int
    subscriptions: int
    channels: int
    changes: int
    fetch_seconds: float
    plan_seconds: float  # compare, route and write, after the fetch
    quiet_seconds: float  # a whole round (fetch included) in which nothing changed
    plan_queries: int
    enqueued: int
    posted: int
    deliver_seconds: float
    deliver_queries: int
    channels_at_once: int
    closest_posts_in_a_channel: float  # seconds between two posts to one channel, smallest


class QueryCounter:
    def __init__(self, engine: Engine) -> None:
        self.count = 0
        self._lock = threading.Lock()
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *args: Any) -> None:
        with self._lock:
            self.count += 1


def demo_data(releases: int, groups: int, now: datetime) -> DemoData:
    names = {g + 1: f"G{g + 1:03d}" for g in range(groups)}
    start = now - timedelta(days=3)
    rows = [
        Release(
            id=i, name=f"R{i}", group_id=i % groups + 1, description=None, start_date=start,
            end_date=now + timedelta(days=30), closed=False, deleted=False, hotfix_of_id=None,
            prev_release_id=None,
        )
        for i in range(1, releases + 1)
    ]
    return DemoData(rows, names)


def reset(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(delete(table))


def run(options: argparse.Namespace) -> Figures:
    now = datetime.now(UTC)
    data = demo_data(options.releases, options.groups, now)
    engine = create_store_engine(options.database_url)
    store = Store(engine)
    reset(engine)
    with DemoApiServer(data) as api, FakeSlack() as slack:
        settings = Settings(
            metakraftwerk_url=api.url, metakraftwerk_token=Secret(DEMO_TOKEN),
            slack_api_url=slack.url, slack_bot_token=Secret("xoxb-bench"),
        )
        services = build_services(settings)
        try:
            per_channel = options.subscriptions // options.channels
            for c in range(options.channels):
                for s in range(per_channel):
                    group = (c * per_channel + s) % options.groups + 1
                    store.subscriptions.add_change(
                        team_id="T1", channel_id=f"C{c:05d}", filters=f"group:G{group:03d}",
                        created_by="U1",
                    )
            worker = Worker(store, services.finder, make_web_client(settings),
                            settings=settings)
            worker.poll_once()  # the baseline
            started = time.perf_counter()
            worker.poll_once()  # nothing changed: the worker's steady state
            quiet_seconds = time.perf_counter() - started
            step = max(1, options.releases // options.changes)
            for i in range(1, options.releases + 1, step)[: options.changes]:
                data.close(i)
            slack.calls.clear()
            counter = QueryCounter(engine)
            detector = worker._detector
            started = time.perf_counter()
            result, skipped = detector.fetch()
            if result is None or skipped is not None:
                raise SystemExit(f"the round could not compare: {skipped}")
            fetched = time.perf_counter()
            _, _, enqueued, _ = detector.check(result)
            plan_seconds = time.perf_counter() - fetched
            fetch_seconds = fetched - started
            plan_queries = counter.count
            print(f"fetched in {fetch_seconds:.2f} s, planned in {plan_seconds:.2f} s, "
                  f"{plan_queries} statements", flush=True)
            worker._lease.take()  # a slow plan may outlast the lease; delivery needs it back
            stop = threading.Event()
            timer = threading.Timer(options.deliver_seconds, stop.set)
            timer.start()
            started = time.perf_counter()
            posted, _, _ = worker._deliverer.deliver(stop)
            deliver_seconds = time.perf_counter() - started
            timer.cancel()
            deliver_queries = counter.count - plan_queries
        finally:
            services.close()
        posts = [c for c in slack.calls if c.method == "chat.postMessage"]
    by_channel: dict[str, list[float]] = defaultdict(list)
    for call in posts:
        by_channel[str(call.args["channel"])].append(call.at)
    gaps = [b - a for ats in by_channel.values() for a, b in pairwise(ats)]
    seconds = [int(call.at) for call in posts]
    busiest = max((len({str(c.args["channel"]) for c in posts if int(c.at) == s})
                   for s in set(seconds)), default=0)
    engine.dispose()
    return Figures(
        options.releases, per_channel * options.channels, options.channels, options.changes,
        fetch_seconds, plan_seconds, quiet_seconds, plan_queries, enqueued, posted,
        deliver_seconds, deliver_queries,
        busiest, min(gaps, default=float("nan")),
    )


def report(f: Figures) -> str:
    rate = f.posted / f.deliver_seconds if f.deliver_seconds else 0.0
    return "\n".join([
        f"worker round: {f.releases} releases, {f.subscriptions} subscriptions over "
        f"{f.channels} channels, {f.changes} changes",
        f"- one round: fetch {f.fetch_seconds:.2f} s, then planning (compare, route, outbox "
        f"written) {f.plan_seconds:.2f} s (target < 1 s); {f.fetch_seconds + f.plan_seconds:.2f}"
        f" s in all; {f.enqueued} outbox rows",
        f"- the round before, in which nothing changed (fetch included; it reads the snapshot "
        f"back once, later rounds keep it): {f.quiet_seconds:.2f} s",
        f"- store statements while planning: {f.plan_queries}",
        f"- delivery: {f.posted} posts in {f.deliver_seconds:.1f} s = {rate:.1f} posts/s, "
        f"{f.deliver_queries} statements; up to {f.channels_at_once} channels within one "
        f"second; closest two posts to one channel {f.closest_posts_in_a_channel:.2f} s apart",
    ])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--releases", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--subscriptions", type=int, default=5_000)
    parser.add_argument("--channels", type=int, default=1_000)
    parser.add_argument("--changes", type=int, default=500)
    parser.add_argument("--deliver-seconds", type=float, default=20.0)
    parser.add_argument("--log-file", type=Path, default=None)
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        log_file = options.log_file or Path(scratch) / "worker.log"
        configure_logging("INFO", path=log_file)
        figures = run(options)
        lines = sum(1 for _ in log_file.open(encoding="utf-8")) if log_file.exists() else 0
    print(report(figures))
    print(f"- the worker logged {lines} lines at INFO")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
