"""Claiming due connections, the fenced commit of a poll, and giving a claim back.

Every method is one short transaction with no HTTP inside: a claim locks due rows with
`FOR UPDATE SKIP LOCKED` (two workers never wait on, nor take, the same row), stamps them with
this worker's lease and a new generation, and commits at once. The poll runs outside any
transaction; its commit then locks the row, re-checks owner, generation and expiry, and only
then runs the write callback and sets the next poll time, all in one transaction. A worker
whose lease ran out cannot write, even if it comes back to life mid-commit: the generation has
moved on, or the row is locked by whoever holds it now.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, and_, or_, select, tuple_, update

from bot.notify.scale.records import (
    Claim,
    ClaimLost,
    ClaimsNeedPostgreSQL,
    Schedule,
    ScheduleStatus,
    Write,
)
from bot.notify.store.database import Database
from bot.notify.store.schema import connection_schedules as cs

ERROR_CHARS = 200  # last_error is a short fixed text for `check`, never an upstream body
CLAIMABLE: tuple[ScheduleStatus, ...] = ("active", "failing")


class ScheduleClaims:
    """The schedule rows as workers share them; safe to use from many threads."""

    def __init__(self, db: Database) -> None:
        if db.dialect != "postgresql":
            raise ClaimsNeedPostgreSQL(
                "the distributed worker needs PostgreSQL: SQLite has no row locks that skip "
                "locked rows, so two workers could poll one connection; run the single worker"
            )
        self._db = db

    def now(self) -> datetime:
        return self._db.now()

    def register(self, connection_id: str, interval_seconds: int) -> bool:
        """A schedule row for a new connection, due at once; False if it already has one.

        Registration counts as a change, so a new connection starts at its base interval.
        """
        now = self._db.now()
        with self._db.write() as conn:
            return conn.execute(
                self._db.insert_ignore(cs, "connection_id")
                .values(
                    connection_id=connection_id, next_poll_at=now,
                    interval_seconds=interval_seconds, lease_generation=0,
                    consecutive_failures=0, status="active", last_change_at=now,
                )
                .returning(cs.c.connection_id)
            ).first() is not None

    def claim_due(self, owner: str, limit: int, lease: timedelta) -> list[Claim]:
        """Up to `limit` due connections no one holds, leased to `owner`, soonest due first."""
        if limit <= 0:
            return []
        now = self._db.now()
        due = (
            select(cs.c.connection_id)
            .where(
                cs.c.status.in_(CLAIMABLE), cs.c.next_poll_at <= now,
                or_(cs.c.lease_expires_at.is_(None), cs.c.lease_expires_at <= now),
            )
            .order_by(cs.c.next_poll_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        with self._db.write() as conn:
            rows = conn.execute(
                update(cs)
                .where(cs.c.connection_id.in_(due))
                .values(
                    lease_owner=owner, lease_expires_at=now + lease,
                    lease_generation=cs.c.lease_generation + 1,
                )
                .returning(*cs.c)
            ).all()
        claims = [_claim(row) for row in rows]
        return sorted(claims, key=lambda c: c.connection_id)

    def renew(self, claims: Iterable[Claim], lease: timedelta) -> set[str]:
        """Extend the leases still held; the connection ids of those renewed (one statement)."""
        held = list(claims)
        if not held:
            return set()
        now = self._db.now()
        with self._db.write() as conn:
            renewed = conn.execute(
                update(cs)
                .where(
                    tuple_(cs.c.connection_id, cs.c.lease_owner, cs.c.lease_generation).in_(
                        [(c.connection_id, c.owner, c.generation) for c in held]
                    ),
                    cs.c.lease_expires_at > now,
                )
                .values(lease_expires_at=now + lease)
                .returning(cs.c.connection_id)
            ).scalars().all()
        return set(renewed)

    def commit(
        self, claim: Claim, write: Write, *, next_poll_at: datetime, changed: bool
    ) -> None:
        """In one transaction: re-check the lease, run `write`, set the next poll, release.

        ClaimLost, with nothing written, when the lease ran out or another worker holds it.
        """
        with self._db.write() as conn:
            now = self._fence(conn, claim)
            write(conn)
            conn.execute(
                update(cs)
                .where(cs.c.connection_id == claim.connection_id)
                .values(
                    next_poll_at=next_poll_at, lease_owner=None, lease_expires_at=None,
                    consecutive_failures=0, status="active", last_error=None,
                    last_good_poll_at=now,
                    **({"last_change_at": now} if changed else {}),
                )
            )

    def release_failed(
        self, claim: Claim, error: str, *, next_poll_at: datetime, status: ScheduleStatus
    ) -> None:
        """A failed poll: count it, keep a short reason, retry at `next_poll_at` (the back-off).

        ClaimLost when the lease is no longer ours: then the holder's word counts, not ours.
        """
        with self._db.write() as conn:
            self._fence(conn, claim)
            conn.execute(
                update(cs)
                .where(cs.c.connection_id == claim.connection_id)
                .values(
                    next_poll_at=next_poll_at, lease_owner=None, lease_expires_at=None,
                    consecutive_failures=cs.c.consecutive_failures + 1, status=status,
                    last_error=error[:ERROR_CHARS],
                )
            )

    def give_back(self, claims: Sequence[Claim]) -> int:
        """Leases of claims never polled (a stopping worker), due as before: others take them
        at once instead of after the lease. How many were still ours."""
        if not claims:
            return 0
        with self._db.write() as conn:
            return len(conn.execute(
                update(cs)
                .where(tuple_(cs.c.connection_id, cs.c.lease_owner, cs.c.lease_generation).in_(
                    [(c.connection_id, c.owner, c.generation) for c in claims]
                ))
                .values(lease_owner=None, lease_expires_at=None)
                .returning(cs.c.connection_id)
            ).all())

    def schedule(self, connection_id: str) -> Schedule | None:
        with self._db.read() as conn:
            row = conn.execute(select(cs).where(cs.c.connection_id == connection_id)).first()
        return None if row is None else _schedule(row)

    def held_by(self, owner: str) -> list[str]:
        """Connections whose unexpired lease `owner` holds."""
        with self._db.read() as conn:
            return list(conn.execute(
                select(cs.c.connection_id)
                .where(cs.c.lease_owner == owner, cs.c.lease_expires_at > self._db.now())
                .order_by(cs.c.connection_id)
            ).scalars())

    def _fence(self, conn: Connection, claim: Claim) -> datetime:
        """Lock the row and check the lease is still this claim's; the transaction's now."""
        now = self._db.now()
        held = conn.execute(
            select(cs.c.connection_id)
            .where(and_(
                cs.c.connection_id == claim.connection_id, cs.c.lease_owner == claim.owner,
                cs.c.lease_generation == claim.generation, cs.c.lease_expires_at > now,
            ))
            .with_for_update()
        ).first()
        if held is None:
            raise ClaimLost(
                f"connection {claim.connection_id!r}: the lease of generation "
                f"{claim.generation} is no longer held by {claim.owner!r}"
            )
        return now


def _claim(row: Row[Any]) -> Claim:
    return Claim(
        connection_id=row.connection_id, owner=row.lease_owner,
        generation=row.lease_generation, expires_at=row.lease_expires_at,
        interval_seconds=row.interval_seconds,
        consecutive_failures=row.consecutive_failures, status=row.status,
        last_change_at=row.last_change_at,
    )


def _schedule(row: Row[Any]) -> Schedule:
    return Schedule(**{name: getattr(row, name) for name in Schedule.__dataclass_fields__})
