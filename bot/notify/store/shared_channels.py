"""Channels shared with other organisations that an admin allowed to get subscriptions,
digests and Share; a channel not listed gets none of them."""

from __future__ import annotations

from sqlalchemy import delete, select

from bot.notify.store.database import Database, upsert
from bot.notify.store.schema import shared_channels_allowed as allowed


class SharedChannelRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def allow(self, team_id: str, channel_id: str, user_id: str) -> None:
        with self._db.write() as conn:
            upsert(conn, allowed, ("team_id", "channel_id"), {
                "team_id": team_id, "channel_id": channel_id, "allowed_by": user_id[:32],
                "allowed_at": self._db.now(),
            })

    def disallow(self, team_id: str, channel_id: str) -> bool:
        """True when the channel had been allowed."""
        with self._db.write() as conn:
            return bool(conn.execute(delete(allowed).where(
                allowed.c.team_id == team_id, allowed.c.channel_id == channel_id
            )).rowcount)

    def is_allowed(self, team_id: str, channel_id: str) -> bool:
        with self._db.read() as conn:
            return conn.scalar(select(allowed.c.allowed_by).where(
                allowed.c.team_id == team_id, allowed.c.channel_id == channel_id
            )) is not None
