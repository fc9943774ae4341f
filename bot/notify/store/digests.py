"""Digest runs: each (subscription, local date) is sent or skipped exactly once."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select

from bot.notify.records import DigestOutcome, NewDelivery
from bot.notify.store.database import Database
from bot.notify.store.poll_writes import enqueue
from bot.notify.store.schema import digest_runs


class DigestRepository:
    """Claims are the only record of a digest: a claimed day is never taken again."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def claim(
        self,
        subscription_id: int,
        local_date: date,
        scheduled_at: datetime,
        *,
        outcome: DigestOutcome = "sent",
        delivery: NewDelivery | None = None,
    ) -> bool:
        """Take (subscription, local date) once; False if any process already took it.

        With `delivery`, the digest message is enqueued in the same transaction, so a claimed
        digest is never lost to a crash and never posted twice.
        """
        now = self._db.now()
        with self._db.write() as conn:
            claimed = conn.execute(
                self._db.insert_ignore(digest_runs, "subscription_id", "local_date")
                .values(
                    subscription_id=subscription_id, local_date=local_date,
                    scheduled_at=scheduled_at, outcome=outcome, created_at=now,
                )
                .returning(digest_runs.c.id)
            ).first() is not None
            if claimed and delivery is not None:
                enqueue(conn, delivery, now)
        return claimed

    def last_dates(self) -> dict[int, date]:
        """Per subscription, the latest local date that was sent or skipped."""
        with self._db.read() as conn:
            rows = conn.execute(
                select(digest_runs.c.subscription_id, func.max(digest_runs.c.local_date))
                .group_by(digest_runs.c.subscription_id)
            ).all()
        return {int(sub_id): day for sub_id, day in rows}
