"""Alembic's entry point: migrate the connection `bot.notify.store.migrations` hands over.

That connection is already inside the write transaction that holds the migration lock, so
every step runs in it and a failed step leaves the database as it was.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from bot.notify.store.schema import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "the store's migrations run through bot.notify.store.migrations.migrate(), "
        "which passes the connection (and takes the lock)"
    )
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
