"""The installation tests run on a real SQLite file and on PostgreSQL, as the store's do."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.install.store import TenantInstallationStore
from bot.notify.store import Store
from bot.notify.store.database import Database
from bot.secret_box import SecretBox, new_key
from tests.fakes.clock import FakeClock
from tests.notify.conftest import clock, db_url, pg_url, sqlite_url

__all__ = ["clock", "db_url", "pg_url", "sqlite_url"]

KEY = new_key()


@pytest.fixture
def database(db_url: str, clock: FakeClock) -> Iterator[Database]:
    with Store.from_url(db_url, clock=clock) as store:
        yield Database(store.engine, clock)


@pytest.fixture
def box() -> SecretBox:
    return SecretBox([KEY])


@pytest.fixture
def installs(database: Database, box: SecretBox) -> TenantInstallationStore:
    return TenantInstallationStore(database, box)
