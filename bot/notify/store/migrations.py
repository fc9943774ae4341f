"""Hand-written, append-only schema migrations, serialised across processes starting together."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, MetaData, func, insert, select, text

from bot.notify.store.schema import (
    V4_OUTBOX_CHANNEL_INDEX,
    define_v1,
    define_v3_follows,
    define_v5_payloads,
    schema_version,
    v2_columns,
    v3_outbox_columns,
    v3_subscription_columns,
    v5_outbox_columns,
)

log = logging.getLogger(__name__)


def _migrate_v1(conn: Connection) -> None:
    v1 = MetaData()
    define_v1(v1)
    v1.create_all(conn, checkfirst=True)


def _migrate_v2(conn: Connection) -> None:
    for column in v2_columns():
        ddl = column.type.compile(dialect=conn.dialect)
        conn.execute(text(f"ALTER TABLE outbox ADD COLUMN {column.name} {ddl}"))


def _migrate_v3(conn: Connection) -> None:
    """Subscriptions narrowed to kinds of change, and follows of one release."""
    for table, columns in (
        ("subscriptions", v3_subscription_columns()),
        ("outbox", v3_outbox_columns()),
    ):
        for column in columns:
            ddl = column.type.compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column.name} {ddl}"))
    v3 = MetaData()
    define_v3_follows(v3)
    v3.create_all(conn, checkfirst=True)


def _migrate_v4(conn: Connection) -> None:
    """An index for finding the oldest pending row of each channel without a per-row scan."""
    name, columns = V4_OUTBOX_CHANNEL_INDEX
    conn.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON outbox ({', '.join(columns)})"))


def _migrate_v5(conn: Connection) -> None:
    """Payloads stored once per event, not once per row."""
    for column in v5_outbox_columns():
        ddl = column.type.compile(dialect=conn.dialect)
        conn.execute(text(f"ALTER TABLE outbox ADD COLUMN {column.name} {ddl}"))
    v5 = MetaData()
    define_v5_payloads(v5)
    v5.create_all(conn, checkfirst=True)


# Ordered and append-only: step N runs once, in the transaction that records version N.
MIGRATIONS: tuple[tuple[int, Callable[[Connection], None]], ...] = (
    (1, _migrate_v1),
    (2, _migrate_v2),
    (3, _migrate_v3),
    (4, _migrate_v4),
    (5, _migrate_v5),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock, the same in every process."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def migrate(conn: Connection, now: datetime) -> int:
    """Create or upgrade the schema in `conn`'s write transaction; each step runs once."""
    if conn.dialect.name == "postgresql":
        # Guards even the first CREATE TABLE: concurrent DDL would otherwise race.
        conn.execute(
            text("SELECT pg_advisory_xact_lock(:key)"),
            {"key": advisory_key("releases-bot:migrate")},
        )
    schema_version.create(conn, checkfirst=True)
    current = conn.scalar(select(func.max(schema_version.c.version))) or 0
    for version, step in MIGRATIONS:
        if version > current:
            log.info("database schema: applying step %d", version)
            step(conn)
            conn.execute(insert(schema_version).values(version=version, applied_at=now))
    return max(current, SCHEMA_VERSION)


def current_version(conn: Connection) -> int:
    return int(conn.scalar(select(func.max(schema_version.c.version))) or 0)
