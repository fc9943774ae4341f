"""One engine and one clock, and the transactions every repository runs its statements in."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from bot.clock import Clock
from bot.notify.store.engine import WRITE
from bot.notify.store.trouble import unavailable_as_store_error


class Database:
    """Transactions over one engine; times come from the injected clock as aware UTC."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self._clock = clock

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def now(self) -> datetime:
        now = self._clock.now()
        if now.tzinfo is None:
            raise ValueError("the store's clock must return aware datetimes")
        return now.astimezone(UTC)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with unavailable_as_store_error(), self.engine.connect() as conn:
            conn.execution_options(**{WRITE: True})
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A consistent view across statements (SQLite gives one per transaction anyway)."""
        with unavailable_as_store_error(), self.engine.connect() as conn:
            if self.dialect == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    def take_turns(self, conn: Connection, name: str) -> None:
        """Writers of `name` (a channel's subscriptions, a user's follows) run one at a time.

        A cap checked by counting holds only if no other writer counts at once. SQLite's write
        transaction (BEGIN IMMEDIATE) already excludes every other writer; PostgreSQL's READ
        COMMITTED does not, so this takes a transaction-scoped advisory lock there, released at
        commit, waited for no longer than the engine's lock_timeout.
        """
        if self.dialect == "postgresql":
            conn.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':' || :name))"),
                {"name": name},
            )

    def insert_ignore(self, table: Table, *conflict: str) -> Insert:
        """INSERT that does nothing when a row with the same key exists.

        Callers add RETURNING and test for a row: rowcount is not reliable once SQLAlchemy
        adds RETURNING for the primary key itself (it reports -1 on PostgreSQL).
        """
        if self.dialect == "postgresql":
            return postgresql.insert(table).on_conflict_do_nothing(index_elements=list(conflict))
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=list(conflict))


def upsert(
    conn: Connection, table: Table, keys: Sequence[str], values: Mapping[str, Any]
) -> None:
    """INSERT, or UPDATE the non-key columns when the key exists: one statement, no race."""
    changes = [name for name in values if name not in keys]
    statement: Any
    if conn.dialect.name == "postgresql":
        pg = postgresql.insert(table).values(**values)
        statement = pg.on_conflict_do_update(
            index_elements=list(keys), set_={name: pg.excluded[name] for name in changes}
        )
    else:
        lite = sqlite.insert(table).values(**values)
        statement = lite.on_conflict_do_update(
            index_elements=list(keys), set_={name: lite.excluded[name] for name in changes}
        )
    conn.execute(statement)
