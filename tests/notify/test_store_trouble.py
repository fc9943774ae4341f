"""A locked, slow or unreachable database: subscription commands say so within seconds.

The deadlines below are loose on purpose; the promise is "seconds, not half a minute or never".
"""

from __future__ import annotations

import logging
import re
import socket
import sqlite3
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError

from bot.app.answers import Caller, Reply
from bot.config import Settings
from bot.notify.store import Store, StoreUnavailable
from bot.notify.store.engine import (
    PG_LOCK_TIMEOUT_SECONDS,
    PG_STATEMENT_TIMEOUT_SECONDS,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    create_store_engine,
)
from bot.notify.subscription_commands import SubscriptionCommands
from bot.query import Query, SubscribeCommand, SubscriptionsCommand
from tests.fakes.clock import FakeClock
from tests.render.limits import all_text

CALLER = Caller(team_id="T1", channel_id="C1", user_id="U0ALICE")
SUBSCRIBE = SubscribeCommand(Query(groups=("DWH_GROUP",)))
BUSY = re.compile(
    r"The subscription database is busy or unreachable; try again in a minute "
    r"\(ref ([0-9a-f]{6})\)"
)
PROMISE_SECONDS = 15.0


def commands(store: Store) -> SubscriptionCommands:
    return SubscriptionCommands(store, settings=Settings(), group_names=dict, clock=FakeClock())


def answer_in_time(store: Store, command: object = SUBSCRIBE) -> tuple[str, float]:
    started = time.monotonic()
    reply: Reply = commands(store).handle(command, CALLER)  # type: ignore[arg-type]
    elapsed = time.monotonic() - started
    assert reply.mode == "ephemeral"
    return all_text(reply.message), elapsed


def assert_busy_answer(shown: str, caplog: pytest.LogCaptureFixture) -> None:
    found = BUSY.search(shown)
    assert found is not None, shown
    assert "Traceback" not in shown
    logged = [r.getMessage() for r in caplog.records if found.group(1) in r.getMessage()]
    assert len(logged) == 1
    assert "subscription database is unavailable" in logged[0]


def test_timeouts_are_seconds() -> None:
    assert 1 <= SQLITE_BUSY_TIMEOUT_SECONDS <= 5
    assert PG_LOCK_TIMEOUT_SECONDS <= 5
    assert PG_STATEMENT_TIMEOUT_SECONDS <= 15


def test_a_locked_sqlite_file_is_reported_within_seconds(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store.from_url(sqlite_url)
    blocker = sqlite3.connect(str(make_url(sqlite_url).database), isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        with caplog.at_level(logging.INFO):
            shown, elapsed = answer_in_time(store)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        store.close()
    assert_busy_answer(shown, caplog)
    assert "locked" in caplog.text
    assert elapsed < PROMISE_SECONDS


def test_an_unreachable_postgresql_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    store = Store(create_store_engine(f"postgresql://bot:pw@127.0.0.1:{port}/db"), migrate=False)
    try:
        with caplog.at_level(logging.INFO):
            shown, _ = answer_in_time(store, SubscriptionsCommand())
    finally:
        store.close()
    assert_busy_answer(shown, caplog)
    assert ":pw@" not in caplog.text


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never says a word, like a hung database host."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


@pytest.mark.timeout(60)
def test_a_postgresql_that_never_answers_is_reported_within_seconds(
    silent_server: int, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"postgresql://bot@127.0.0.1:{silent_server}/db"
    store = Store(create_store_engine(url), migrate=False)
    try:
        with caplog.at_level(logging.INFO):
            shown, elapsed = answer_in_time(store, SubscriptionsCommand())
    finally:
        store.close()
    assert_busy_answer(shown, caplog)
    assert elapsed < PROMISE_SECONDS


@pytest.mark.postgres
def test_postgresql_sessions_carry_the_timeouts_and_keep_the_urls_options(pg_url: str) -> None:
    with Store.from_url(pg_url) as store, store.engine.connect() as conn:
        assert conn.scalar(text("SHOW statement_timeout")) == f"{PG_STATEMENT_TIMEOUT_SECONDS}s"
        assert conn.scalar(text("SHOW lock_timeout")) == f"{PG_LOCK_TIMEOUT_SECONDS}s"
        assert "test_notify_" in str(conn.scalar(text("SHOW search_path")))


@pytest.fixture
def locked_sqlite(sqlite_url: str) -> Iterator[Store]:
    """A store whose file another connection holds an exclusive lock on."""
    store = Store.from_url(sqlite_url)
    blocker = sqlite3.connect(str(make_url(sqlite_url).database), isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        yield store
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        store.close()


def test_a_lock_becomes_store_unavailable(locked_sqlite: Store) -> None:
    with pytest.raises(StoreUnavailable, match="locked"):
        locked_sqlite.subscriptions.add_change(
            team_id="T1", channel_id="C1", filters="open", created_by="U1"
        )


def test_a_bug_stays_a_bug(sqlite_url: str) -> None:
    # SQLite reports a missing table as an OperationalError, like a lock; only a lock is trouble.
    with (
        Store.from_url(sqlite_url) as store,
        pytest.raises(OperationalError, match="no such table"),
        store._db.read() as conn,
    ):
        conn.execute(text("SELECT * FROM no_such_table"))


@pytest.mark.postgres
@pytest.mark.timeout(60)
def test_a_locked_postgresql_table_is_reported_within_seconds(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store.from_url(pg_url)
    blocker = create_engine(pg_url)
    try:
        with blocker.connect() as conn, conn.begin():
            conn.execute(text("LOCK TABLE subscriptions IN ACCESS EXCLUSIVE MODE"))
            with caplog.at_level(logging.INFO):
                shown, elapsed = answer_in_time(store)
    finally:
        blocker.dispose()
        store.close()
    assert_busy_answer(shown, caplog)
    assert elapsed < PROMISE_SECONDS
