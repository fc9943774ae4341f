"""Several claiming worker processes on one PostgreSQL database, with every setting at its
default: no connection is polled by two at once, each commit is fenced (one per claim), a
stop hands everything back, and a SIGKILLed worker's connections are taken by the others as
its leases run out, none lost.

The database is one of its own (CLAIMS_E2E_DATABASE, created and dropped here) on the server
of TEST_DATABASE_URL.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from bot.clock import SystemClock
from bot.notify.scale.claims import ScheduleClaims
from bot.notify.scale.worker import DEFAULT_LEASE_SECONDS
from bot.notify.store import Store
from bot.notify.store.database import Database
from bot.notify.store.engine import normalize_database_url
from tests.e2e.claiming_worker import TABLES
from tests.notify.conftest import PG_URL

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
DATABASE = os.environ.get("CLAIMS_E2E_DATABASE", "releases_bot_claims_e2e")
POLL_SECONDS = 0.2
CONNECTIONS = 30
WAIT = 60.0


@pytest.fixture
def url() -> Iterator[str]:
    server = normalize_database_url(PG_URL)
    admin = create_engine(server, isolation_level="AUTOCOMMIT",
                          connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    except SQLAlchemyError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL not usable: {type(exc).__name__}")
    own = server.set(database=DATABASE).render_as_string(hide_password=False)
    try:
        with Store.from_url(own) as store, store.engine.begin() as conn:
            for ddl in TABLES:
                conn.execute(text(ddl))
        yield own
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def claims(url: str) -> Iterator[ScheduleClaims]:
    with Store.from_url(url) as store:
        live = ScheduleClaims(Database(store.engine, SystemClock()))
        for n in range(CONNECTIONS):
            live.register(f"c{n:02d}", 1)
        yield live


class Fleet:
    def __init__(self, url: str, logs: Path) -> None:
        self.url, self.logs = url, logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, owner: str) -> None:
        log = (self.logs / f"{owner}.log").open("wb")
        self.procs[owner] = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.claiming_worker", self.url, owner,
             str(POLL_SECONDS)],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:]
                         for p in sorted(self.logs.glob("*.log")))

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def wait(self, predicate: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} not within {timeout:.0f} s\n{self.output()}")
            time.sleep(0.05)


@contextmanager
def fleet(url: str, tmp_path: Path, *owners: str) -> Iterator[Fleet]:
    workers = Fleet(url, tmp_path)
    try:
        for owner in owners:
            workers.start(owner)
        yield workers
    finally:
        workers.stop()


def _rows(engine: Engine, sql: str) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def _overlaps(engine: Engine, ended_by: datetime | None = None) -> list[tuple[str, str, str]]:
    """Polls of one connection that overlapped in time; an unfinished poll lasts until
    `ended_by` (the moment its worker was killed)."""
    polls: dict[str, list[tuple[datetime, datetime, str]]] = defaultdict(list)
    for connection_id, worker, started, ended in _rows(
        engine, "SELECT connection_id, worker, started, ended FROM poll_log"
    ):
        end = ended or ended_by
        assert isinstance(started, datetime), (worker, started)
        assert isinstance(end, datetime), (worker, started)
        polls[str(connection_id)].append((started, end, str(worker)))
    found = []
    for connection_id, spans in polls.items():
        spans.sort()
        for (_s1, e1, w1), (s2, _e2, w2) in itertools.pairwise(spans):
            if s2 < e1:
                found.append((connection_id, w1, w2))
    return found


def _commits(engine: Engine) -> dict[str, list[tuple[int, str]]]:
    by: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for connection_id, generation, worker in _rows(
        engine, "SELECT connection_id, generation, worker FROM poll_commits ORDER BY started"
    ):
        by[str(connection_id)].append((int(generation), str(worker)))  # type: ignore[call-overload]
    return by


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(text(sql)) or 0)


def test_three_workers_never_poll_one_connection_at_once(
    url: str, claims: ScheduleClaims, tmp_path: Path
) -> None:
    engine = create_engine(url)
    try:
        with fleet(url, tmp_path, "w1", "w2", "w3") as workers:
            workers.wait(lambda: _count(engine, "SELECT min(n) FROM (SELECT count(*) AS n FROM"
                                        " poll_commits GROUP BY connection_id) AS c"
                                        f" HAVING count(*) = {CONNECTIONS}") >= 5
                         and _count(engine, "SELECT count(DISTINCT worker) FROM poll_commits")
                         == 3, "five commits of every connection, and work for every worker")
        assert all(p.returncode == 0 for p in workers.procs.values()), workers.output()
        assert _overlaps(engine) == []
        commits = _commits(engine)
        assert len(commits) == CONNECTIONS
        for connection_id, done in commits.items():
            generations = [g for g, _w in done]
            assert generations == sorted(set(generations)), connection_id  # one per claim
        assert {w for done in commits.values() for _g, w in done} == {"w1", "w2", "w3"}
        leased = "SELECT count(*) FROM connection_schedules WHERE lease_owner IS NOT NULL"
        assert _count(engine, leased) == 0  # a clean stop leaves no lease behind
    finally:
        engine.dispose()


def test_a_killed_worker_s_connections_are_taken_within_one_lease(
    url: str, claims: ScheduleClaims, tmp_path: Path
) -> None:
    engine = create_engine(url)
    try:
        with fleet(url, tmp_path, "victim", "w2", "w3") as workers:
            workers.wait(lambda: len(claims.held_by("victim")) >= 2, "the victim's claims")
            workers.procs["victim"].send_signal(signal.SIGKILL)
            workers.procs["victim"].wait()
            killed_at = claims.now()
            orphans = {
                str(cid): (int(gen), exp) for cid, gen, exp in _rows(  # type: ignore[call-overload]
                    engine, "SELECT connection_id, lease_generation, lease_expires_at"
                    " FROM connection_schedules WHERE lease_owner = 'victim'"
                    " AND lease_expires_at > now()")
            }
            assert orphans, "the victim held nothing when it was killed"

            def taken_over() -> bool:
                commits = _commits(engine)
                return all(any(g > gen and w != "victim" for g, w in commits.get(cid, []))
                           for cid, (gen, _exp) in orphans.items())

            # Within one lease of the kill (plus a claim pass and a poll on a busy machine).
            workers.wait(taken_over, "the takeover", timeout=DEFAULT_LEASE_SECONDS + 5)
            before = {cid: len(done) for cid, done in _commits(engine).items()}
            workers.wait(lambda: all(len(_commits(engine).get(f"c{n:02d}", [])) > before.get(
                f"c{n:02d}", 0) for n in range(CONNECTIONS)), "a poll of every connection")
        assert _overlaps(engine, ended_by=killed_at) == []
        for cid, (_gen, expires) in orphans.items():
            successors = _rows(engine, "SELECT min(started) FROM poll_log WHERE connection_id"
                               f" = '{cid}' AND worker <> 'victim' AND started > "
                               f"'{killed_at.isoformat()}'")
            (first,) = successors
            assert isinstance(first[0], datetime)
            assert isinstance(expires, datetime)
            assert first[0] >= expires  # taken only once the victim's lease had run out
        assert all(p.returncode == 0 for o, p in workers.procs.items() if o != "victim")
    finally:
        engine.dispose()
