"""The worker lease: one worker at a time, and fencing of writes by a worker that lost it.

On PostgreSQL leadership is also held as a session-level advisory lock on a connection of its
own (`SessionLock`): the server drops it the moment that connection dies, so a killed worker's
successor takes the lease row over at once instead of waiting for it to expire.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, or_, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from bot.notify.records import Lease, LeaseLost
from bot.notify.store.database import Database
from bot.notify.store.schema import worker_leases

log = logging.getLogger(__name__)


class LeaseRepository:
    """Leases expire, so a dead worker's successor takes over after at most one TTL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def acquire(self, lease: Lease, ttl: timedelta, *, force: bool = False) -> bool:
        """Take the lease if free, expired, or already ours (then it is extended).

        `force` takes it from any holder: only for the owner of the `SessionLock`, whose
        predecessor's session (and so its claim) is gone. The fence then stops that
        predecessor's writes, should it still be alive.
        """
        now = self._db.now()
        free = or_(worker_leases.c.holder == lease.holder, worker_leases.c.expires_at <= now)
        with self._db.write() as conn:
            taken = conn.execute(
                update(worker_leases)
                .where(worker_leases.c.name == lease.name, *(() if force else (free,)))
                .values(holder=lease.holder, expires_at=now + ttl, acquired_at=now)
            ).rowcount
            if taken:
                return True
            return (
                conn.execute(
                    self._db.insert_ignore(worker_leases, "name")
                    .values(
                        name=lease.name, holder=lease.holder, expires_at=now + ttl,
                        acquired_at=now,
                    )
                    .returning(worker_leases.c.name)
                ).first()
                is not None
            )

    def renew(self, lease: Lease, ttl: timedelta) -> bool:
        """Extend our lease; False if someone else has taken it over meanwhile."""
        now = self._db.now()
        with self._db.write() as conn:
            return bool(
                conn.execute(
                    update(worker_leases)
                    .where(
                        worker_leases.c.name == lease.name,
                        worker_leases.c.holder == lease.holder,
                    )
                    .values(expires_at=now + ttl)
                ).rowcount
            )

    def release(self, lease: Lease) -> bool:
        with self._db.write() as conn:
            return bool(
                conn.execute(
                    delete(worker_leases).where(
                        worker_leases.c.name == lease.name, worker_leases.c.holder == lease.holder
                    )
                ).rowcount
            )

    def session_lock(self, name: str) -> SessionLock | None:
        """The advisory lock for `name` on PostgreSQL; None on SQLite, which has none."""
        return SessionLock(self._db, name) if self._db.dialect == "postgresql" else None

    def holder(self, name: str) -> str | None:
        """The current, unexpired holder of a lease, if any."""
        with self._db.read() as conn:
            return conn.scalar(
                select(worker_leases.c.holder).where(
                    worker_leases.c.name == name, worker_leases.c.expires_at > self._db.now()
                )
            )


def check_fence(conn: Connection, fence: Lease, now: datetime) -> None:
    holder = conn.execute(
        select(worker_leases.c.holder, worker_leases.c.expires_at)
        .where(worker_leases.c.name == fence.name)
        .with_for_update()
    ).one_or_none()
    if holder is None or holder.holder != fence.holder or holder.expires_at <= now:
        raise LeaseLost(f"lease {fence.name!r} is not held by {fence.holder!r}")


class SessionLock:
    """A PostgreSQL session-level advisory lock held on a dedicated connection.

    The key includes the schema, so deployments (and tests) sharing a database do not
    exclude each other. Not thread-safe: one owner (the lease keeper) uses it.
    """

    def __init__(self, db: Database, name: str) -> None:
        self._db = db
        self._name = name
        self._conn: Connection | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None

    def try_take(self) -> bool:
        """Take the lock, or confirm it is still ours (the connection is alive)."""
        if self._conn is not None:
            if self.alive():
                return True
            self._drop()
        try:
            conn = self._db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except SQLAlchemyError as exc:
            log.warning("could not open the worker lock connection: %s", type(exc).__name__)
            return False
        try:
            got = bool(conn.scalar(
                text("SELECT pg_try_advisory_lock(hashtext(current_schema() || ':' || :name))"),
                {"name": self._name},
            ))
        except SQLAlchemyError as exc:
            log.warning("could not take the worker lock: %s", type(exc).__name__)
            got = False
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def alive(self) -> bool:
        """Whether the lock's connection still answers; a dead one has lost the lock."""
        if self._conn is None:
            return False
        try:
            self._conn.scalar(text("SELECT 1"))
        except SQLAlchemyError:
            self._drop()
            return False
        return True

    def release(self) -> None:
        """Unlock and close, so a successor takes over on its next round."""
        if self._conn is None:
            return
        try:
            self._conn.scalar(
                text("SELECT pg_advisory_unlock(hashtext(current_schema() || ':' || :name))"),
                {"name": self._name},
            )
            self._conn.close()
        except SQLAlchemyError:
            self._drop()
        self._conn = None

    def _drop(self) -> None:
        """Forget a broken connection; invalidated, so the pool never hands it out again."""
        if self._conn is not None:
            try:
                self._conn.invalidate()
                self._conn.close()
            except SQLAlchemyError:
                pass
        self._conn = None
