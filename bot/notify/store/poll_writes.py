"""A poll's outbox rows in batches.

One round can queue tens of thousands of rows; one statement per row made planning take
tens of seconds, so the rows go as one statement per page (the snapshot: `snapshots`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, text

from bot.notify.records import NewDelivery
from bot.notify.store.schema import UtcDateTime


def enqueue(conn: Connection, delivery: NewDelivery, now: datetime) -> int:
    return enqueue_all(conn, [delivery], now)[0]


def enqueue_all(conn: Connection, deliveries: Sequence[NewDelivery], now: datetime) -> list[int]:
    """A poll's rows in a few statements, not one per row; ids in the given order."""
    if not deliveries:
        return []
    rows = [
        {
            "subscription_id": d.subscription_id, "team_id": d.team_id,
            "channel_id": d.channel_id, "release_id": d.release_id, "kind": d.kind,
            "payload": dict(d.payload), "follow_id": d.follow_id,
        }
        for d in deliveries
    ]
    statement = _ENQUEUE[conn.dialect.name].bindparams(bindparam("now", type_=UtcDateTime))
    ids: list[int] = []
    for start in range(0, len(rows), ENQUEUE_PAGE):
        page = [{**row, "n": n} for n, row in enumerate(rows[start:start + ENQUEUE_PAGE])]
        result = conn.execute(statement, {"rows": json.dumps(page), "now": now})
        # Ids come from the sequence in the ORDER BY's order (SQLAlchemy's own ordered bulk
        # INSERT relies on the same); sorted, they follow the rows.
        ids.extend(sorted(int(row_id) for row_id in result.scalars()))
    return ids


ENQUEUE_PAGE = 5_000  # rows per INSERT: one JSON parameter of a few MB at most

# The rows go as one JSON document per page: a short statement the driver need not parse row
# by row (a multi-row VALUES of 25,000 rows cost seconds of client CPU).
_ENQUEUE = {
    "postgresql": text(
        """
        INSERT INTO outbox (subscription_id, team_id, channel_id, release_id, kind,
            payload, created_at, available_at, state, attempts, follow_id)
        SELECT r.subscription_id, r.team_id, r.channel_id, r.release_id, r.kind, r.payload,
               :now, :now, 'pending', 0, r.follow_id
        FROM jsonb_to_recordset(CAST(:rows AS jsonb))
             AS r(subscription_id integer, team_id text, channel_id text, release_id bigint,
                  kind text, payload jsonb, follow_id integer, n bigint)
        ORDER BY r.n
        RETURNING id"""
    ),
    "sqlite": text(
        """
        INSERT INTO outbox (subscription_id, team_id, channel_id, release_id, kind,
            payload, created_at, available_at, state, attempts, follow_id)
        SELECT value ->> 'subscription_id', value ->> 'team_id', value ->> 'channel_id',
               value ->> 'release_id', value ->> 'kind', value -> 'payload',
               :now, :now, 'pending', 0, value ->> 'follow_id'
        FROM json_each(:rows)
        ORDER BY CAST(key AS INTEGER)
        RETURNING id"""
    ),
}
