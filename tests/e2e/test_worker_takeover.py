"""Takeover from outside: the Procfile's `worker` killed with SIGKILL mid-round, then started
again, on SQLite and on PostgreSQL. The successor must post within one poll interval plus a
few seconds (process start-up included), announce every release and repeat at most one post.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.demo.api_server import DemoApiServer
from bot.notify.store import Store
from tests.e2e.conftest import Answered, RecordingSlack, Workers, web_env
from tests.notify.conftest import pg_url, sqlite_url  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow

POLL_INTERVAL = 1.0
SLACK_LATENCY = 0.4  # seconds Slack takes for each post, as measured in production
START_UP_ALLOWANCE = 10.0  # a Python process starting, importing and migrating, on a busy CI
WAIT = 60.0


class SlowSlack(RecordingSlack):
    """Takes SLACK_LATENCY for each chat.postMessage, so a round of posts lasts a while."""

    def answer(
        self, method: str, args: dict[str, Any], token: str | None = None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if method == "chat.postMessage":
            time.sleep(SLACK_LATENCY)
        return super().answer(method, args, token)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


@pytest.fixture
def slow_slack() -> Iterator[SlowSlack]:
    slack = SlowSlack()
    with slack:
        yield slack


def _wait(predicate: Any, what: str, workers: Workers, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {timeout:.0f} s\n{workers.logs()}")
        time.sleep(0.02)


def test_a_killed_workers_successor_posts_within_one_poll_interval(
    database_url: str, slow_slack: SlowSlack, tmp_path: Path,
    record_property: Any,
) -> None:
    with DemoApiServer() as demo:
        env = web_env(demo, slow_slack, tmp_path, DATABASE_URL=database_url,
                      POLL_INTERVAL_SECONDS=str(POLL_INTERVAL), CACHE_TTL_SECONDS="1")
        with Store.from_url(database_url) as store:
            sub = store.subscriptions.add_change(
                team_id="T1", channel_id="C1", filters="open", created_by="U1"
            )
            workers = Workers(env, tmp_path)
            try:
                first = workers.start()
                _wait(lambda: bool((s := store.subscriptions.get("T1", "C1", sub.id))
                                   and s.baseline_done), "the baseline", workers)
                targets = [r for r in demo.data.releases() if not r.closed and not r.deleted]
                for target in targets:
                    demo.data.close(target.id)
                _wait(lambda: len(slow_slack.accepted("chat.postMessage")) >= 3,
                      "the first posts", workers)
                os.killpg(first.proc.pid, signal.SIGKILL)  # mid-round: posts are still due
                first.proc.wait(10)
                workers.started.remove(first)
                killed_at = time.monotonic()
                time.sleep(SLACK_LATENCY + 0.2)  # the dead worker's last post lands meanwhile
                before = len(slow_slack.answered)
                workers.start()
                _wait(lambda: any(a.ok and a.method == "chat.postMessage"
                                  for a in slow_slack.answered[before:]),
                      "a post by the successor", workers)
                silence = time.monotonic() - killed_at
                _wait(lambda: _announced(slow_slack.accepted("chat.postMessage"))
                      >= {t.name for t in targets}, "every release announced", workers)
                posts = Counter(a.args["text"] for a in slow_slack.accepted("chat.postMessage"))
                repeated = sum(n - 1 for n in posts.values())
                record_property("takeover_seconds", round(silence, 2))
                print(f"\n{database_url.split(':')[0]}: first post {silence:.2f} s after "
                      f"SIGKILL; {repeated} repeated of {len(targets)}")
                assert silence <= POLL_INTERVAL + START_UP_ALLOWANCE, workers.logs()
                assert repeated <= 1, posts
            finally:
                workers.stop_all()


def _announced(posts: list[Answered]) -> set[str]:
    return {str(a.args["text"]).split(" closed")[0] for a in posts if " closed" in a.args["text"]}
