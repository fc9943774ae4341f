"""The languages people chose (`/releases language de`), one row per team and user."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, select

from bot.notify.store.database import Database, upsert
from bot.notify.store.point_read import PointRead
from bot.notify.store.schema import user_languages


class LanguageRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        # Read on every command a person sends: compiled once (bot/notify/store/point_read.py).
        self._chosen = PointRead(db, select(user_languages.c.language).where(
            user_languages.c.team_id == bindparam("team_id"),
            user_languages.c.user_id == bindparam("user_id"),
        ))

    def language_of(self, team_id: str, user_id: str) -> str | None:
        """The language `user_id` chose; None when they chose none (or `auto`)."""
        found = self._chosen.scalar(team_id=team_id, user_id=user_id)
        return str(found) if found is not None else None

    def choose_language(self, team_id: str, user_id: str, language: str | None) -> None:
        """Store the choice; None removes it, so the Slack language applies again."""
        with self._db.write() as conn:
            if language is None:
                conn.execute(delete(user_languages).where(
                    user_languages.c.team_id == team_id, user_languages.c.user_id == user_id
                ))
                return
            upsert(conn, user_languages, ("team_id", "user_id"), {
                "team_id": team_id, "user_id": user_id, "language": language[:16],
                "updated_at": self._db.now(),
            })
