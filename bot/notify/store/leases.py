"""The worker lease: one worker at a time, and fencing of writes by a worker that lost it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, or_, select, update

from bot.notify.records import Lease, LeaseLost
from bot.notify.store.database import Database
from bot.notify.store.schema import worker_leases


class LeaseRepository:
    """Leases expire, so a dead worker's successor takes over after at most one TTL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def acquire(self, lease: Lease, ttl: timedelta) -> bool:
        """Take the lease if free, expired, or already ours (then it is extended)."""
        now = self._db.now()
        with self._db.write() as conn:
            taken = conn.execute(
                update(worker_leases)
                .where(
                    worker_leases.c.name == lease.name,
                    or_(worker_leases.c.holder == lease.holder, worker_leases.c.expires_at <= now),
                )
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
