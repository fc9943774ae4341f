"""Step 6: a twin key on subscriptions, unique per channel, so the database refuses twins.

Concurrent `/releases subscribe` commands used to store the same subscription two to four
times, and each change was then posted that often. Older rows get their key here; where a
channel already holds twins, the first one (an active one before a paused one) stays and the
others go, with what they still had queued, as deleting them by hand would have done.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

log = logging.getLogger("bot.notify.store.migrations")


def _twin_key(row: sa.Row[tuple[object, ...]]) -> str:
    """Frozen copy of `bot.notify.store.subscriptions.twin_key` as of this step."""
    if row.kind == "change":
        parts = [row.kind, row.filters, row.mention or "", row.events or ""]
    else:
        parts = [row.kind, row.filters, row.schedule or "", row.timezone or ""]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def upgrade() -> None:
    op.add_column("subscriptions", sa.Column("twin_key", sa.String(64)))
    conn = op.get_bind()
    subs = sa.table(
        "subscriptions", *(sa.column(name) for name in (
            "id", "team_id", "channel_id", "kind", "filters", "mention", "events", "schedule",
            "timezone", "paused_at", "twin_key",
        )),
    )
    groups: dict[tuple[str, str, str], list[tuple[bool, int]]] = defaultdict(list)
    for row in conn.execute(sa.select(subs)):
        key = _twin_key(row)
        groups[(row.team_id, row.channel_id, key)].append((row.paused_at is not None, row.id))
    twins: list[int] = []
    for (_team, _channel, key), members in groups.items():
        keep, *others = sorted(members)
        conn.execute(sa.update(subs).where(subs.c.id == keep[1]).values(twin_key=key))
        twins.extend(sub_id for _paused, sub_id in others)
    if twins:
        log.warning("database schema: removing %d twin subscriptions: %s", len(twins), twins)
        outbox = sa.table("outbox", sa.column("subscription_id"), sa.column("state"),
                          sa.column("sending_at"))
        digest_runs = sa.table("digest_runs", sa.column("subscription_id"))
        conn.execute(sa.delete(outbox).where(
            outbox.c.subscription_id.in_(twins), outbox.c.state == "pending",
            outbox.c.sending_at.is_(None),
        ))
        conn.execute(sa.delete(digest_runs).where(digest_runs.c.subscription_id.in_(twins)))
        conn.execute(sa.delete(subs).where(subs.c.id.in_(twins)))
    op.create_index(
        "uq_subscriptions_twin", "subscriptions", ["team_id", "channel_id", "twin_key"],
        unique=True,
    )


def downgrade() -> None:
    raise NotImplementedError("the store migrates forward only; restore a backup instead")
