"""Step 9: MetaKraftwerk connections per workspace or org, and the single-use connect links.

A connection holds a base URL and a service account's email, its password and the session
token from its last login, both sealed with SECRET_KEYS (bot.secret_box) and bound to the
owner. A connect link stores only the hash of its nonce, with the tenant and user it was made
for, its expiry and when it was used.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_UTC = sa.DateTime(timezone=True)  # the store's UtcDateTime in DDL, never the live schema


def upgrade() -> None:
    op.create_table(
        "connections",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("owner_enterprise_id", sa.String(32), nullable=False),
        sa.Column("owner_team_id", sa.String(32), nullable=False),
        sa.Column("base_url", sa.String(255), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("password_sealed", sa.Text, nullable=False),
        sa.Column("password_key_id", sa.String(16), nullable=False),
        sa.Column("session_token_sealed", sa.Text),
        sa.Column("session_key_id", sa.String(16)),
        sa.Column("session_expires_at", _UTC),
        sa.Column("connected_by", sa.String(32), nullable=False),
        sa.Column("connected_at", _UTC, nullable=False),
        sa.Column("last_good_poll_at", _UTC),
        sa.Column("last_error", sa.String(200)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'failing', 'disabled')", name="ck_connections_status"
        ),
        sa.UniqueConstraint(
            "owner_enterprise_id", "owner_team_id", name="uq_connections_owner"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_connections_session_expiry", "connections", ["session_expires_at"])
    op.create_table(
        "connect_links",
        sa.Column("nonce_hash", sa.String(64), primary_key=True),
        sa.Column("enterprise_id", sa.String(32), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("expires_at", _UTC, nullable=False),
        sa.Column("used_at", _UTC),
    )
    op.create_index("ix_connect_links_expires", "connect_links", ["expires_at"])


def downgrade() -> None:
    raise NotImplementedError("the store migrates forward only; restore a backup instead")
