"""Step 12: the release snapshot is kept per MetaKraftwerk connection.

Release ids are unique only inside one MetaKraftwerk customer, so two connections may both have
a release 21; each connection's poll compares against its own rows. The rows there were belong
to the one connection of single-workspace mode (`bot.notify.store.snapshots.SINGLE_CONNECTION`).
The table is rebuilt rather than altered, since SQLite cannot change a primary key in place.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

SINGLE_CONNECTION = "single"  # frozen copy of bot.notify.store.snapshots.SINGLE_CONNECTION


def upgrade() -> None:
    op.create_table(
        "release_snapshot_per_connection",
        sa.Column("connection_id", sa.String(64), nullable=False,
                  server_default=SINGLE_CONNECTION),
        sa.Column("release_id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("data", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                  nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),  # UtcDateTime
        sa.PrimaryKeyConstraint("connection_id", "release_id", name="pk_release_snapshot"),
    )
    op.execute(sa.text(
        "INSERT INTO release_snapshot_per_connection (connection_id, release_id, data, updated_at)"
        " SELECT :single, release_id, data, updated_at FROM release_snapshot"
    ).bindparams(single=SINGLE_CONNECTION))
    op.drop_table("release_snapshot")
    op.rename_table("release_snapshot_per_connection", "release_snapshot")


def downgrade() -> None:
    raise NotImplementedError("the store migrates forward only; restore a backup instead")
