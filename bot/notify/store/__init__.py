"""Persistent state of the notification side, one repository per concern.

SQLAlchemy Core over SQLite (one file, WAL) or PostgreSQL. Every repository method is one
transaction, and the ones that must be atomic say so. Times are aware UTC datetimes taken from
an injected clock, so tests control expiry and "now". The records the repositories return are
in `bot.notify.records`, free of database code.
"""

from __future__ import annotations

import time

from sqlalchemy import Engine, text

from bot.clock import Clock, SystemClock
from bot.notify.store.database import Database
from bot.notify.store.digests import DigestRepository
from bot.notify.store.engine import DEFAULT_DATABASE_URL, create_store_engine
from bot.notify.store.follows import FollowRepository
from bot.notify.store.languages import LanguageRepository
from bot.notify.store.leases import LeaseRepository
from bot.notify.store.migrations import current_version, migrate
from bot.notify.store.outbox import OutboxRepository
from bot.notify.store.shared_channels import SharedChannelRepository
from bot.notify.store.subscriptions import SubscriptionRepository
from bot.notify.store.trouble import StoreUnavailable
from bot.notify.store.worker_status import WorkerStatusRepository

__all__ = ["Store", "StoreUnavailable"]

MIGRATE_PATIENCE_SECONDS = 30.0


class Store:
    """The repositories over one database; safe to share between threads."""

    def __init__(
        self, engine: Engine, *, clock: Clock | None = None, migrate: bool = True
    ) -> None:
        self._db = Database(engine, clock or SystemClock())
        self.subscriptions = SubscriptionRepository(self._db)
        self.outbox = OutboxRepository(self._db)
        self.digests = DigestRepository(self._db)
        self.leases = LeaseRepository(self._db)
        self.follows = FollowRepository(self._db)
        self.shared_channels = SharedChannelRepository(self._db)
        self.worker_status = WorkerStatusRepository(self._db)
        self.languages = LanguageRepository(self._db)
        if migrate:
            self.migrate()

    @classmethod
    def from_url(
        cls, database_url: str = DEFAULT_DATABASE_URL, *, clock: Clock | None = None
    ) -> Store:
        return cls(create_store_engine(database_url), clock=clock)

    @property
    def engine(self) -> Engine:
        return self._db.engine

    def close(self) -> None:
        self._db.engine.dispose()

    def ping(self) -> None:
        """`SELECT 1`: raises when the database cannot be reached (for health checks)."""
        with self._db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def migrate(self) -> int:
        """Create or upgrade the schema; concurrent starts serialise, each step runs once.

        Commands give up on a lock within seconds (StoreUnavailable), but a process starting
        beside others may wait longer for their migrations: nobody waits on it yet.
        """
        deadline = time.monotonic() + MIGRATE_PATIENCE_SECONDS
        while True:
            try:
                with self._db.write() as conn:
                    return migrate(conn, self._db.now())
            except StoreUnavailable:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.2)

    def schema_version(self) -> int:
        with self._db.read() as conn:
            return current_version(conn)
