"""Claiming outbox rows for posting, per channel, with each team's share capped per claim.

Only the oldest pending row of a channel can be claimed, so any number of workers post a
channel in order and one at a time (Slack paces a channel at about one post a second anyway).
A claim takes at most `per_team` rows of one team, so a tenant with thousands of channels, or
one backing off on 429s, cannot fill a claim while a quiet tenant waits. Teams whose token
Slack refused are left out: their rows wait, nobody else's do. Marked as being sent
(`sending_at`, `sending_by`) in the claim's short transaction; the posting and `mark_sent` /
`mark_failed` follow as for the single worker (`OutboxRepository`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, text, update

from bot.notify.scale.records import ClaimsNeedPostgreSQL
from bot.notify.store.database import Database
from bot.notify.store.schema import UtcDateTime, outbox

_CLAIM = text(
    """
    WITH live AS (
        SELECT o.id, o.team_id, o.channel_id, o.available_at, o.sending_at
        FROM outbox AS o LEFT JOIN subscriptions AS s ON s.id = o.subscription_id
        WHERE o.state = 'pending'
          AND ((s.id IS NOT NULL AND s.paused_at IS NULL) OR o.follow_id IS NOT NULL)
    ), heads AS (
        SELECT DISTINCT ON (team_id, channel_id) id, team_id, available_at, sending_at
        FROM live ORDER BY team_id, channel_id, id
    ), ready AS (
        SELECT id, row_number() OVER (PARTITION BY team_id ORDER BY id) AS n
        FROM heads
        WHERE sending_at IS NULL AND available_at <= :now AND NOT (team_id = ANY(:left_out))
    ), picked AS (
        SELECT o.id FROM outbox AS o JOIN ready AS r ON r.id = o.id
        WHERE r.n <= :per_team AND o.state = 'pending' AND o.sending_at IS NULL
        ORDER BY o.id
        LIMIT :limit
        FOR UPDATE OF o SKIP LOCKED
    )
    UPDATE outbox SET sending_at = :now, sending_by = :owner
    FROM picked WHERE outbox.id = picked.id
    RETURNING outbox.id, outbox.team_id, outbox.channel_id
    """
).bindparams(bindparam("now", type_=UtcDateTime))


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    id: int
    team_id: str
    channel_id: str


class DeliveryClaims:
    def __init__(self, db: Database) -> None:
        if db.dialect != "postgresql":
            raise ClaimsNeedPostgreSQL("delivery claims need PostgreSQL's SKIP LOCKED")
        self._db = db

    def claim(
        self, owner: str, *, limit: int, per_team: int, left_out: Collection[str] = ()
    ) -> list[ClaimedDelivery]:
        """Up to `limit` rows, the head of each channel, at most `per_team` of one team."""
        if limit <= 0 or per_team <= 0:
            return []
        with self._db.write() as conn:
            rows = conn.execute(_CLAIM, {
                "now": self._db.now(), "owner": owner, "limit": limit,
                "per_team": per_team, "left_out": list(left_out),
            }).all()
        found = [ClaimedDelivery(int(r.id), str(r.team_id), str(r.channel_id)) for r in rows]
        return sorted(found, key=lambda d: d.id)

    def recover_stale(self, older_than: timedelta) -> list[int]:
        """Rows claimed longer ago than `older_than` and never finished (their worker died
        mid-post), pending again: posted once more, at most one repeat per crash. The ids.

        `older_than` must exceed the longest a live worker takes to post a row and record it.
        """
        with self._db.write() as conn:
            return sorted(int(i) for i in conn.execute(
                update(outbox)
                .where(outbox.c.state == "pending", outbox.c.sending_at.is_not(None),
                       outbox.c.sending_at < self._db.now() - older_than)
                .values(sending_at=None, sending_by=None)
                .returning(outbox.c.id)
            ).scalars())
