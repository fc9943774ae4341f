"""Claims on a real PostgreSQL schema of their own, with a clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.notify.scale.claims import ScheduleClaims
from bot.notify.store import Store
from bot.notify.store.database import Database
from tests.fakes.clock import FakeClock
from tests.notify.conftest import clock, pg_url  # noqa: F401  (fixtures)


@pytest.fixture
def pg_store(pg_url: str, clock: FakeClock) -> Iterator[Store]:  # noqa: F811
    with Store.from_url(pg_url, clock=clock) as store:
        yield store


@pytest.fixture
def claims(pg_store: Store, clock: FakeClock) -> ScheduleClaims:  # noqa: F811
    return ScheduleClaims(Database(pg_store.engine, clock))
