"""What the worker process knows and the web process should show: whether Slack refused the
bot's token, kept in the worker's state table so `/releases subscriptions` can say why every
channel went quiet without anyone reading the worker's log."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, select

from bot.notify.store.database import Database, upsert
from bot.notify.store.schema import outbox, worker_state

REFUSAL_KEY = "slack_token_refused"


@dataclass(frozen=True, slots=True)
class TokenRefusal:
    """Slack refused the bot's token (e.g. token_revoked), so the worker stopped posting."""

    error: str
    since: datetime


class WorkerStatusRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def token_refused(self) -> TokenRefusal | None:
        """The refusal the worker last recorded, or None while posting works; an unreadable
        value reads as None (it is advice, never worth failing a command for)."""
        with self._db.read() as conn:
            raw = conn.scalar(
                select(worker_state.c.value).where(worker_state.c.key == REFUSAL_KEY)
            )
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            return TokenRefusal(error=str(data["error"]),
                                since=datetime.fromisoformat(str(data["since"])))
        except (ValueError, KeyError, TypeError):
            return None

    def record_token_refused(self, error: str) -> None:
        """Keeps the first `since` while the same refusal goes on."""
        current = self.token_refused()
        if current is not None and current.error == error:
            return
        value = json.dumps({"error": error[:100], "since": self._db.now().isoformat()})
        with self._db.write() as conn:
            upsert(conn, worker_state, ("key",), {"key": REFUSAL_KEY, "value": value})

    def outbox_depth(self) -> tuple[int, datetime | None]:
        return outbox_depth(self._db)

    def clear_token_refused(self) -> None:
        with self._db.write() as conn:
            conn.execute(delete(worker_state).where(worker_state.c.key == REFUSAL_KEY))


def outbox_depth(store_db: Database) -> tuple[int, datetime | None]:
    """(pending rows, created_at of the oldest), for the worker's metrics."""
    with store_db.read() as conn:
        count, oldest = conn.execute(
            select(func.count(outbox.c.id), func.min(outbox.c.created_at))
            .where(outbox.c.state == "pending")
        ).one()
    if isinstance(oldest, str):  # SQLite's MIN() loses the column type
        oldest = datetime.fromisoformat(oldest)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return int(count), oldest
