"""Channels' change subscriptions and digests: add, list, delete, pause and resume."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.engine import RowMapping

from bot.notify.records import Subscription, SubscriptionKind
from bot.notify.store.database import Database
from bot.notify.store.schema import digest_runs, outbox, subscriptions
from bot.query import QueryError, events_text, parse_events
from bot.schedule import Schedule


class SubscriptionRepository:
    """Subscriptions belong to a channel: every lookup by id also checks the channel."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add_change(
        self,
        *,
        team_id: str,
        channel_id: str,
        filters: str,
        created_by: str,
        mention: str | None = None,
        events: tuple[str, ...] = (),
    ) -> Subscription:
        """A new change subscription; the next poll records its baseline and posts nothing.

        `events` narrows it to those kinds of change (`bot.query.events`); empty: every kind.
        """
        return self._add(
            team_id=team_id, channel_id=channel_id, kind="change", filters=filters,
            schedule=None, timezone=None, mention=mention, created_by=created_by,
            baseline_done=False, events=events_text(events) or None,
        )

    def add_digest(
        self,
        *,
        team_id: str,
        channel_id: str,
        filters: str,
        schedule: Schedule,
        timezone: str,
        created_by: str,
        mention: str | None = None,
    ) -> Subscription:
        return self._add(
            team_id=team_id, channel_id=channel_id, kind="digest", filters=filters,
            schedule=schedule.to_text(), timezone=timezone, mention=mention,
            created_by=created_by, baseline_done=True,
        )

    def _add(self, **values: Any) -> Subscription:
        with self._db.write() as conn:
            row = conn.execute(
                insert(subscriptions)
                .values(created_at=self._db.now(), **values)
                .returning(*subscriptions.c)
            ).one()
        return subscription_record(row._mapping)

    def in_channel(self, team_id: str, channel_id: str) -> list[Subscription]:
        """One channel's subscriptions, oldest first."""
        with self._db.read() as conn:
            rows = conn.execute(
                select(subscriptions)
                .where(subscriptions.c.team_id == team_id, subscriptions.c.channel_id == channel_id)
                .order_by(subscriptions.c.id)
            ).all()
        return [subscription_record(row._mapping) for row in rows]

    def all(
        self, kind: SubscriptionKind | None = None, *, include_paused: bool = False
    ) -> list[Subscription]:
        """Every channel's subscriptions, for the worker."""
        query = select(subscriptions).order_by(subscriptions.c.id)
        if kind is not None:
            query = query.where(subscriptions.c.kind == kind)
        if not include_paused:
            query = query.where(subscriptions.c.paused_at.is_(None))
        with self._db.read() as conn:
            return [subscription_record(row._mapping) for row in conn.execute(query).all()]

    def get(
        self, team_id: str, channel_id: str, subscription_id: int
    ) -> Subscription | None:
        """One subscription, only if it belongs to this channel."""
        with self._db.read() as conn:
            row = conn.execute(
                select(subscriptions).where(*_in_channel(team_id, channel_id, subscription_id))
            ).one_or_none()
        return None if row is None else subscription_record(row._mapping)

    def delete(self, team_id: str, channel_id: str, subscription_id: int) -> bool:
        """Delete by id, only within this channel: another channel's id is simply not found."""
        with self._db.write() as conn:
            deleted = conn.execute(
                delete(subscriptions).where(*_in_channel(team_id, channel_id, subscription_id))
            ).rowcount
            if deleted:
                _forget_subscriptions(conn, [subscription_id])
        return bool(deleted)

    def delete_channel(self, team_id: str, channel_id: str) -> int:
        with self._db.write() as conn:
            ids = list(
                conn.scalars(
                    delete(subscriptions)
                    .where(
                        subscriptions.c.team_id == team_id,
                        subscriptions.c.channel_id == channel_id,
                    )
                    .returning(subscriptions.c.id)
                )
            )
            _forget_subscriptions(conn, ids)
        return len(ids)

    def pause_channel(self, team_id: str, channel_id: str, reason: str) -> int:
        """Pause every active subscription of a channel the bot can no longer post to."""
        return self._pause(
            (subscriptions.c.team_id == team_id) & (subscriptions.c.channel_id == channel_id),
            reason,
        )

    def _pause(self, where: Any, reason: str) -> int:
        now = self._db.now()
        with self._db.write() as conn:
            ids = list(
                conn.scalars(
                    update(subscriptions)
                    .where(where, subscriptions.c.paused_at.is_(None))
                    .values(paused_at=now, paused_reason=reason)
                    .returning(subscriptions.c.id)
                )
            )
            if ids:
                conn.execute(
                    update(outbox)
                    .where(outbox.c.subscription_id.in_(ids), outbox.c.state == "pending")
                    .values(state="failed", last_error=f"cancelled, subscription paused: {reason}")
                )
        return len(ids)

    def resume(self, subscription_id: int) -> bool:
        return bool(self._resume(subscriptions.c.id == subscription_id))

    def _resume(self, where: Any) -> int:
        with self._db.write() as conn:
            return conn.execute(
                update(subscriptions)
                .where(where, subscriptions.c.paused_at.is_not(None))
                .values(paused_at=None, paused_reason=None)
            ).rowcount


def _in_channel(team_id: str, channel_id: str, subscription_id: int) -> tuple[Any, ...]:
    return (
        subscriptions.c.id == subscription_id,
        subscriptions.c.team_id == team_id,
        subscriptions.c.channel_id == channel_id,
    )


def subscription_record(row: RowMapping) -> Subscription:
    return Subscription(
        id=row["id"], team_id=row["team_id"], channel_id=row["channel_id"], kind=row["kind"],
        filters=row["filters"], schedule=row["schedule"], timezone=row["timezone"],
        mention=row["mention"], created_by=row["created_by"], created_at=row["created_at"],
        paused_reason=row["paused_reason"], paused_at=row["paused_at"],
        baseline_done=bool(row["baseline_done"]),
        events=_events(row.get("events")),
    )


def _events(stored: object) -> tuple[str, ...]:
    """The stored kinds; text this code cannot read means every kind rather than none."""
    if not isinstance(stored, str) or not stored:
        return ()
    try:
        return parse_events(stored)
    except QueryError:
        return ()


def _forget_subscriptions(conn: Connection, ids: Sequence[int]) -> None:
    """A deleted subscription leaves nothing to deliver and no digest history.

    A row being posted right now stays, so the worker can still record it; orphaned, it is
    never delivered again and `purge_outbox` removes it.
    """
    if not ids:
        return
    conn.execute(
        delete(outbox).where(
            outbox.c.subscription_id.in_(ids),
            outbox.c.state == "pending",
            outbox.c.sending_at.is_(None),
        )
    )
    conn.execute(delete(digest_runs).where(digest_runs.c.subscription_id.in_(ids)))
