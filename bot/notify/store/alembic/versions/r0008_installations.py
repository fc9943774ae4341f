"""Step 8: the Slack installations of distributed mode, their history, and OAuth states.

One row per (enterprise, team), updated in place on reinstall; the bot token sealed in a Text
column with the id of the key that sealed it; an append-only history; install states that are
consumed once. Self-contained: it creates only its own tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_UTC = sa.DateTime(timezone=True)  # the store's _UTC in DDL


def upgrade() -> None:
    op.create_table(
        "installations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("enterprise_id", sa.String(32), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("enterprise_name", sa.String(255)),
        sa.Column("team_name", sa.String(255)),
        sa.Column("is_enterprise_install", sa.Boolean, nullable=False),
        sa.Column("app_id", sa.String(32)),
        sa.Column("bot_id", sa.String(32)),
        sa.Column("bot_user_id", sa.String(32)),
        sa.Column("bot_scopes", sa.Text, nullable=False),
        sa.Column("installer_user_id", sa.String(32)),
        sa.Column("bot_token", sa.Text),
        sa.Column("key_id", sa.String(16)),
        sa.Column("bot_token_expires_at", _UTC),
        sa.Column("installed_at", _UTC, nullable=False),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.Column("revoked_at", _UTC),
        sa.UniqueConstraint("enterprise_id", "team_id", name="uq_installations_tenant"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "installation_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("enterprise_id", sa.String(32), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(32)),
        sa.Column("at", _UTC, nullable=False),
        sa.CheckConstraint(
            "kind IN ('installed', 'reinstalled', 'scopes_changed', 'tokens_revoked', "
            "'uninstalled')",
            name="ck_installation_events_kind",
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_installation_events_tenant", "installation_events", ["enterprise_id", "team_id", "id"]
    )
    op.create_table(
        "oauth_states",
        sa.Column("state", sa.String(64), primary_key=True),
        sa.Column("expires_at", _UTC, nullable=False),
    )
    op.create_index("ix_oauth_states_expiry", "oauth_states", ["expires_at"])


def downgrade() -> None:
    raise NotImplementedError("the store migrates forward only; restore a backup instead")
