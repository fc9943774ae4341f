"""Step 7: the language each person chose, and the language of each subscription.

A person's choice (`/releases language de`) is one row per team and user; no row means the
Slack language applies. A subscription's posts are read by a whole channel, so the language
is chosen when it is set up (`lang:de`) and kept on its row; NULL (every subscription older
than this step) means the workspace default.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_UTC = sa.DateTime(timezone=True)  # the store's UtcDateTime in DDL (never the live schema)


def upgrade() -> None:
    op.create_table(
        "user_languages",
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("team_id", "user_id"),
    )
    op.add_column("subscriptions", sa.Column("language", sa.String(16)))


def downgrade() -> None:
    raise NotImplementedError("the store migrates forward only; restore a backup instead")
