"""Singleton jobs: one process at a time runs a named job; a killed holder frees it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bot.clock import SystemClock
from bot.notify.scale.records import ClaimsNeedPostgreSQL
from bot.notify.scale.singleton import SingletonJobs
from bot.notify.store import Store
from bot.notify.store.database import Database
from bot.notify.store.engine import create_store_engine
from tests.notify.support import end_lock_sessions

WAIT = 10.0


def test_a_running_job_is_skipped_elsewhere_and_runs_again_after(pg_store: Store) -> None:
    one = SingletonJobs(Database(pg_store.engine, SystemClock()))
    other = Store.from_url(pg_store.engine.url.render_as_string(hide_password=False))
    two = SingletonJobs(Database(other.engine, SystemClock()))
    inside, leave = threading.Event(), threading.Event()
    ran: list[str] = []

    def purge() -> None:
        ran.append("one")
        inside.set()
        leave.wait(WAIT)

    holder = threading.Thread(target=one.run, args=("purge", purge))
    holder.start()
    try:
        assert inside.wait(WAIT)
        assert not two.run("purge", lambda: ran.append("two"))
        assert two.run("rotate-keys", lambda: ran.append("rotate"))  # other names are free
    finally:
        leave.set()
        holder.join(WAIT)
    assert two.run("purge", lambda: ran.append("two"))
    assert ran == ["one", "rotate", "two"]
    other.close()


def test_a_killed_holder_s_lock_goes_with_its_connection(pg_store: Store) -> None:
    jobs = SingletonJobs(Database(pg_store.engine, SystemClock()))
    inside, leave = threading.Event(), threading.Event()

    def stuck() -> None:
        inside.set()
        leave.wait(WAIT)

    holder = threading.Thread(target=jobs.run, args=("purge", stuck))
    holder.start()
    try:
        assert inside.wait(WAIT)
        assert not jobs.run("purge", lambda: None)
        assert end_lock_sessions(pg_store, "singleton:purge") == 1  # as if killed
        assert jobs.run("purge", lambda: None)
    finally:
        leave.set()
        holder.join(WAIT)


def test_sqlite_is_refused(tmp_path: Path) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path}/x.db")
    with pytest.raises(ClaimsNeedPostgreSQL, match="advisory locks"):
        SingletonJobs(Database(engine, SystemClock()))
    engine.dispose()
