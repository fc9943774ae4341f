"""A poll's outbox rows in batches.

One round can queue tens of thousands of rows; one statement per row made planning take
tens of seconds, so the rows go as one statement per page (the snapshot: `snapshots`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, TextClause, bindparam, text

from bot.notify.records import NewDelivery
from bot.notify.store.schema import UtcDateTime


def enqueue(conn: Connection, delivery: NewDelivery, now: datetime) -> int:
    return enqueue_all(conn, [delivery], now)[0]


def enqueue_all(conn: Connection, deliveries: Sequence[NewDelivery], now: datetime) -> list[int]:
    """A poll's rows in a few statements, not one per row; ids in the given order.

    Deliveries that share one payload object (an event going to many channels) share one
    stored payload.
    """
    if not deliveries:
        return []
    position: dict[int, int] = {}  # id() of a payload -> its place in `payloads`
    payloads: list[Mapping[str, Any]] = []
    for d in deliveries:
        if id(d.payload) not in position:
            position[id(d.payload)] = len(payloads)
            payloads.append(d.payload)
    payload_ids = _insert_pages(
        conn, _PAYLOADS, [{"payload": dict(p)} for p in payloads], now
    )
    rows = [
        {
            "subscription_id": d.subscription_id, "team_id": d.team_id,
            "channel_id": d.channel_id, "release_id": d.release_id, "kind": d.kind,
            "payload_id": payload_ids[position[id(d.payload)]], "follow_id": d.follow_id,
        }
        for d in deliveries
    ]
    return _insert_pages(conn, _ROWS, rows, now)


def _insert_pages(
    conn: Connection, statements: Mapping[str, TextClause], rows: Sequence[Mapping[str, Any]],
    now: datetime,
) -> list[int]:
    statement = statements[conn.dialect.name].bindparams(bindparam("now", type_=UtcDateTime))
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
_PAYLOADS = {
    "postgresql": text(
        """
        INSERT INTO outbox_payloads (payload, created_at)
        SELECT r.payload, :now
        FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(payload jsonb, n bigint)
        ORDER BY r.n
        RETURNING id"""
    ),
    "sqlite": text(
        """
        INSERT INTO outbox_payloads (payload, created_at)
        SELECT value -> 'payload', :now
        FROM json_each(:rows)
        ORDER BY CAST(key AS INTEGER)
        RETURNING id"""
    ),
}
_ROWS = {
    "postgresql": text(
        """
        INSERT INTO outbox (subscription_id, team_id, channel_id, release_id, kind,
            payload, payload_id, created_at, available_at, state, attempts, follow_id)
        SELECT r.subscription_id, r.team_id, r.channel_id, r.release_id, r.kind,
               CAST('{}' AS jsonb), r.payload_id, :now, :now, 'pending', 0, r.follow_id
        FROM jsonb_to_recordset(CAST(:rows AS jsonb))
             AS r(subscription_id integer, team_id text, channel_id text, release_id bigint,
                  kind text, payload_id integer, follow_id integer, n bigint)
        ORDER BY r.n
        RETURNING id"""
    ),
    "sqlite": text(
        """
        INSERT INTO outbox (subscription_id, team_id, channel_id, release_id, kind,
            payload, payload_id, created_at, available_at, state, attempts, follow_id)
        SELECT value ->> 'subscription_id', value ->> 'team_id', value ->> 'channel_id',
               value ->> 'release_id', value ->> 'kind', '{}', value ->> 'payload_id',
               :now, :now, 'pending', 0, value ->> 'follow_id'
        FROM json_each(:rows)
        ORDER BY CAST(key AS INTEGER)
        RETURNING id"""
    ),
}
