"""Step 11: the channels shared with other organisations that an admin allowed.

A new table, empty: until an admin allows a shared channel, it gets no new subscriptions,
digests or Share.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shared_channels_allowed",
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("allowed_by", sa.String(32), nullable=False),
        sa.Column("allowed_at", sa.DateTime(timezone=True), nullable=False),  # UtcDateTime
        sa.PrimaryKeyConstraint("team_id", "channel_id"),
    )


def downgrade() -> None:
    raise NotImplementedError("the store migrates forward only; restore a backup instead")
