"""Subscriptions, the release snapshot, the delivery outbox, digest runs and the worker lease.

SQLAlchemy Core over SQLite (one file, WAL) or PostgreSQL. Every method is one transaction, and
the ones that must be atomic say so: a poll's new snapshot and the deliveries it causes are
written together (`commit_poll`), so a worker that dies between polling and posting neither
loses nor repeats a notification; the outbox then survives restarts until each row is sent.

Times are aware UTC datetimes taken from an injected clock, so tests control expiry and "now".
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Connection,
    Date,
    DateTime,
    Dialect,
    Engine,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, RowMapping, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool
from sqlalchemy.sql.dml import Insert
from sqlalchemy.types import TypeDecorator

from bot.metakraftwerk.models import Release
from bot.schedule import Schedule

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
SubscriptionKind = Literal["change", "digest"]
DeliveryState = Literal["pending", "sending", "sent", "failed"]
DigestOutcome = Literal["sent", "skipped"]

DEFAULT_DATABASE_URL = "sqlite:///releases-bot.db"
SQLITE_BUSY_TIMEOUT_SECONDS = 30.0
_WRITE = "releases_bot_write"  # execution option: this transaction writes (SQLite: IMMEDIATE)


def utc_now() -> datetime:
    return datetime.now(UTC)


class LeaseLost(RuntimeError):
    """The worker no longer holds its lease; nothing of the transaction was written."""


# --------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True, slots=True)
class Subscription:
    """A channel's change subscription or digest; it belongs to the channel, not its creator."""

    id: int
    team_id: str
    channel_id: str
    kind: SubscriptionKind
    filters: str  # Query.to_text()
    schedule: str | None  # Schedule.to_text(), digests only
    timezone: str | None  # IANA name, digests only
    mention: str | None
    created_by: str
    created_at: datetime
    paused_reason: str | None = None
    paused_at: datetime | None = None
    baseline_done: bool = False

    @property
    def paused(self) -> bool:
        return self.paused_at is not None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The releases as last polled; `taken_at` is None before the very first poll."""

    releases: dict[int, Release]
    taken_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """Something to post: a change event (with its release id) or a digest (without)."""

    subscription_id: int
    team_id: str
    channel_id: str
    kind: str
    payload: Mapping[str, Any] = field(hash=False)
    release_id: int | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """A pending outbox row, with the subscription's mention for the parent message."""

    id: int
    subscription_id: int
    team_id: str
    channel_id: str
    release_id: int | None
    kind: str
    payload: Mapping[str, Any] = field(hash=False)
    created_at: datetime
    attempts: int
    mention: str | None


@dataclass(frozen=True, slots=True)
class Lease:
    """Who (holder) may run the single worker (name)."""

    name: str
    holder: str


# --------------------------------------------------------------------------------------------
# Schema


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


def _define_v1(metadata: MetaData) -> None:
    """The tables as migration step 1 creates them; later steps alter, never edit this."""
    Table(
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
        CheckConstraint("kind IN ('change', 'digest')", name="ck_subscriptions_kind"),
        CheckConstraint(
            "kind = 'change' OR (schedule IS NOT NULL AND timezone IS NOT NULL)",
            name="ck_subscriptions_digest_schedule",
        ),
        Index("ix_subscriptions_channel", "team_id", "channel_id"),
        sqlite_autoincrement=True,  # ids are shown to users: never reuse a deleted one
    )
    Table(
        "release_snapshot", metadata,
        Column("release_id", BigInteger, primary_key=True, autoincrement=False),
        Column("data", _json(), nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
    )
    Table(
        "worker_state", metadata,
        Column("key", String(64), primary_key=True),
        Column("value", Text, nullable=False),
    )
    Table(
        "parent_messages", metadata,
        Column("team_id", String(32), nullable=False),
        Column("channel_id", String(32), nullable=False),
        Column("release_id", BigInteger, nullable=False),
        Column("ts", String(32), nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
        PrimaryKeyConstraint("team_id", "channel_id", "release_id"),
    )
    Table(
        "outbox", metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("subscription_id", Integer, nullable=False),
        Column("team_id", String(32), nullable=False),
        Column("channel_id", String(32), nullable=False),
        Column("release_id", BigInteger),
        Column("kind", String(32), nullable=False),
        Column("payload", _json(), nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("available_at", UtcDateTime, nullable=False),
        Column("state", String(16), nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("last_error", Text),
        Column("slack_ts", String(32)),
        Column("sent_at", UtcDateTime),
        CheckConstraint("state IN ('pending', 'sent', 'failed')", name="ck_outbox_state"),
        Index("ix_outbox_pending", "state", "available_at", "id"),
        Index("ix_outbox_subscription", "subscription_id"),
        sqlite_autoincrement=True,
    )
    Table(
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
    Table(
        "worker_leases", metadata,
        Column("name", String(64), primary_key=True),
        Column("holder", String(255), nullable=False),
        Column("expires_at", UtcDateTime, nullable=False),
        Column("acquired_at", UtcDateTime, nullable=False),
    )


def _v2_columns() -> tuple[Column[Any], ...]:
    """Step 2: an outbox row being posted right now is `pending` with `sending_at` set.

    A column rather than a new state value: SQLite cannot alter a CHECK constraint in place.
    """
    return (Column("sending_at", UtcDateTime), Column("sending_by", String(255)))


metadata = MetaData()
_define_v1(metadata)
for _column in _v2_columns():
    metadata.tables["outbox"].append_column(_column)
subscriptions = metadata.tables["subscriptions"]
release_snapshot = metadata.tables["release_snapshot"]
worker_state = metadata.tables["worker_state"]
parent_messages = metadata.tables["parent_messages"]
outbox = metadata.tables["outbox"]
digest_runs = metadata.tables["digest_runs"]
worker_leases = metadata.tables["worker_leases"]

schema_version = Table(
    "schema_version", MetaData(),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", UtcDateTime, nullable=False),
)


def _migrate_v1(conn: Connection) -> None:
    v1 = MetaData()
    _define_v1(v1)
    v1.create_all(conn, checkfirst=True)


def _migrate_v2(conn: Connection) -> None:
    for column in _v2_columns():
        ddl = column.type.compile(dialect=conn.dialect)
        conn.execute(text(f"ALTER TABLE outbox ADD COLUMN {column.name} {ddl}"))


# Ordered and append-only: step N runs once, in the transaction that records version N.
MIGRATIONS: tuple[tuple[int, Callable[[Connection], None]], ...] = (
    (1, _migrate_v1),
    (2, _migrate_v2),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]


# --------------------------------------------------------------------------------------------
# Engine


def normalize_database_url(database_url: str) -> URL:
    """`postgres://` and `postgresql://` use psycopg 3; SQLite and PostgreSQL only."""
    url = make_url(database_url.strip())
    backend = url.get_backend_name()
    if backend == "postgres":
        backend = "postgresql"
    if backend == "postgresql":
        if url.drivername in ("postgres", "postgresql"):
            url = url.set(drivername="postgresql+psycopg")
        return url
    if backend == "sqlite":
        return url
    raise ValueError(
        f"DATABASE_URL must be sqlite:///path.db or postgresql://user@host/db, "
        f"not a {backend!r} URL"
    )


def _sqlite_engine(url: URL) -> Engine:
    in_memory = url.database in (None, "", ":memory:")
    engine = create_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        # One shared connection for an in-memory database (single-threaded use only).
        **({"poolclass": StaticPool} if in_memory else {}),
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        # SQLAlchemy, not the sqlite3 module, emits BEGIN (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)}")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A writer takes the write lock up front, so it waits (busy timeout) instead of failing
        # to upgrade a read lock half-way; readers stay deferred and never block under WAL.
        immediate = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def create_store_engine(database_url: str = DEFAULT_DATABASE_URL) -> Engine:
    url = normalize_database_url(database_url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True)


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock, the same in every process."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


# --------------------------------------------------------------------------------------------
# Store


class Store:
    """All persistent state of the notification side; safe to share between threads."""

    def __init__(self, engine: Engine, *, clock: Clock = utc_now, migrate: bool = True) -> None:
        self._engine = engine
        self._clock = clock
        if migrate:
            self.migrate()

    @classmethod
    def from_url(
        cls, database_url: str = DEFAULT_DATABASE_URL, *, clock: Clock = utc_now
    ) -> Store:
        return cls(create_store_engine(database_url), clock=clock)

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    def close(self) -> None:
        self._engine.dispose()

    def ping(self) -> None:
        """`SELECT 1`: raises when the database cannot be reached (for health checks)."""
        with self._engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the store's clock must return aware datetimes")
        return now.astimezone(UTC)

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._engine.connect() as conn:
            conn.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """A consistent view across statements (SQLite gives one per transaction anyway)."""
        with self._engine.connect() as conn:
            if self.dialect == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    def _insert_ignore(self, table: Table, *conflict: str) -> Insert:
        """INSERT that does nothing when a row with the same key exists.

        Callers add RETURNING and test for a row: rowcount is not reliable once SQLAlchemy
        adds RETURNING for the primary key itself (it reports -1 on PostgreSQL).
        """
        if self.dialect == "postgresql":
            return postgresql.insert(table).on_conflict_do_nothing(index_elements=list(conflict))
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=list(conflict))

    # -- schema ---------------------------------------------------------------------------

    def migrate(self) -> int:
        """Create or upgrade the schema; concurrent starts serialise, each step runs once."""
        with self._write() as conn:
            if self.dialect == "postgresql":
                # Guards even the first CREATE TABLE: concurrent DDL would otherwise race.
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"),
                    {"key": advisory_key("releases-bot:migrate")},
                )
            schema_version.create(conn, checkfirst=True)
            current = conn.scalar(select(func.max(schema_version.c.version))) or 0
            for version, step in MIGRATIONS:
                if version > current:
                    log.info("database schema: applying step %d", version)
                    step(conn)
                    conn.execute(
                        insert(schema_version).values(version=version, applied_at=self._now())
                    )
            return max(current, SCHEMA_VERSION)

    def schema_version(self) -> int:
        with self._read() as conn:
            return int(conn.scalar(select(func.max(schema_version.c.version))) or 0)

    # -- subscriptions --------------------------------------------------------------------

    def add_change_subscription(
        self,
        *,
        team_id: str,
        channel_id: str,
        filters: str,
        created_by: str,
        mention: str | None = None,
    ) -> Subscription:
        """A new change subscription; the next poll records its baseline and posts nothing."""
        return self._add(
            team_id=team_id, channel_id=channel_id, kind="change", filters=filters,
            schedule=None, timezone=None, mention=mention, created_by=created_by,
            baseline_done=False,
        )

    def add_digest_subscription(
        self,
        *,
        team_id: str,
        channel_id: str,
        filters: str,
        schedule: Schedule,
        timezone: str,
        created_by: str,
        mention: str | None = None,
    ) -> Subscription:
        return self._add(
            team_id=team_id, channel_id=channel_id, kind="digest", filters=filters,
            schedule=schedule.to_text(), timezone=timezone, mention=mention,
            created_by=created_by, baseline_done=True,
        )

    def _add(self, **values: Any) -> Subscription:
        with self._write() as conn:
            row = conn.execute(
                insert(subscriptions)
                .values(created_at=self._now(), **values)
                .returning(*subscriptions.c)
            ).one()
        return _subscription(row._mapping)

    def list_subscriptions(self, team_id: str, channel_id: str) -> list[Subscription]:
        """One channel's subscriptions, oldest first."""
        with self._read() as conn:
            rows = conn.execute(
                select(subscriptions)
                .where(subscriptions.c.team_id == team_id, subscriptions.c.channel_id == channel_id)
                .order_by(subscriptions.c.id)
            ).all()
        return [_subscription(row._mapping) for row in rows]

    def all_subscriptions(
        self, kind: SubscriptionKind | None = None, *, include_paused: bool = False
    ) -> list[Subscription]:
        """Every channel's subscriptions, for the worker."""
        query = select(subscriptions).order_by(subscriptions.c.id)
        if kind is not None:
            query = query.where(subscriptions.c.kind == kind)
        if not include_paused:
            query = query.where(subscriptions.c.paused_at.is_(None))
        with self._read() as conn:
            return [_subscription(row._mapping) for row in conn.execute(query).all()]

    def get_subscription(
        self, team_id: str, channel_id: str, subscription_id: int
    ) -> Subscription | None:
        """One subscription, only if it belongs to this channel."""
        with self._read() as conn:
            row = conn.execute(
                select(subscriptions).where(*_in_channel(team_id, channel_id, subscription_id))
            ).one_or_none()
        return None if row is None else _subscription(row._mapping)

    def delete_subscription(self, team_id: str, channel_id: str, subscription_id: int) -> bool:
        """Delete by id, only within this channel: another channel's id is simply not found."""
        with self._write() as conn:
            deleted = conn.execute(
                delete(subscriptions).where(*_in_channel(team_id, channel_id, subscription_id))
            ).rowcount
            if deleted:
                _forget_subscriptions(conn, [subscription_id])
        return bool(deleted)

    def delete_channel_subscriptions(self, team_id: str, channel_id: str) -> int:
        with self._write() as conn:
            ids = list(
                conn.scalars(
                    delete(subscriptions)
                    .where(
                        subscriptions.c.team_id == team_id,
                        subscriptions.c.channel_id == channel_id,
                    )
                    .returning(subscriptions.c.id)
                )
            )
            _forget_subscriptions(conn, ids)
        return len(ids)

    def pause_subscription(self, subscription_id: int, reason: str) -> bool:
        """Stop delivering (e.g. `not_in_channel`) and cancel what is pending for it."""
        return bool(self._pause(subscriptions.c.id == subscription_id, reason))

    def pause_channel(self, team_id: str, channel_id: str, reason: str) -> int:
        """Pause every active subscription of a channel the bot can no longer post to."""
        return self._pause(
            (subscriptions.c.team_id == team_id) & (subscriptions.c.channel_id == channel_id),
            reason,
        )

    def _pause(self, where: Any, reason: str) -> int:
        now = self._now()
        with self._write() as conn:
            ids = list(
                conn.scalars(
                    update(subscriptions)
                    .where(where, subscriptions.c.paused_at.is_(None))
                    .values(paused_at=now, paused_reason=reason)
                    .returning(subscriptions.c.id)
                )
            )
            if ids:
                conn.execute(
                    update(outbox)
                    .where(outbox.c.subscription_id.in_(ids), outbox.c.state == "pending")
                    .values(state="failed", last_error=f"cancelled, subscription paused: {reason}")
                )
        return len(ids)

    def resume_subscription(self, subscription_id: int) -> bool:
        return bool(self._resume(subscriptions.c.id == subscription_id))

    def resume_channel(self, team_id: str, channel_id: str) -> int:
        return self._resume(
            (subscriptions.c.team_id == team_id) & (subscriptions.c.channel_id == channel_id)
        )

    def _resume(self, where: Any) -> int:
        with self._write() as conn:
            return conn.execute(
                update(subscriptions)
                .where(where, subscriptions.c.paused_at.is_not(None))
                .values(paused_at=None, paused_reason=None)
            ).rowcount

    # -- snapshot and outbox --------------------------------------------------------------

    def load_snapshot(self) -> Snapshot:
        with self._read() as conn:
            rows = conn.execute(select(release_snapshot.c.data)).scalars().all()
            taken = conn.scalar(
                select(worker_state.c.value).where(worker_state.c.key == "snapshot_taken_at")
            )
        releases = [Release.from_api(data) for data in rows]
        return Snapshot(
            releases={release.id: release for release in releases},
            taken_at=None if taken is None else datetime.fromisoformat(taken),
        )

    def commit_poll(
        self,
        snapshot: Mapping[int, Release],
        deliveries: Sequence[NewDelivery] = (),
        *,
        baselined: Iterable[int] = (),
        fence: Lease | None = None,
    ) -> list[int]:
        """Atomically: store the snapshot, enqueue its deliveries, mark baselines recorded.

        With `fence`, first checks (and on PostgreSQL locks) that the lease is still held and
        raises LeaseLost otherwise, so a worker that lost its lease cannot write a poll.
        Deliveries for subscriptions deleted or paused since the caller read them are dropped.
        Returns the new outbox ids in the order given.
        """
        now = self._now()
        with self._write() as conn:
            if fence is not None:
                _check_fence(conn, fence, now)
            _replace_snapshot(conn, snapshot, now)
            wanted = {delivery.subscription_id for delivery in deliveries}
            active = set(
                conn.scalars(
                    select(subscriptions.c.id).where(
                        subscriptions.c.id.in_(wanted), subscriptions.c.paused_at.is_(None)
                    )
                )
            ) if wanted else set()
            ids = [
                _enqueue(conn, delivery, now)
                for delivery in deliveries
                if delivery.subscription_id in active
            ]
            baseline_ids = list(baselined)
            if baseline_ids:
                conn.execute(
                    update(subscriptions)
                    .where(subscriptions.c.id.in_(baseline_ids))
                    .values(baseline_done=True)
                )
            _set_state(conn, "snapshot_taken_at", now.isoformat())
        return ids

    def pending_deliveries(self, limit: int = 100) -> list[Delivery]:
        """Pending rows that are due, oldest first, for subscriptions that are not paused."""
        query = (
            select(outbox, subscriptions.c.mention)
            .join(subscriptions, subscriptions.c.id == outbox.c.subscription_id)
            .where(
                outbox.c.state == "pending",
                outbox.c.sending_at.is_(None),
                outbox.c.available_at <= self._now(),
                subscriptions.c.paused_at.is_(None),
            )
            .order_by(outbox.c.id)
            .limit(limit)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [_delivery(row) for row in rows]

    def delivery_state(self, delivery_id: int) -> DeliveryState | None:
        with self._read() as conn:
            row = conn.execute(
                select(outbox.c.state, outbox.c.sending_at).where(outbox.c.id == delivery_id)
            ).one_or_none()
        if row is None:
            return None
        if row.state == "pending" and row.sending_at is not None:
            return "sending"
        return cast(DeliveryState, row.state)

    def claim_delivery(self, delivery_id: int, *, fence: Lease | None = None) -> bool:
        """Mark a pending row as being posted now; False if it is not (or no longer) ours to post.

        One UPDATE decides, so two processes can never both claim a row; with `fence`, a worker
        that lost its lease claims nothing (LeaseLost). The mark lets a successor see which rows
        were in flight when a worker died (`recover_in_flight`).
        """
        now = self._now()
        with self._write() as conn:
            if fence is not None:
                _check_fence(conn, fence, now)
            return bool(
                conn.execute(
                    update(outbox)
                    .where(
                        outbox.c.id == delivery_id,
                        outbox.c.state == "pending",
                        outbox.c.sending_at.is_(None),
                    )
                    .values(
                        sending_at=now, sending_by=None if fence is None else fence.holder
                    )
                ).rowcount
            )

    def unclaim_delivery(self, delivery_id: int) -> None:
        """Undo a claim when the post certainly did not happen (nothing reached Slack)."""
        with self._write() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id == delivery_id, outbox.c.state == "pending")
                .values(sending_at=None, sending_by=None)
            )

    def recover_in_flight(self, *, fence: Lease | None = None) -> list[Delivery]:
        """Rows a worker claimed but never finished (it died mid-post): made pending again.

        Whether Slack got such a post is unknown; the caller logs them, and the next delivery
        posts them again (at least once). Call only while holding the worker lease.
        """
        now = self._now()
        with self._write() as conn:
            if fence is not None:
                _check_fence(conn, fence, now)
            rows = conn.execute(
                select(outbox, subscriptions.c.mention)
                .join(subscriptions, subscriptions.c.id == outbox.c.subscription_id)
                .where(outbox.c.state == "pending", outbox.c.sending_at.is_not(None))
                .order_by(outbox.c.id)
            ).all()
            if rows:
                conn.execute(
                    update(outbox)
                    .where(outbox.c.id.in_([row.id for row in rows]))
                    .values(sending_at=None, sending_by=None)
                )
        return [_delivery(row) for row in rows]

    def mark_sent(self, delivery_id: int, ts: str, *, parent: bool = False) -> None:
        """Record a posted row; with `parent`, its ts becomes the release's parent message."""
        now = self._now()
        with self._write() as conn:
            row = conn.execute(
                update(outbox)
                .where(outbox.c.id == delivery_id)
                .values(
                    state="sent", slack_ts=ts, sent_at=now, attempts=outbox.c.attempts + 1,
                    sending_at=None, sending_by=None,
                )
                .returning(outbox.c.team_id, outbox.c.channel_id, outbox.c.release_id)
            ).one_or_none()
            if row is None:
                raise KeyError(f"no outbox row {delivery_id}")
            if parent:
                if row.release_id is None:
                    raise ValueError(f"outbox row {delivery_id} has no release for a parent")
                _upsert_parent(conn, row.team_id, row.channel_id, row.release_id, ts, now)

    def mark_failed(
        self, delivery_id: int, error: str, *, retry_at: datetime | None = None
    ) -> None:
        """Count a failed attempt: retry at `retry_at` (e.g. after a 429), or give up."""
        values: dict[str, Any] = {
            "attempts": outbox.c.attempts + 1, "last_error": error[:2000],
            "sending_at": None, "sending_by": None,
        }
        if retry_at is None:
            values["state"] = "failed"
        else:
            values["available_at"] = retry_at
        with self._write() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id == delivery_id, outbox.c.state == "pending")
                .values(**values)
            )

    def purge_outbox(self, older_than: timedelta) -> int:
        """Delete sent and failed rows older than this, and rows nobody can deliver any more.

        Pending rows of live subscriptions are kept however old: they are still owed.
        """
        cutoff = self._now() - older_than
        orphaned = ~select(subscriptions.c.id).where(
            subscriptions.c.id == outbox.c.subscription_id
        ).exists()
        with self._write() as conn:
            return conn.execute(
                delete(outbox).where(
                    or_(
                        (outbox.c.state != "pending") & (outbox.c.created_at < cutoff),
                        orphaned,
                    )
                )
            ).rowcount

    def record_parent(self, team_id: str, channel_id: str, release_id: int, ts: str) -> None:
        with self._write() as conn:
            _upsert_parent(conn, team_id, channel_id, release_id, ts, self._now())

    def get_parent(self, team_id: str, channel_id: str, release_id: int) -> str | None:
        with self._read() as conn:
            return conn.scalar(
                select(parent_messages.c.ts).where(
                    parent_messages.c.team_id == team_id,
                    parent_messages.c.channel_id == channel_id,
                    parent_messages.c.release_id == release_id,
                )
            )

    def threads(self) -> set[tuple[str, str, int]]:
        """(team, channel, release id) of every release that has a parent message."""
        with self._read() as conn:
            rows = conn.execute(
                select(
                    parent_messages.c.team_id,
                    parent_messages.c.channel_id,
                    parent_messages.c.release_id,
                )
            )
            return {(r.team_id, r.channel_id, r.release_id) for r in rows}

    # -- digests --------------------------------------------------------------------------

    def claim_digest(
        self,
        subscription_id: int,
        local_date: date,
        scheduled_at: datetime,
        *,
        outcome: DigestOutcome = "sent",
        delivery: NewDelivery | None = None,
    ) -> bool:
        """Take (subscription, local date) once; False if any process already took it.

        With `delivery`, the digest message is enqueued in the same transaction, so a claimed
        digest is never lost to a crash and never posted twice.
        """
        now = self._now()
        with self._write() as conn:
            claimed = conn.execute(
                self._insert_ignore(digest_runs, "subscription_id", "local_date")
                .values(
                    subscription_id=subscription_id, local_date=local_date,
                    scheduled_at=scheduled_at, outcome=outcome, created_at=now,
                )
                .returning(digest_runs.c.id)
            ).first() is not None
            if claimed and delivery is not None:
                _enqueue(conn, delivery, now)
        return claimed

    def last_digest_dates(self) -> dict[int, date]:
        """Per subscription, the latest local date that was sent or skipped."""
        with self._read() as conn:
            rows = conn.execute(
                select(digest_runs.c.subscription_id, func.max(digest_runs.c.local_date))
                .group_by(digest_runs.c.subscription_id)
            ).all()
        return {int(sub_id): day for sub_id, day in rows}

    # -- single-worker safety -------------------------------------------------------------

    def acquire_lease(self, lease: Lease, ttl: timedelta) -> bool:
        """Take the lease if free, expired, or already ours (then it is extended)."""
        now = self._now()
        with self._write() as conn:
            taken = conn.execute(
                update(worker_leases)
                .where(
                    worker_leases.c.name == lease.name,
                    or_(worker_leases.c.holder == lease.holder, worker_leases.c.expires_at <= now),
                )
                .values(holder=lease.holder, expires_at=now + ttl, acquired_at=now)
            ).rowcount
            if taken:
                return True
            return (
                conn.execute(
                    self._insert_ignore(worker_leases, "name")
                    .values(
                        name=lease.name, holder=lease.holder, expires_at=now + ttl,
                        acquired_at=now,
                    )
                    .returning(worker_leases.c.name)
                ).first()
                is not None
            )

    def renew_lease(self, lease: Lease, ttl: timedelta) -> bool:
        """Extend our lease; False if someone else has taken it over meanwhile."""
        now = self._now()
        with self._write() as conn:
            return bool(
                conn.execute(
                    update(worker_leases)
                    .where(
                        worker_leases.c.name == lease.name,
                        worker_leases.c.holder == lease.holder,
                    )
                    .values(expires_at=now + ttl)
                ).rowcount
            )

    def release_lease(self, lease: Lease) -> bool:
        with self._write() as conn:
            return bool(
                conn.execute(
                    delete(worker_leases).where(
                        worker_leases.c.name == lease.name, worker_leases.c.holder == lease.holder
                    )
                ).rowcount
            )

    def lease_holder(self, name: str) -> str | None:
        """The current, unexpired holder of a lease, if any."""
        with self._read() as conn:
            return conn.scalar(
                select(worker_leases.c.holder).where(
                    worker_leases.c.name == name, worker_leases.c.expires_at > self._now()
                )
            )

    @property
    def supports_advisory_locks(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def advisory_lock(self, name: str) -> Iterator[bool]:
        """PostgreSQL session lock held while the block runs; yields False if another has it.

        Unlike the lease it is released the moment the holder's connection dies, so a restarted
        worker takes over at once instead of waiting for an expiry.
        """
        if not self.supports_advisory_locks:
            raise NotImplementedError("advisory locks need PostgreSQL; use acquire_lease")
        key = advisory_key(name)
        conn = self._engine.connect()
        held = False
        try:
            held = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}))
            conn.commit()  # hold the session lock without holding a transaction open
            yield held
        finally:
            try:
                if held:
                    conn.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    conn.commit()
            except Exception:  # a dead connection released the lock already
                conn.invalidate()
                log.warning("could not release advisory lock %r cleanly", name, exc_info=True)
            finally:
                conn.close()


# --------------------------------------------------------------------------------------------
# Helpers


def _in_channel(team_id: str, channel_id: str, subscription_id: int) -> tuple[Any, ...]:
    return (
        subscriptions.c.id == subscription_id,
        subscriptions.c.team_id == team_id,
        subscriptions.c.channel_id == channel_id,
    )


def _subscription(row: RowMapping) -> Subscription:
    return Subscription(
        id=row["id"], team_id=row["team_id"], channel_id=row["channel_id"], kind=row["kind"],
        filters=row["filters"], schedule=row["schedule"], timezone=row["timezone"],
        mention=row["mention"], created_by=row["created_by"], created_at=row["created_at"],
        paused_reason=row["paused_reason"], paused_at=row["paused_at"],
        baseline_done=bool(row["baseline_done"]),
    )


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row.id, subscription_id=row.subscription_id, team_id=row.team_id,
        channel_id=row.channel_id, release_id=row.release_id, kind=row.kind,
        payload=row.payload, created_at=row.created_at, attempts=row.attempts,
        mention=row.mention,
    )


def _forget_subscriptions(conn: Connection, ids: Sequence[int]) -> None:
    """A deleted subscription leaves nothing to deliver and no digest history.

    A row being posted right now stays, so the worker can still record it; orphaned, it is
    never delivered again and `purge_outbox` removes it.
    """
    if not ids:
        return
    conn.execute(
        delete(outbox).where(
            outbox.c.subscription_id.in_(ids),
            outbox.c.state == "pending",
            outbox.c.sending_at.is_(None),
        )
    )
    conn.execute(delete(digest_runs).where(digest_runs.c.subscription_id.in_(ids)))


def _check_fence(conn: Connection, fence: Lease, now: datetime) -> None:
    holder = conn.execute(
        select(worker_leases.c.holder, worker_leases.c.expires_at)
        .where(worker_leases.c.name == fence.name)
        .with_for_update()
    ).one_or_none()
    if holder is None or holder.holder != fence.holder or holder.expires_at <= now:
        raise LeaseLost(f"lease {fence.name!r} is not held by {fence.holder!r}")


def _replace_snapshot(conn: Connection, snapshot: Mapping[int, Release], now: datetime) -> None:
    """Write only what changed: the snapshot is rewritten every poll, mostly unchanged."""
    rows = conn.execute(select(release_snapshot.c.release_id, release_snapshot.c.data)).all()
    stored: dict[int, Any] = {int(release_id): data for release_id, data in rows}
    gone = [release_id for release_id in stored if release_id not in snapshot]
    if gone:
        conn.execute(delete(release_snapshot).where(release_snapshot.c.release_id.in_(gone)))
    for release_id, release in snapshot.items():
        if release_id != release.id:
            raise ValueError(f"snapshot key {release_id} holds release {release.id}")
        data = release.to_api()
        if release_id not in stored:
            conn.execute(
                insert(release_snapshot).values(release_id=release_id, data=data, updated_at=now)
            )
        elif stored[release_id] != data:
            conn.execute(
                update(release_snapshot)
                .where(release_snapshot.c.release_id == release_id)
                .values(data=data, updated_at=now)
            )


def _enqueue(conn: Connection, delivery: NewDelivery, now: datetime) -> int:
    return int(
        conn.execute(
            insert(outbox)
            .values(
                subscription_id=delivery.subscription_id, team_id=delivery.team_id,
                channel_id=delivery.channel_id, release_id=delivery.release_id,
                kind=delivery.kind, payload=dict(delivery.payload), created_at=now,
                available_at=now, state="pending", attempts=0,
            )
            .returning(outbox.c.id)
        ).scalar_one()
    )


def _upsert_parent(
    conn: Connection, team_id: str, channel_id: str, release_id: int, ts: str, now: datetime
) -> None:
    _upsert(
        conn, parent_messages, ("team_id", "channel_id", "release_id"),
        {"team_id": team_id, "channel_id": channel_id, "release_id": release_id,
         "ts": ts, "updated_at": now},
    )


def _set_state(conn: Connection, key: str, value: str) -> None:
    _upsert(conn, worker_state, ("key",), {"key": key, "value": value})


def _upsert(
    conn: Connection, table: Table, keys: Sequence[str], values: Mapping[str, Any]
) -> None:
    """INSERT, or UPDATE the non-key columns when the key exists: one statement, no race."""
    changes = [name for name in values if name not in keys]
    statement: Any
    if conn.dialect.name == "postgresql":
        pg = postgresql.insert(table).values(**values)
        statement = pg.on_conflict_do_update(
            index_elements=list(keys), set_={name: pg.excluded[name] for name in changes}
        )
    else:
        lite = sqlite.insert(table).values(**values)
        statement = lite.on_conflict_do_update(
            index_elements=list(keys), set_={name: lite.excluded[name] for name in changes}
        )
    conn.execute(statement)
