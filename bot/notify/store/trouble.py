"""Database trouble that is worth a retry later (locks, timeouts, lost connections), not a bug."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

# SQLite result codes that mean trouble with the file, not with the statement: BUSY, LOCKED,
# NOMEM, READONLY, IOERR, FULL, CANTOPEN, PROTOCOL. (It reports "no such table" as an
# OperationalError too.)
_SQLITE_TROUBLE = frozenset({5, 6, 7, 8, 10, 13, 14, 15})


class StoreUnavailable(RuntimeError):
    """The database is locked, too slow or unreachable: worth a retry later, not a bug."""


@contextmanager
def unavailable_as_store_error() -> Iterator[None]:
    """Locks, timeouts and lost connections become StoreUnavailable; bugs stay what they are."""
    try:
        yield
    except PoolTimeoutError as exc:
        raise StoreUnavailable(_trouble(exc)) from exc
    except DBAPIError as exc:
        if not _is_trouble(exc):
            raise
        raise StoreUnavailable(_trouble(exc)) from exc


def _is_trouble(exc: DBAPIError) -> bool:
    if exc.connection_invalidated:
        return True
    sqlite_code = getattr(exc.orig, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int):
        return sqlite_code & 0xFF in _SQLITE_TROUBLE
    return isinstance(exc, OperationalError | InterfaceError)


def describe_trouble(exc: Exception) -> str:
    """One line on what went wrong, without the statement or its parameters."""
    return _trouble(exc)


def _trouble(exc: Exception) -> str:
    """One line on what went wrong, without the statement or its parameters."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0] if lines else 'no detail'}"
