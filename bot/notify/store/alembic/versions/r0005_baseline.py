"""Baseline: the five steps the store took before Alembic, frozen as they were released.

A fresh database gets all five; one that a release before Alembic created records its step in
`schema_version` and gets only the steps after it. The steps and their tables are copied here,
never imported from the live schema, so later changes there cannot change what they did.
`schema_version` is kept (at 5), so the release before this one still starts on the database.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = None
branch_labels = None
depends_on = None

_UTC = sa.DateTime(timezone=True)  # the store's UtcDateTime in DDL


def _json() -> sa.JSON:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _define_v1(metadata: sa.MetaData) -> None:
    sa.Table(
        "subscriptions", metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("filters", sa.Text, nullable=False),
        sa.Column("schedule", sa.String(64)),
        sa.Column("timezone", sa.String(64)),
        sa.Column("mention", sa.String(255)),
        sa.Column("created_by", sa.String(32), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("paused_reason", sa.Text),
        sa.Column("paused_at", _UTC),
        sa.Column("baseline_done", sa.Boolean, nullable=False),
        sa.CheckConstraint("kind IN ('change', 'digest')", name="ck_subscriptions_kind"),
        sa.CheckConstraint(
            "kind = 'change' OR (schedule IS NOT NULL AND timezone IS NOT NULL)",
            name="ck_subscriptions_digest_schedule",
        ),
        sa.Index("ix_subscriptions_channel", "team_id", "channel_id"),
        sqlite_autoincrement=True,
    )
    sa.Table(
        "release_snapshot", metadata,
        sa.Column("release_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("data", _json(), nullable=False),
        sa.Column("updated_at", _UTC, nullable=False),
    )
    sa.Table(
        "worker_state", metadata,
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    sa.Table(
        "parent_messages", metadata,
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("release_id", sa.BigInteger, nullable=False),
        sa.Column("ts", sa.String(32), nullable=False),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("team_id", "channel_id", "release_id"),
    )
    sa.Table(
        "outbox", metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.Integer, nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("release_id", sa.BigInteger),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("available_at", _UTC, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("slack_ts", sa.String(32)),
        sa.Column("sent_at", _UTC),
        sa.CheckConstraint("state IN ('pending', 'sent', 'failed')", name="ck_outbox_state"),
        sa.Index("ix_outbox_pending", "state", "available_at", "id"),
        sa.Index("ix_outbox_subscription", "subscription_id"),
        sqlite_autoincrement=True,
    )
    sa.Table(
        "digest_runs", metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.Integer, nullable=False),
        sa.Column("local_date", sa.Date, nullable=False),
        sa.Column("scheduled_at", _UTC, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.UniqueConstraint(
            "subscription_id", "local_date", name="uq_digest_runs_subscription_day"
        ),
        sa.CheckConstraint("outcome IN ('sent', 'skipped')", name="ck_digest_runs_outcome"),
    )
    sa.Table(
        "worker_leases", metadata,
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(255), nullable=False),
        sa.Column("expires_at", _UTC, nullable=False),
        sa.Column("acquired_at", _UTC, nullable=False),
    )


def _add_columns(conn: Connection, table: str, *columns: sa.Column[object]) -> None:
    for column in columns:
        ddl = column.type.compile(dialect=conn.dialect)
        conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {column.name} {ddl}"))


def _step_1(conn: Connection) -> None:
    """The first tables."""
    v1 = sa.MetaData()
    _define_v1(v1)
    v1.create_all(conn, checkfirst=True)


def _step_2(conn: Connection) -> None:
    """An outbox row being posted right now is `pending` with `sending_at` set."""
    _add_columns(
        conn, "outbox", sa.Column("sending_at", _UTC), sa.Column("sending_by", sa.String(255))
    )


def _step_3(conn: Connection) -> None:
    """Subscriptions narrowed to kinds of change, and follows of one release."""
    _add_columns(conn, "subscriptions", sa.Column("events", sa.Text))
    _add_columns(conn, "outbox", sa.Column("follow_id", sa.Integer))
    v3 = sa.MetaData()
    sa.Table(
        "follows", v3,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("release_id", sa.BigInteger, nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.UniqueConstraint("team_id", "user_id", "release_id", name="uq_follows_user_release"),
        sa.Index("ix_follows_release", "release_id"),
        sqlite_autoincrement=True,
    )
    v3.create_all(conn, checkfirst=True)


def _step_4(conn: Connection) -> None:
    """An index for finding the oldest pending row of each channel without a per-row scan."""
    conn.execute(
        sa.text(
            "CREATE INDEX IF NOT EXISTS ix_outbox_channel_order "
            "ON outbox (state, team_id, channel_id, id)"
        )
    )


def _step_5(conn: Connection) -> None:
    """Payloads stored once per event, not once per row."""
    _add_columns(conn, "outbox", sa.Column("payload_id", sa.Integer))
    v5 = sa.MetaData()
    sa.Table(
        "outbox_payloads", v5,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sqlite_autoincrement=True,
    )
    v5.create_all(conn, checkfirst=True)


STEPS: tuple[tuple[int, Callable[[Connection], None]], ...] = (
    (1, _step_1), (2, _step_2), (3, _step_3), (4, _step_4), (5, _step_5),
)

_schema_version = sa.Table(
    "schema_version", sa.MetaData(),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("applied_at", _UTC, nullable=False),
)


def upgrade() -> None:
    conn = op.get_bind()
    _schema_version.create(conn, checkfirst=True)
    done = conn.scalar(sa.select(sa.func.max(_schema_version.c.version))) or 0
    now = context.config.attributes.get("now") or datetime.now(UTC)  # the store's clock
    if conn.dialect.name == "sqlite":
        now = now.astimezone(UTC).replace(tzinfo=None)  # as the store's UtcDateTime writes it there
    for version, step in STEPS:
        if version > done:
            step(conn)
            conn.execute(sa.insert(_schema_version).values(version=version, applied_at=now))


def downgrade() -> None:
    raise NotImplementedError("the store migrates forward only; restore a backup instead")
