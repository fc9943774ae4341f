"""Store fixtures: every store test runs on a real SQLite file and on PostgreSQL.

PostgreSQL comes from TEST_DATABASE_URL (default: the local server). When it cannot be reached
the PostgreSQL variants are skipped with the reason, except under CI=true, where they fail:
CI must never pass by silently skipping half the store tests. Each test gets its own schema,
dropped afterwards, so tests are isolated and can run repeatedly and in parallel.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from bot.config import redact_url
from bot.notify.store import Store
from bot.notify.store.engine import normalize_database_url
from tests.fakes.clock import FakeClock
from tests.notify.support import T0

PG_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

StoreFactory = Callable[[], Store]


def _unreachable(reason: str) -> None:
    message = f"PostgreSQL not reachable at {redact_url(PG_URL)}: {reason}"
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose connections use a fresh, private schema (dropped after the test)."""
    url = normalize_database_url(PG_URL)
    admin = create_engine(url, connect_args={"connect_timeout": 3})
    schema = f"test_notify_{uuid.uuid4().hex[:12]}"
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except SQLAlchemyError as exc:
        admin.dispose()
        _unreachable(str(getattr(exc, "orig", None) or exc).strip())
    try:
        yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'releases-bot.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def make_store(db_url: str, clock: FakeClock) -> Iterator[StoreFactory]:
    """Opens further stores on the same database: a restarted worker, a second process."""
    opened: list[Store] = []

    def make() -> Store:
        store = Store.from_url(db_url, clock=clock)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: StoreFactory) -> Store:
    return make_store()
