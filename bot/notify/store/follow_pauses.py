"""Follows whose direct messages Slack refused (a permission error): paused until the user
follows the release again, with the reason `/releases following` shows.

Kept in the worker's key-value state table, one key per follow, so pausing needs no new
column; a pause of a follow that no longer exists is harmless and purged with the outbox.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import delete, select

from bot.i18n import N_
from bot.notify.store.database import Database, upsert
from bot.notify.store.schema import follows, worker_state

PREFIX = "follow_paused:"
UNKNOWN_REASON = N_("Slack refused a direct message")


def _key(follow_id: int) -> str:
    return f"{PREFIX}{int(follow_id)}"


class FollowPauses:
    def __init__(self, db: Database) -> None:
        self._db = db

    def pause(self, follow_id: int, reason: str, *, user_id: str = "") -> bool:
        """Pause one follow; True when it was not paused before (so it is said once)."""
        key = _key(follow_id)
        value = json.dumps({"reason": reason[:500], "since": self._db.now().isoformat(),
                            "user": user_id[:32]})
        with self._db.write() as conn:
            if conn.scalar(select(worker_state.c.key).where(worker_state.c.key == key)):
                return False
            upsert(conn, worker_state, ("key",), {"key": key, "value": value})
        return True

    def reasons(self, follow_ids: Iterable[int] | None = None) -> dict[int, str]:
        """Paused follows (all, or those among `follow_ids`) and why."""
        query = select(worker_state.c.key, worker_state.c.value).where(
            worker_state.c.key.like(f"{PREFIX}%")
        )
        if follow_ids is not None:
            query = query.where(worker_state.c.key.in_([_key(i) for i in follow_ids]))
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        paused: dict[int, str] = {}
        for key, value in rows:
            try:
                follow_id = int(str(key).removeprefix(PREFIX))
            except ValueError:
                continue
            try:
                paused[follow_id] = str(json.loads(value)["reason"])
            except (ValueError, KeyError, TypeError):
                paused[follow_id] = UNKNOWN_REASON
        return paused

    def users(self) -> set[str]:
        """The users with a paused follow: told once already, not again for the next one."""
        users: set[str] = set()
        with self._db.read() as conn:
            values = conn.scalars(
                select(worker_state.c.value).where(worker_state.c.key.like(f"{PREFIX}%"))
            ).all()
        for value in values:
            try:
                user = json.loads(value).get("user")
            except (ValueError, AttributeError):
                continue
            if isinstance(user, str) and user:
                users.add(user)
        return users

    def resume(self, follow_id: int) -> bool:
        """Lift a follow's pause; True when it was paused."""
        with self._db.write() as conn:
            return bool(conn.execute(
                delete(worker_state).where(worker_state.c.key == _key(follow_id))
            ).rowcount)

    def purge(self) -> int:
        """Forget the pauses of follows that were ended."""
        paused = self.reasons()
        if not paused:
            return 0
        with self._db.read() as conn:
            alive = set(conn.scalars(select(follows.c.id).where(follows.c.id.in_(paused))))
        stale = [i for i in paused if i not in alive]
        if not stale:
            return 0
        with self._db.write() as conn:
            return int(conn.execute(
                delete(worker_state).where(worker_state.c.key.in_([_key(i) for i in stale]))
            ).rowcount)
