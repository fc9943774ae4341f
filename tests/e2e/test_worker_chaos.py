"""Chaos from outside: the Procfile's `worker` through a PostgreSQL connection cut mid-round,
Slack failing (HTTP 500, then calls hanging past the client's timeout) for a while, and
MetaKraftwerk flapping between 200, 503 and too slow, on SQLite and on PostgreSQL.

Each scenario closes releases that a channel's subscription hears about and asserts that every
close is announced, that at most one post is repeated per fault, and that nothing else is
posted. It prints how long after each fault ended the first post came. Slack's back-off is at
its default everywhere; the blip after a takeover runs with every setting at its default.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from bot.demo.api_server import DemoApiServer
from bot.notify.store import Store
from tests.e2e.conftest import (
    RELEASES_PATH,
    VENV_BIN,
    Answered,
    RecordingSlack,
    Workers,
    web_env,
)
from tests.fakes.tcp_proxy import TcpProxy
from tests.notify.conftest import pg_url, sqlite_url  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow

POLL_INTERVAL = 1.0
SLACK_TIMEOUT = 1.0  # SLACK_TIMEOUT_SECONDS
API_DEADLINE = 2.0  # API_DEADLINE_SECONDS
WAIT = 30.0
TEAM, CHANNEL = "T1", "C1"


class ChaosSlack(RecordingSlack):
    """Takes `latency` seconds for each chat.postMessage, so a round of posts lasts a while;
    `while_posting` runs once inside the post that `fault_at_post` counts (from 1), after
    Slack took it and before the worker hears so."""

    latency = 0.0
    fault_at_post = 0
    while_posting: Callable[[], None] | None = None
    fail_posts = 0  # the next chat.postMessage calls answer HTTP 500, one each
    polls: Callable[[], int] = staticmethod(lambda: 0)

    def __init__(self) -> None:
        super().__init__()
        self.rounds_seen: list[tuple[bool, int]] = []  # each post: (accepted, polls before it)

    def answer(
        self, method: str, args: dict[str, Any], token: str | None = None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if method != "chat.postMessage" or self.in_outage():
            return super().answer(method, args, token)
        with self._lock:
            failing, self.fail_posts = self.fail_posts > 0, max(0, self.fail_posts - 1)
        if failing:
            refused: tuple[int, dict[str, Any], dict[str, str]] = (
                500, {"ok": False, "error": "fatal_error"}, {})
            with self._lock:
                self.answered.append(Answered(method, args, refused[0], refused[1]))
                self.rounds_seen.append((False, self.polls()))
            return refused
        time.sleep(self.latency)
        answer = super().answer(method, args, token)
        with self._lock:
            self.rounds_seen.append((answer[1].get("ok") is True, self.polls()))
        fault = self.while_posting
        if fault is not None and len(self.accepted(method)) >= self.fault_at_post:
            self.while_posting = None
            fault()
        return answer

    def posts(self) -> list[str]:
        return [str(a.args["text"]) for a in self.accepted("chat.postMessage", CHANNEL)]


class Scenario:
    """One worker process, its demo API and Slack fake, and a channel that hears closes."""

    def __init__(self, demo: DemoApiServer, slack: ChaosSlack, store: Store,
                 workers: Workers) -> None:
        self.demo, self.slack, self.store, self.workers = demo, slack, store, workers
        self.targets = [r for r in demo.data.releases()
                        if not r.closed and not r.deleted and r.name != "Default Release"]
        self.closed: list[str] = []
        self.recoveries: list[tuple[str, float]] = []

    def wait(self, predicate: Callable[[], bool], what: str, timeout: float = WAIT) -> float:
        """Seconds until `predicate` held; fails with the workers' logs after `timeout`."""
        started = time.monotonic()
        while not predicate():
            if time.monotonic() - started > timeout:
                raise AssertionError(f"{what} not within {timeout:.0f} s\n"
                                     f"{self.workers.logs()}")
            time.sleep(0.02)
        return time.monotonic() - started

    def subscribe_and_start(self) -> None:
        sub = self.store.subscriptions.add_change(
            team_id=TEAM, channel_id=CHANNEL, filters="open", created_by="U1"
        )
        self.workers.start()
        self.wait(lambda: bool((s := self.store.subscriptions.get(TEAM, CHANNEL, sub.id))
                               and s.baseline_done), "the baseline")

    def close(self, count: int) -> None:
        """Close the next `count` target releases at MetaKraftwerk."""
        for release in self.targets[len(self.closed):len(self.closed) + count]:
            self.demo.data.close(release.id)
            self.closed.append(release.name)

    def recovered(self, fault: str, ended_at: float) -> float:
        """Record (and return) how long after `ended_at` Slack accepted the next post."""
        before = len(self.slack.posts())
        self.wait(lambda: len(self.slack.posts()) > before, f"a post after the {fault}")
        seconds = time.monotonic() - ended_at
        self.recoveries.append((fault, seconds))
        return seconds

    def assert_all_announced(self, faults: int, database_url: str) -> None:
        """Every close announced, at most one repeat per fault, nothing else posted."""
        self.wait(lambda: announced(self.slack.posts()) >= set(self.closed),
                  "every close announced")
        time.sleep(POLL_INTERVAL * 2)  # a late duplicate would land now
        posts = self.slack.posts()
        repeated = sum(n - 1 for n in Counter(posts).values())
        figures = "; ".join(f"{fault}: first post {s:.2f} s after it ended"
                            for fault, s in self.recoveries)
        print(f"\n{make_url(database_url).get_backend_name()}: {figures}; "
              f"{repeated} repeated of {len(self.closed)}")
        assert repeated <= faults, Counter(posts)
        assert announced(posts) == set(self.closed), posts  # nothing else was news
        assert len(posts) == len(self.closed) + repeated, posts


def announced(posts: list[str]) -> set[str]:
    """The releases a list of posts announced as closed."""
    return {p.split(" closed")[0] for p in posts if " closed" in p}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


@pytest.fixture
def chaos_slack() -> Iterator[ChaosSlack]:
    slack = ChaosSlack()
    with slack:
        yield slack


@pytest.fixture
def demo() -> Iterator[DemoApiServer]:
    with DemoApiServer() as api:
        yield api


def _scenario(demo: DemoApiServer, slack: ChaosSlack, store: Store, tmp_path: Path,
              worker_database_url: str) -> tuple[Scenario, Workers]:
    env = web_env(demo, slack, tmp_path, DATABASE_URL=worker_database_url,
                  POLL_INTERVAL_SECONDS=str(POLL_INTERVAL), CACHE_TTL_SECONDS="1",
                  SLACK_TIMEOUT_SECONDS=str(SLACK_TIMEOUT),
                  API_DEADLINE_SECONDS=str(API_DEADLINE))
    workers = Workers(env, tmp_path)
    return Scenario(demo, slack, store, workers), workers


@pytest.mark.postgres
def test_the_worker_recovers_by_itself_from_a_postgresql_connection_cut_mid_round(
    pg_url: str, demo: DemoApiServer, chaos_slack: ChaosSlack,  # noqa: F811
    tmp_path: Path,
) -> None:
    chaos_slack.latency = 0.4
    with TcpProxy(make_url(pg_url).port or 5432) as proxy, Store.from_url(pg_url) as store:
        through_proxy = make_url(pg_url).set(port=proxy.port).render_as_string(
            hide_password=False)
        scenario, workers = _scenario(demo, chaos_slack, store, tmp_path, through_proxy)
        try:
            scenario.subscribe_and_start()
            chaos_slack.fault_at_post, chaos_slack.while_posting = 3, proxy.close
            scenario.close(8)
            # Mid-round, while Slack takes the third post: the worker cannot mark it sent.
            scenario.wait(lambda: chaos_slack.while_posting is None, "the third post")
            time.sleep(3.0)
            assert workers.started[0].running, workers.logs()
            proxy.start()
            recovery = scenario.recovered("connection cut", time.monotonic())
            scenario.assert_all_announced(faults=1, database_url=pg_url)
            assert recovery <= POLL_INTERVAL + 10, workers.logs()
        finally:
            workers.stop_all()


def test_posts_resume_after_slack_answers_500_and_then_hangs_for_a_while(
    database_url: str, demo: DemoApiServer, chaos_slack: ChaosSlack, tmp_path: Path,
) -> None:
    with Store.from_url(database_url) as store:
        scenario, workers = _scenario(demo, chaos_slack, store, tmp_path, database_url)
        try:
            scenario.subscribe_and_start()
            scenario.close(8)
            scenario.wait(lambda: len(chaos_slack.posts()) >= 2, "the first posts")
            for fault, outage, hang in (("HTTP 500 outage", 3.0, 0.0),
                                        ("timeout outage", 4.0, SLACK_TIMEOUT + 1.0)):
                chaos_slack.outage(outage, hang=hang)
                time.sleep(outage)
                # With the default back-off the channel's waits during the outage are drawn
                # below 1 s, 2 s, 4 s …: the last one ends at most about an outage later.
                recovery = scenario.recovered(fault, time.monotonic())
                assert recovery <= 2 * outage + hang + POLL_INTERVAL + 5, workers.logs()
            refused = chaos_slack.refused("chat.postMessage", CHANNEL)
            assert (500, "fatal_error") in refused, refused
            hung = len(chaos_slack.calls_to("chat.postMessage")) - len(
                chaos_slack.accepted("chat.postMessage")) - len(refused)
            assert hung >= 1, "no call hung past the client's timeout"
            scenario.assert_all_announced(faults=2, database_url=database_url)
        finally:
            workers.stop_all()


def test_posts_follow_metakraftwerk_flapping_between_200_503_and_slow(
    database_url: str, demo: DemoApiServer, chaos_slack: ChaosSlack, tmp_path: Path,
) -> None:
    with Store.from_url(database_url) as store:
        scenario, workers = _scenario(demo, chaos_slack, store, tmp_path, database_url)
        switches = demo.switches
        try:
            scenario.subscribe_and_start()
            faults: list[tuple[str, Callable[[], None]]] = [
                ("503 phase", lambda: switches.fail_next(10_000, 503, path=RELEASES_PATH)),
                ("slow phase", lambda: setattr(switches, "latency", API_DEADLINE + 1.0)),
            ] * 2
            for fault, start in faults:
                start()
                scenario.close(1)  # a change that only the end of the fault can reveal
                time.sleep(3.0)
                assert announced(chaos_slack.posts()) < set(scenario.closed), (
                    f"a post during the {fault}: {chaos_slack.posts()}")
                switches.reset()
                scenario.recovered(fault, time.monotonic())
            scenario.assert_all_announced(faults=len(faults), database_url=database_url)
            log = workers.logs(tail=1_000_000)
            # Both faults reached the worker, and it skipped those rounds rather than compare.
            assert "poll skipped: MetaKraftwerk failed (MetaKraftwerk is unavailable" in log, log
            assert f"did not answer within {API_DEADLINE:.0f} s" in log, log
        finally:
            workers.stop_all()


BLIP_RELEASES = 40
BLIP_FAILURES = 4


@pytest.mark.timeout(300)
def test_a_slack_500_blip_after_a_takeover_holds_the_channel_for_seconds_with_defaults(
    database_url: str, demo: DemoApiServer, chaos_slack: ChaosSlack, tmp_path: Path,
) -> None:
    """40 releases close at once; the worker is killed (SIGKILL) while Slack takes its third
    post, and started again; then Slack answers HTTP 500 four times. With every setting at its
    default (a poll a minute), the retries run between polls: the four refusals and the next
    accepted post all come before the successor's second poll, every close is announced, and
    the post Slack took as the worker died is the only one repeated.
    """
    chaos_slack.latency = 0.2
    chaos_slack.polls = lambda: demo.counts.count(path=RELEASES_PATH, method="GET", params={})
    group = demo.data.add_group("Blip")
    for n in range(BLIP_RELEASES):
        demo.data.add(f"Blip {n:02d}", group)
    env = web_env(demo, chaos_slack, tmp_path, DATABASE_URL=database_url)
    with Store.from_url(database_url) as store:
        store.subscriptions.add_change(
            team_id=TEAM, channel_id=CHANNEL, filters="open", created_by="U1"
        )
        _run_once(env, tmp_path)  # the baseline, so the worker's first round sees the closes
        workers = Workers(env, tmp_path)
        scenario = Scenario(demo, chaos_slack, store, workers)
        scenario.targets = [r for r in demo.data.releases() if r.name.startswith("Blip")]
        try:
            first = workers.start()

            def crash() -> None:  # inside the third post: Slack has it, the worker never hears
                os.killpg(first.proc.pid, signal.SIGKILL)
                chaos_slack.fail_posts = BLIP_FAILURES  # the successor meets a 500 blip

            chaos_slack.fault_at_post, chaos_slack.while_posting = 3, crash
            scenario.close(BLIP_RELEASES)
            scenario.wait(lambda: chaos_slack.while_posting is None, "the third post")
            first.proc.wait(10)
            workers.started.remove(first)
            workers.start()
            scenario.wait(lambda: announced(chaos_slack.posts()) >= set(scenario.closed),
                          "every close announced", timeout=180)
            time.sleep(2.0)  # a late duplicate would land now
            posts = chaos_slack.posts()
            repeated = sum(n - 1 for n in Counter(posts).values())
            assert repeated <= 1, Counter(posts)
            assert announced(posts) == set(scenario.closed), posts
            assert len(posts) == len(scenario.closed) + repeated, posts
            seen = chaos_slack.rounds_seen
            refusals = [i for i, (ok, _) in enumerate(seen) if not ok]
            assert len(refusals) == BLIP_FAILURES, (seen, workers.logs(tail=20000))
            first_refused, last_refused = refusals[0], refusals[-1]
            recovery = seen[last_refused + 1]
            # Delivery resumed within seconds: no poll (a minute apart) came between Slack's
            # first 500 and the next accepted post, and the refusals came back to back.
            assert refusals == list(range(first_refused, last_refused + 1)), seen
            assert recovery[0], seen
            assert recovery[1] == seen[first_refused][1], (seen, workers.logs())
            print(f"\n{make_url(database_url).get_backend_name()}: {repeated} repeated of "
                  f"{len(scenario.closed)}; polls seen by the posts: "
                  f"{sorted({p for _, p in seen})}")
        finally:
            workers.stop_all()


def _run_once(env: dict[str, str], workdir: Path) -> None:
    """`releases-bot worker --once`: one round, here the subscription's baseline."""
    done = subprocess.run(
        [str(VENV_BIN / "releases-bot"), "worker", "--once"], cwd=workdir, env=env,
        capture_output=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")

