"""Distributed mode's workers end to end: several `releases-bot worker` processes on one
PostgreSQL database poll the connections of several MetaKraftwerk customers whose release ids are
the same, each with its own account. Each customer's changes queue rows only for its own
workspace's subscription; no account is ever answered two release lists at once; a worker
killed mid-poll has its connections taken over, and nothing is lost or queued twice."""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.clock import SystemClock
from bot.connect.links import LinkSigner
from bot.connect.records import Account, Connection
from bot.connect.store import ConnectionStore
from bot.demo.api_server import Customer, DemoApiServer
from bot.notify.store import Store
from bot.notify.store.schema import connection_schedules, outbox
from bot.secret_box import SecretBox
from bot.secret_box import new_key as new_fernet_key
from bot.tenant import Tenant
from tests.e2e.conftest import WorkerProcess, Workers, clean_env
from tests.e2e.test_distributed_install import database_url

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(300)]

__all__ = ["database_url"]

CUSTOMERS = 6
WORKERS = 3
WAIT = 90.0  # a bound for the test to give up, not a speed it asserts


def _wait_for(what: str, done: Callable[[], bool], workers: Workers) -> None:
    deadline = time.monotonic() + WAIT
    while not done():
        if time.monotonic() > deadline or not any(w.running for w in workers.started):
            raise AssertionError(f"gave up waiting for {what}\n{workers.logs()}")
        time.sleep(0.2)


class Fleet:
    """The stand-in's customers, their connections and subscriptions, and the database."""

    def __init__(self, api: DemoApiServer, url: str, key: str) -> None:
        self.api = api
        self.store = Store.from_url(url)  # migrates, as the workers would
        self.connections = ConnectionStore(
            self.store.engine, SecretBox([key]), SystemClock(), interval_seconds=1
        )
        self.customers: dict[str, Customer] = {}
        self.by_team: dict[str, Connection] = {}
        for n in range(1, CUSTOMERS + 1):
            team = f"T{n}"
            customer = api.add_customer(f"c{n}@example.com", f"pw-{n}")
            self.customers[team] = customer
            self.by_team[team] = self._connect(team, customer)
            self.store.subscriptions.add_change(
                team_id=team, channel_id=f"C{n}", filters="all", created_by="U1"
            )

    def _connect(self, team: str, customer: Customer) -> Connection:
        _token, nonce_hash = LinkSigner("k").new_link()
        self.connections.add_link(nonce_hash, Tenant("", team), "U1")
        grant = self.connections.link(nonce_hash)
        assert grant is not None
        # No session kept yet: each connection's first poll logs in with its password.
        return self.connections.connect(grant, Account(
            self.api.url, customer.email, customer.password, "none",
            datetime.now(UTC) - timedelta(hours=1),
        ))

    def rows(self) -> list[tuple[str, str, int, str]]:
        with self.store.engine.connect() as conn:
            return [
                (r.team_id, r.channel_id, r.release_id, r.kind)
                for r in conn.execute(select(outbox).order_by(outbox.c.id))
            ]

    def schedules(self) -> dict[str, dict[str, object]]:
        with self.store.engine.connect() as conn:
            return {
                row.connection_id: dict(row._mapping)
                for row in conn.execute(select(connection_schedules))
            }

    def last_good(self) -> dict[str, datetime | None]:
        with self.store.engine.connect() as conn:
            return {
                row.connection_id: row.last_good_poll_at
                for row in conn.execute(select(connection_schedules))
            }

    def all_polled_since(self, since: datetime) -> bool:
        times = self.last_good()
        return len(times) == CUSTOMERS and all(
            at is not None and at > since for at in times.values()
        )

    def polled_since(self, connection_id: str, since: datetime) -> bool:
        at = self.last_good().get(connection_id)
        return at is not None and at > since


@pytest.fixture
def fleet(database_url: str, tmp_path: Path) -> Iterator[tuple[Fleet, Workers]]:
    key = new_fernet_key()
    with DemoApiServer() as api:
        api.switches.latency = 0.3
        made = Fleet(api, database_url, key)
        env = clean_env(
            RELEASES_BOT_MODE="distributed", SLACK_CLIENT_ID="111.222",
            SLACK_CLIENT_SECRET="client-secret", SLACK_SIGNING_SECRET="signing", PUBLIC_URL="https://bot.example",
            SECRET_KEYS=key, DATABASE_URL=database_url, POLL_INTERVAL_SECONDS="1",
            METAKRAFTWERK_ALLOWED_URLS=api.url, LOG_LEVEL="INFO",
        )
        workers = Workers(env, tmp_path)
        try:
            yield made, workers
        finally:
            try:
                workers.stop_all()
            finally:
                made.store.close()


def _shared_open_id(fleet: Fleet) -> int:
    first = next(iter(fleet.customers.values()))
    return next(r.id for r in first.data.releases() if not r.closed and not r.deleted)


def test_workers_poll_each_connection_alone_and_route_to_its_own_workspace(
    fleet: tuple[Fleet, Workers],
) -> None:
    made, workers = fleet
    started = datetime.now(UTC)
    for _ in range(WORKERS):
        workers.start()
    _wait_for("every connection's baseline", lambda: made.all_polled_since(started), workers)
    assert made.rows() == []

    shared = _shared_open_id(made)
    for customer in made.customers.values():  # the same release id closes at every customer
        customer.data.close(shared)
    expected = sorted((f"T{n}", f"C{n}", shared, "closed") for n in range(1, CUSTOMERS + 1))
    _wait_for("a row per workspace", lambda: len(made.rows()) >= CUSTOMERS, workers)
    after = datetime.now(UTC)
    _wait_for("another round of polls", lambda: made.all_polled_since(after), workers)
    assert sorted(made.rows()) == expected  # its own workspace only, and once

    # A worker killed in the middle of a poll: its connection is taken over, its change
    # is queued once, and nothing else is lost.
    made.api.switches.latency = 3.0
    victim, held = _worker_holding_a_lease(made, workers)
    renamed = _shared_open_id(made)
    for customer in made.customers.values():
        customer.data.rename(renamed, "Renamed everywhere")
    victim.proc.send_signal(signal.SIGKILL)
    victim.proc.wait(timeout=10)
    killed_at = datetime.now(UTC)
    made.api.switches.latency = 0.3
    _wait_for(
        f"connection {held} taken over",
        lambda: made.polled_since(held, killed_at),
        workers,
    )
    _wait_for("the renames", lambda: len(made.rows()) >= 2 * CUSTOMERS, workers)
    after = datetime.now(UTC)
    _wait_for("another round of polls", lambda: made.all_polled_since(after), workers)
    rows = Counter(made.rows())
    assert sorted(rows) == sorted([
        *expected, *((f"T{n}", f"C{n}", renamed, "renamed") for n in range(1, CUSTOMERS + 1))
    ])
    assert set(rows.values()) == {1}, rows
    for customer in made.customers.values():
        assert made.api.counts.peak_in_flight(customer.email) == 1, customer.email
    # One login per account: every later poll, in whichever process, used the sealed session.
    assert made.api.counts.count("/authentication", "POST") == CUSTOMERS
    workers.started.remove(victim)  # killed on purpose: no clean exit to check


def _worker_holding_a_lease(made: Fleet, workers: Workers) -> tuple[WorkerProcess, str]:
    """A running worker that holds a connection's lease now (a poll in flight)."""
    found: list[tuple[WorkerProcess, str]] = []

    def holding() -> bool:
        by_pid = {w.proc.pid: w for w in workers.started if w.running}
        for connection_id, row in made.schedules().items():
            owner = row["lease_owner"]
            if isinstance(owner, str) and int(owner.split(":")[1]) in by_pid:
                found.append((by_pid[int(owner.split(":")[1])], connection_id))
                return True
        return False

    _wait_for("a worker mid-poll", holding, workers)
    return found[0]

