"""Step 10: a schedule row per MetaKraftwerk connection, claimed by any number of workers.

The distributed mode polls each connection on whichever worker claims it first; the row holds
when it is due, the claiming worker's lease and its generation (the fence), and how the
connection has been doing. Self-contained: it only adds a table, which no older step knows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_UTC = sa.DateTime(timezone=True)  # the store's UtcDateTime in DDL


def upgrade() -> None:
    op.create_table(
        "connection_schedules",
        sa.Column("connection_id", sa.String(64), primary_key=True),
        sa.Column("next_poll_at", _UTC, nullable=False),
        sa.Column("interval_seconds", sa.Integer, nullable=False),
        sa.Column("lease_owner", sa.String(255)),
        sa.Column("lease_expires_at", _UTC),
        sa.Column("lease_generation", sa.BigInteger, nullable=False),
        sa.Column("consecutive_failures", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_change_at", _UTC),
        sa.Column("last_error", sa.String(200)),
        sa.Column("last_good_poll_at", _UTC),
        sa.CheckConstraint(
            "status IN ('active', 'failing', 'paused')", name="ck_connection_schedules_status"
        ),
        sa.CheckConstraint("interval_seconds > 0", name="ck_connection_schedules_interval"),
    )
    op.create_index(
        "ix_connection_schedules_due", "connection_schedules", ["status", "next_poll_at"]
    )


def downgrade() -> None:
    raise NotImplementedError("the store migrates forward only; restore a backup instead")
