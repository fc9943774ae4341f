"""Databases as the releases before Alembic left them, built from their frozen DDL.

`legacy_schema/<dialect>/stepN.sql` holds what step N sent, captured from that release's code
(see the README there). Each built database also gets a few rows of the step's own shape, so
an upgrade is seen to keep data, not only to add tables.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, text

STEPS = (1, 2, 3, 4, 5)
HERE = Path(__file__).resolve().parent / "legacy_schema"
APPLIED = "2026-01-05 10:00:00"


def _statements(dialect: str, name: str) -> list[str]:
    sql = (HERE / dialect / f"{name}.sql").read_text(encoding="utf-8")
    return [part.strip() for part in sql.split(";\n") if part.strip()]


def build_legacy(conn: Connection, step: int) -> None:
    """Create the schema of steps 1..`step` in `conn`'s transaction, with sample rows."""
    dialect = conn.dialect.name
    for statement in _statements(dialect, "schema_version"):
        conn.exec_driver_sql(statement)
    for version in range(1, step + 1):
        for statement in _statements(dialect, f"step{version}"):
            conn.exec_driver_sql(statement)
        conn.execute(
            text("INSERT INTO schema_version (version, applied_at) VALUES (:v, :at)"),
            {"v": version, "at": APPLIED},
        )
    _sample_rows(conn, step)


def _sample_rows(conn: Connection, step: int) -> None:
    """A change subscription, a digest and a sent outbox row; a follow from step 3 on."""
    conn.execute(text(
        "INSERT INTO subscriptions (team_id, channel_id, kind, filters, created_by, created_at,"
        " baseline_done) VALUES ('T1', 'C1', 'change', 'open', 'U1', :at, :done)"
    ), {"at": APPLIED, "done": True})
    conn.execute(text(
        "INSERT INTO subscriptions (team_id, channel_id, kind, filters, schedule, timezone,"
        " created_by, created_at, baseline_done)"
        " VALUES ('T1', 'C1', 'digest', 'open', 'weekdays 09:00', 'UTC', 'U1', :at, :done)"
    ), {"at": APPLIED, "done": True})
    conn.execute(text(
        "INSERT INTO outbox (subscription_id, team_id, channel_id, release_id, kind, payload,"
        " created_at, available_at, state, attempts, slack_ts, sent_at)"
        " VALUES (1, 'T1', 'C1', 7, 'created', :payload, :at, :at, 'sent', 1, '1.1', :at)"
    ), {"payload": '{"kind": "created"}', "at": APPLIED})
    if step >= 3:
        conn.execute(text(
            "INSERT INTO follows (team_id, user_id, release_id, created_at)"
            " VALUES ('T1', 'U2', 7, :at)"
        ), {"at": APPLIED})
