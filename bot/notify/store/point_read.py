"""One value read on every command, without SQLAlchemy's per-execution work.

A `Connection.scalar` of a one-row SELECT coerces the statement's parts, builds its cache key,
runs the begin/commit events (SQLite's explicit BEGIN) and wraps the result: about 420 µs of CPU
per read measured on the project's 2-core machine, where the query itself takes 20 µs. A read
that every `/releases` command makes (the language a person chose) is compiled here once for
the engine's dialect and run on a pooled DBAPI connection: the same pool, pre-ping and
reset-on-return as every other statement, about 20 µs in all. Writes, and anything that needs
a transaction over several statements, stay with `Database.read` and `Database.write`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select
from sqlalchemy.exc import DBAPIError

from bot.notify.store.database import Database
from bot.notify.store.trouble import unavailable_as_store_error


class PointRead:
    """`statement` (a SELECT of one column, its values as named bindparams), compiled once."""

    def __init__(self, db: Database, statement: Select[Any]) -> None:
        self._engine = db.engine
        compiled = statement.compile(dialect=self._engine.dialect)
        self._sql = str(compiled)
        self._names = tuple(compiled.positiontup or ()) if compiled.positional else None

    def scalar(self, **values: Any) -> Any:
        """The first column of the first row, or None when there is no row. A database that is
        locked or unreachable raises StoreUnavailable, as the other reads do."""
        params: Any = (
            values if self._names is None else tuple(values[name] for name in self._names)
        )
        with unavailable_as_store_error():
            raw = self._engine.raw_connection()
            cursor: Any = None
            try:
                cursor = raw.cursor()
                try:
                    cursor.execute(self._sql, params)
                    row = cursor.fetchone()
                finally:
                    cursor.close()
            except self._engine.dialect.loaded_dbapi.Error as exc:
                # As SQLAlchemy does for its own statements: the driver's error wrapped, and a
                # connection that broke is not handed out again.
                wrapped = DBAPIError.instance(
                    self._sql, params, exc, self._engine.dialect.loaded_dbapi.Error,
                    dialect=self._engine.dialect,
                    connection_invalidated=self._engine.dialect.is_disconnect(exc, raw, cursor),
                )
                if wrapped.connection_invalidated:
                    raw.invalidate(exc)
                raise wrapped from exc
            finally:
                raw.close()
        return None if row is None else row[0]
