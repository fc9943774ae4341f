"""Channels' change subscriptions and digests: add, list, delete, pause and resume.

Adding checks for a twin and the channel's cap in the same write, one writer per channel at a
time, and a unique index on the twin key backs it: concurrent commands cannot pass either.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.engine import RowMapping

from bot.notify.records import Subscription, SubscriptionKind
from bot.notify.store.database import Database
from bot.notify.store.schema import digest_runs, outbox, subscriptions
from bot.query import QueryError, events_text, parse_events
from bot.schedule import Schedule


class SubscriptionLimitReached(RuntimeError):
    """The channel has as many subscriptions and digests as it may."""


class TwinSubscription(RuntimeError):
    """The channel has this subscription already (`twin`, perhaps paused)."""

    def __init__(self, twin: Subscription) -> None:
        super().__init__(f"subscription {twin.id} is the same")
        self.twin = twin


def twin_key(
    kind: str,
    filters: str,
    *,
    mention: str | None,
    events: str | None,
    schedule: str | None,
    timezone: str | None,
) -> str:
    """Equal for two subscriptions of a channel that would post the same messages.

    A change subscription: its filters, mention and kinds of change (stored as `events_text`
    writes them, in one order). A digest: its filters, schedule and time zone. A SHA-256, so the
    unique index stays small however long the filters are. Step 0006 of the migrations holds a
    frozen copy that filled in the keys of older rows: a change here needs a step that redoes
    them.
    """
    if kind == "change":
        parts = [kind, filters, mention or "", events or ""]
    else:
        parts = [kind, filters, schedule or "", timezone or ""]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


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
        limit: int | None = None,
        language: str | None = None,
    ) -> Subscription:
        """A new change subscription; the next poll records its baseline and posts nothing.

        `events` narrows it to those kinds of change (`bot.query.events`); empty: every kind.
        Raises TwinSubscription when the channel has the same one, and SubscriptionLimitReached
        when it has `limit` subscriptions and digests already.
        """
        return self._add(
            limit,
            team_id=team_id, channel_id=channel_id, kind="change", filters=filters,
            schedule=None, timezone=None, mention=mention, created_by=created_by,
            baseline_done=False, events=events_text(events) or None, language=language,
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
        limit: int | None = None,
        language: str | None = None,
    ) -> Subscription:
        """A new digest; raises as `add_change` does."""
        return self._add(
            limit,
            team_id=team_id, channel_id=channel_id, kind="digest", filters=filters,
            schedule=schedule.to_text(), timezone=timezone, mention=mention,
            created_by=created_by, baseline_done=True, language=language,
        )

    def _add(self, limit: int | None, **values: Any) -> Subscription:
        key = twin_key(
            values["kind"], values["filters"], mention=values["mention"],
            events=values.get("events"), schedule=values["schedule"],
            timezone=values["timezone"],
        )
        team_id, channel_id = values["team_id"], values["channel_id"]
        channel = (subscriptions.c.team_id == team_id, subscriptions.c.channel_id == channel_id)
        with self._db.write() as conn:
            self._db.take_turns(conn, f"subscriptions:{team_id}:{channel_id}")
            _refuse_twin(conn, channel, key)
            if limit is not None:
                count = conn.scalar(select(func.count()).select_from(subscriptions).where(*channel))
                if int(count or 0) >= limit:
                    raise SubscriptionLimitReached(f"channel {channel_id} has {count}")
            row = conn.execute(
                self._db.insert_ignore(subscriptions, "team_id", "channel_id", "twin_key")
                .values(created_at=self._db.now(), twin_key=key, **values)
                .returning(*subscriptions.c)
            ).first()
            if row is None:  # a writer that does not take turns (an older release) won
                _refuse_twin(conn, channel, key)
                raise RuntimeError("a subscription's twin vanished while it was being added")
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
        self, kind: SubscriptionKind | None = None, *, include_paused: bool = False,
        teams: Collection[str] | None = None,
    ) -> list[Subscription]:
        """Every channel's subscriptions, for the worker; with `teams`, those workspaces' only."""
        query = select(subscriptions).order_by(subscriptions.c.id)
        if teams is not None:
            query = query.where(subscriptions.c.team_id.in_(set(teams)))
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

    def set_language(
        self, team_id: str, channel_id: str, subscription_id: int, language: str | None
    ) -> bool:
        """The language the subscription's posts use from now on; False if it is gone."""
        with self._db.write() as conn:
            return bool(conn.execute(
                update(subscriptions)
                .where(subscriptions.c.id == subscription_id,
                       subscriptions.c.team_id == team_id,
                       subscriptions.c.channel_id == channel_id)
                .values(language=language)
            ).rowcount)

    def resume(self, subscription_id: int) -> bool:
        return bool(self._resume(subscriptions.c.id == subscription_id))

    def _resume(self, where: Any) -> int:
        with self._db.write() as conn:
            return conn.execute(
                update(subscriptions)
                .where(where, subscriptions.c.paused_at.is_not(None))
                .values(paused_at=None, paused_reason=None)
            ).rowcount


def _refuse_twin(conn: Connection, channel: tuple[Any, ...], key: str) -> None:
    row = conn.execute(
        select(subscriptions).where(*channel, subscriptions.c.twin_key == key)
    ).one_or_none()
    if row is not None:
        raise TwinSubscription(subscription_record(row._mapping))


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
        language=row.get("language"),
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
