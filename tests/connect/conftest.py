"""The store fixtures of the notification tests (a SQLite file and PostgreSQL), and a connect
page served over loopback against the demo MetaKraftwerk API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.demo import DemoApiServer
from tests.connect.serving import ConnectSite, connect_site
from tests.fakes.clock import FakeClock
from tests.notify.conftest import clock, db_url, pg_url, sqlite_url

__all__ = ["clock", "db_url", "pg_url", "sqlite_url"]


@pytest.fixture
def site(sqlite_url: str, demo_api: DemoApiServer, clock: FakeClock) -> Iterator[ConnectSite]:
    with connect_site(sqlite_url, demo_api, clock) as served:
        yield served
