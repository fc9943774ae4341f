"""Who follows which release: follow, unfollow, list; the worker routes changes to them.

A follow belongs to one user. Its direct messages go through the outbox like a channel's
posts; an unfollow deletes what is still queued for it, so nothing arrives afterwards.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from sqlalchemy import ColumnElement, Connection, delete, func, select
from sqlalchemy.engine import RowMapping

from bot.notify.records import Follow, NewDelivery
from bot.notify.store.database import Database
from bot.notify.store.schema import follows, outbox

MAX_FOLLOWS_PER_USER = 50


class FollowLimitReached(RuntimeError):
    """The user follows MAX_FOLLOWS_PER_USER releases already."""


class FollowRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def follow(self, team_id: str, user_id: str, release_id: int) -> tuple[Follow, bool]:
        """The user's follow of the release, and whether it is new (False: followed already)."""
        now = self._db.now()
        with self._db.write() as conn:
            self._db.take_turns(conn, f"follows:{team_id}:{user_id}")  # the cap counts
            existing = _find(conn, team_id, user_id, release_id)
            if existing is not None:
                return existing, False
            count = conn.scalar(
                select(func.count())
                .select_from(follows)
                .where(follows.c.team_id == team_id, follows.c.user_id == user_id)
            )
            if int(count or 0) >= MAX_FOLLOWS_PER_USER:
                raise FollowLimitReached(f"{user_id} follows {count} releases")
            row = conn.execute(
                self._db.insert_ignore(follows, "team_id", "user_id", "release_id")
                .values(team_id=team_id, user_id=user_id, release_id=release_id, created_at=now)
                .returning(*follows.c)
            ).first()
            if row is None:  # a concurrent click won the race: same outcome
                found = _find(conn, team_id, user_id, release_id)
                if found is None:
                    raise RuntimeError("a follow vanished while it was being added")
                return found, False
            return follow_record(row._mapping), True

    def unfollow(self, team_id: str, user_id: str, release_id: int) -> bool:
        """End the follow and drop its queued messages; False if there was none."""
        with self._db.write() as conn:
            ids = list(
                conn.scalars(
                    delete(follows)
                    .where(*_key(team_id, user_id, release_id))
                    .returning(follows.c.id)
                )
            )
            _forget_follows(conn, ids)
        return bool(ids)

    def of_user(self, team_id: str, user_id: str) -> list[Follow]:
        """One user's follows, oldest first."""
        with self._db.read() as conn:
            rows = conn.execute(
                select(follows)
                .where(follows.c.team_id == team_id, follows.c.user_id == user_id)
                .order_by(follows.c.id)
            ).all()
        return [follow_record(row._mapping) for row in rows]

    def is_following(self, team_id: str, user_id: str, release_id: int) -> bool:
        with self._db.read() as conn:
            return _find(conn, team_id, user_id, release_id) is not None

    def all(self, teams: Collection[str] | None = None) -> list[Follow]:
        """Every follow, for the worker's routing; with `teams`, those workspaces' only."""
        query = select(follows).order_by(follows.c.id)
        if teams is not None:
            query = query.where(follows.c.team_id.in_(set(teams)))
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        return [follow_record(row._mapping) for row in rows]


def live_follows(conn: Connection, deliveries: Sequence[NewDelivery]) -> set[int]:
    """The follow ids among `deliveries` that still exist (not unfollowed since routing)."""
    wanted = {d.follow_id for d in deliveries if d.follow_id is not None}
    if not wanted:
        return set()
    return set(conn.scalars(select(follows.c.id).where(follows.c.id.in_(wanted))))


def end_follows(conn: Connection, ids: Iterable[int]) -> None:
    """Follows of deleted releases end; their last message is already queued and stays."""
    ended = list(ids)
    if ended:
        conn.execute(delete(follows).where(follows.c.id.in_(ended)))


def _forget_follows(conn: Connection, ids: Sequence[int]) -> None:
    """Queued messages of ended follows; one being posted right now is left to finish."""
    if ids:
        conn.execute(
            delete(outbox).where(
                outbox.c.follow_id.in_(ids),
                outbox.c.state == "pending",
                outbox.c.sending_at.is_(None),
            )
        )


def _key(team_id: str, user_id: str, release_id: int) -> tuple[ColumnElement[bool], ...]:
    return (
        follows.c.team_id == team_id,
        follows.c.user_id == user_id,
        follows.c.release_id == release_id,
    )


def _find(conn: Connection, team_id: str, user_id: str, release_id: int) -> Follow | None:
    row = conn.execute(select(follows).where(*_key(team_id, user_id, release_id))).one_or_none()
    return None if row is None else follow_record(row._mapping)


def follow_record(row: RowMapping) -> Follow:
    return Follow(
        id=row["id"], team_id=row["team_id"], user_id=row["user_id"],
        release_id=int(row["release_id"]), created_at=row["created_at"],
    )
