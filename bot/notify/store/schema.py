"""The tables, as the migrations leave them, and the column type for aware UTC times."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out; SQLite stores them naive, PostgreSQL as timestamptz."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store needs aware UTC times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _json() -> JSON:
    return JSON().with_variant(postgresql.JSONB(), "postgresql")


metadata = MetaData()
"""The tables as the newest migration leaves them (`bot/notify/store/alembic/versions/`).

A change here needs a new migration beside it; tests compare a migrated database with this.
"""

subscriptions = Table(
    "subscriptions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("team_id", String(32), nullable=False),
    Column("channel_id", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("filters", Text, nullable=False),
    Column("schedule", String(64)),
    Column("timezone", String(64)),
    Column("mention", String(255)),
    Column("created_by", String(32), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("paused_reason", Text),
    Column("paused_at", UtcDateTime),
    Column("baseline_done", Boolean, nullable=False),
    # The kinds of change a subscription hears (`events_text`); NULL: every kind.
    Column("events", Text),
    # Equal in two subscriptions of a channel that are the same (`subscriptions.twin_key`).
    Column("twin_key", String(64)),
    # The language its posts are written in (`lang:de`); NULL: the workspace default.
    Column("language", String(16)),
    CheckConstraint("kind IN ('change', 'digest')", name="ck_subscriptions_kind"),
    CheckConstraint(
        "kind = 'change' OR (schedule IS NOT NULL AND timezone IS NOT NULL)",
        name="ck_subscriptions_digest_schedule",
    ),
    Index("ix_subscriptions_channel", "team_id", "channel_id"),
    Index("uq_subscriptions_twin", "team_id", "channel_id", "twin_key", unique=True),
    sqlite_autoincrement=True,  # ids are shown to users: never reuse a deleted one
)
release_snapshot = Table(
    # What the last poll of each MetaKraftwerk connection saw: release ids are unique only
    # inside one customer. Single-workspace mode has one connection, `snapshots.SINGLE_CONNECTION`.
    "release_snapshot", metadata,
    Column("connection_id", String(64), nullable=False, server_default="single"),
    Column("release_id", BigInteger, nullable=False, autoincrement=False),
    Column("data", _json(), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("connection_id", "release_id", name="pk_release_snapshot"),
)
worker_state = Table(
    "worker_state", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
parent_messages = Table(
    "parent_messages", metadata,
    Column("team_id", String(32), nullable=False),
    Column("channel_id", String(32), nullable=False),
    Column("release_id", BigInteger, nullable=False),
    Column("ts", String(32), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("team_id", "channel_id", "release_id"),
)
outbox = Table(
    "outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscription_id", Integer, nullable=False),  # 0 for a follower's direct message
    Column("team_id", String(32), nullable=False),
    Column("channel_id", String(32), nullable=False),
    Column("release_id", BigInteger),
    Column("kind", String(32), nullable=False),
    # Rows with `payload_id` keep `{}` here: SQLite cannot drop the NOT NULL in place.
    Column("payload", _json(), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("available_at", UtcDateTime, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("slack_ts", String(32)),
    Column("sent_at", UtcDateTime),
    # A row being posted right now is `pending` with `sending_at` set (a column rather than a
    # new state value: SQLite cannot alter a CHECK constraint in place).
    Column("sending_at", UtcDateTime),
    Column("sending_by", String(255)),
    Column("follow_id", Integer),  # a follower's direct message names its follow
    Column("payload_id", Integer),  # the payload in `outbox_payloads`; NULL: in `payload`
    CheckConstraint("state IN ('pending', 'sent', 'failed')", name="ck_outbox_state"),
    Index("ix_outbox_pending", "state", "available_at", "id"),
    Index("ix_outbox_subscription", "subscription_id"),
    # A channel's pending rows in order, for the rule that an older row blocks newer ones.
    Index("ix_outbox_channel_order", "state", "team_id", "channel_id", "id"),
    sqlite_autoincrement=True,
)
digest_runs = Table(
    "digest_runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscription_id", Integer, nullable=False),
    Column("local_date", Date, nullable=False),
    Column("scheduled_at", UtcDateTime, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("subscription_id", "local_date", name="uq_digest_runs_subscription_day"),
    CheckConstraint("outcome IN ('sent', 'skipped')", name="ck_digest_runs_outcome"),
)
worker_leases = Table(
    "worker_leases", metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(255), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("acquired_at", UtcDateTime, nullable=False),
)
follows = Table(
    "follows", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("team_id", String(32), nullable=False),
    Column("user_id", String(32), nullable=False),
    Column("release_id", BigInteger, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("team_id", "user_id", "release_id", name="uq_follows_user_release"),
    Index("ix_follows_release", "release_id"),
    sqlite_autoincrement=True,
)
outbox_payloads = Table(
    # An event's payload stored once, however many channels its rows go to: 500 changes for
    # 5,000 subscriptions are 25,000 rows but 500 payloads.
    "outbox_payloads", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("payload", _json(), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    sqlite_autoincrement=True,
)
connection_schedules = Table(
    # One row per MetaKraftwerk connection in the distributed mode: when it is next polled, and
    # which worker holds it now. Workers claim due rows (`bot.notify.scale.claims`); the
    # generation goes up at every claim, so a worker whose lease ran out and was taken over can
    # no longer commit, even if it claims the same row again later.
    "connection_schedules", metadata,
    Column("connection_id", String(64), primary_key=True),
    Column("next_poll_at", UtcDateTime, nullable=False),
    Column("interval_seconds", Integer, nullable=False),  # the base interval, before back-off
    Column("lease_owner", String(255)),
    Column("lease_expires_at", UtcDateTime),
    Column("lease_generation", BigInteger, nullable=False),
    Column("consecutive_failures", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("last_change_at", UtcDateTime),
    Column("last_error", String(200)),
    Column("last_good_poll_at", UtcDateTime),
    CheckConstraint(
        "status IN ('active', 'failing', 'paused')", name="ck_connection_schedules_status"
    ),
    CheckConstraint("interval_seconds > 0", name="ck_connection_schedules_interval"),
    Index("ix_connection_schedules_due", "status", "next_poll_at"),
)
connections = Table(
    # A MetaKraftwerk base URL and service account, owned by one workspace (team_id set) or by
    # an org for all its workspaces (team_id ''). Secrets are sealed (bot.secret_box) and bound
    # to the owner, so a value copied into another owner's row does not open there.
    "connections", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner_enterprise_id", String(32), nullable=False),  # '' outside Enterprise Grid
    Column("owner_team_id", String(32), nullable=False),  # '' for an org-wide connection
    Column("base_url", String(255), nullable=False),
    Column("email", String(320), nullable=False),
    Column("password_sealed", Text, nullable=False),
    Column("password_key_id", String(16), nullable=False),
    Column("session_token_sealed", Text),
    Column("session_key_id", String(16)),
    Column("session_expires_at", UtcDateTime),
    Column("connected_by", String(32), nullable=False),
    Column("connected_at", UtcDateTime, nullable=False),
    Column("last_good_poll_at", UtcDateTime),
    Column("last_error", String(200)),
    Column("status", String(16), nullable=False),
    CheckConstraint(
        "status IN ('active', 'failing', 'disabled')", name="ck_connections_status"
    ),
    UniqueConstraint("owner_enterprise_id", "owner_team_id", name="uq_connections_owner"),
    Index("ix_connections_session_expiry", "session_expires_at"),
    sqlite_autoincrement=True,
)
connect_links = Table(
    # Single-use links to the connect page: only the nonce's hash is kept, never the nonce.
    "connect_links", metadata,
    Column("nonce_hash", String(64), primary_key=True),
    Column("enterprise_id", String(32), nullable=False),
    Column("team_id", String(32), nullable=False),
    Column("user_id", String(32), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),
    Index("ix_connect_links_expires", "expires_at"),
)
installations = Table(
    # One row per Slack install: a workspace (team_id) or a Grid org (enterprise_id, team_id
    # ''). The ids are '' rather than NULL so a plain unique key holds; reinstalls update it.
    "installations", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("enterprise_id", String(32), nullable=False),
    Column("team_id", String(32), nullable=False),
    Column("enterprise_name", String(255)),
    Column("team_name", String(255)),
    Column("is_enterprise_install", Boolean, nullable=False),
    Column("app_id", String(32)),
    Column("bot_id", String(32)),
    Column("bot_user_id", String(32)),
    Column("bot_scopes", Text, nullable=False),
    Column("installer_user_id", String(32)),
    # The bot token sealed by bot/secret_box.py for this row and field; NULL once revoked.
    Column("bot_token", Text),
    Column("key_id", String(16)),
    Column("bot_token_expires_at", UtcDateTime),
    Column("installed_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    UniqueConstraint("enterprise_id", "team_id", name="uq_installations_tenant"),
    sqlite_autoincrement=True,
)
installation_events = Table(
    # Append-only history of installs, reinstalls and revocations.
    "installation_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("enterprise_id", String(32), nullable=False),
    Column("team_id", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("user_id", String(32)),
    Column("at", UtcDateTime, nullable=False),
    CheckConstraint(
        "kind IN ('installed', 'reinstalled', 'scopes_changed', 'tokens_revoked', "
        "'uninstalled')",
        name="ck_installation_events_kind",
    ),
    Index("ix_installation_events_tenant", "enterprise_id", "team_id", "id"),
    sqlite_autoincrement=True,
)
oauth_states = Table(
    # The state of an install in progress: consumed once, refused after `expires_at`.
    "oauth_states", metadata,
    Column("state", String(64), primary_key=True),
    Column("expires_at", UtcDateTime, nullable=False),
    Index("ix_oauth_states_expiry", "expires_at"),
)
user_languages = Table(
    # The language a person chose with `/releases language`; no row: their Slack language.
    "user_languages", metadata,
    Column("team_id", String(32), nullable=False),
    Column("user_id", String(32), nullable=False),
    Column("language", String(16), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("team_id", "user_id"),
)
shared_channels_allowed = Table(
    # Channels shared with other organisations where an admin allowed subscriptions, digests
    # and Share; without a row such a channel gets none of them.
    "shared_channels_allowed", metadata,
    Column("team_id", String(32), nullable=False),
    Column("channel_id", String(32), nullable=False),
    Column("allowed_by", String(32), nullable=False),
    Column("allowed_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("team_id", "channel_id"),
)
