"""The connections and connect links in the store's database, secrets sealed with SecretBox.

Each secret is bound to its owner and field (`context_of("connections", field, owner)`), so a
value copied into another owner's row does not open. Saving a connection consumes its link in
the same transaction: a link serves one successful connect, never two, even when two browsers
post it at once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Engine, Row, and_, delete, func, or_, select, update
from sqlalchemy import Connection as SqlConnection

from bot.clock import Clock
from bot.connect.links import LINK_LIFETIME
from bot.connect.records import Account, Connection, LinkGrant
from bot.notify.store.database import Database, upsert
from bot.notify.store.schema import connect_links, connections, installations
from bot.notify.store.schema import connection_schedules as schedules
from bot.secret_box import SecretBox, context_of
from bot.tenant import Tenant

MAX_ERROR_CHARS = 200
_TABLE = "connections"
DEFAULT_INTERVAL_SECONDS = 60

# The owner's enterprise and team are joined by this in each secret's context: changing it would
# leave every stored secret unopenable (bot/notify/store/sealed_fields.py says the same).
OWNER_SEPARATOR = ":"


def schedule_key(connection_id: int) -> str:
    """A connection's key in the poll schedule (and of its release snapshot)."""
    return str(connection_id)


class LinkUsed(Exception):
    """The link expired or served a connect already (perhaps a moment ago, in another tab)."""


def _context(owner: Tenant, field: str) -> str:
    return context_of(_TABLE, field, owner.key(OWNER_SEPARATOR))


class ConnectionStore:
    """Connections and links over one engine; safe to share between threads."""

    def __init__(
        self, engine: Engine, box: SecretBox, clock: Clock, *,
        interval_seconds: int = DEFAULT_INTERVAL_SECONDS,
    ) -> None:
        self._db = Database(engine, clock)
        self._box = box
        self._interval = interval_seconds

    # ---- links ---------------------------------------------------------------------------

    def add_link(self, nonce_hash: str, tenant: Tenant, user_id: str) -> datetime:
        """Store a new link's hash for (tenant, user); returns when it expires."""
        now = self._db.now()
        expires_at = now + LINK_LIFETIME
        with self._db.write() as conn:
            conn.execute(delete(connect_links).where(connect_links.c.expires_at < now))
            conn.execute(connect_links.insert().values(
                nonce_hash=nonce_hash, enterprise_id=tenant.enterprise_id,
                team_id=tenant.team_id, user_id=user_id, created_at=now, expires_at=expires_at,
            ))
        return expires_at

    def link(self, nonce_hash: str) -> LinkGrant | None:
        """The grant of an unused, unexpired link; None for any other."""
        with self._db.read() as conn:
            row = conn.execute(select(connect_links).where(
                connect_links.c.nonce_hash == nonce_hash,
                connect_links.c.used_at.is_(None),
                connect_links.c.expires_at > self._db.now(),
            )).first()
        if row is None:
            return None
        return LinkGrant(row.nonce_hash, Tenant(row.enterprise_id, row.team_id), row.user_id,
                         row.expires_at)

    # ---- connections ---------------------------------------------------------------------

    def connect(self, grant: LinkGrant, account: Account) -> Connection:
        """Consume the link and store the account for its tenant, replacing one there was."""
        now = self._db.now()
        owner = grant.tenant
        with self._db.write() as conn:
            used = conn.execute(update(connect_links).where(
                connect_links.c.nonce_hash == grant.nonce_hash,
                connect_links.c.used_at.is_(None),
                connect_links.c.expires_at > now,
            ).values(used_at=now))
            if used.rowcount != 1:
                raise LinkUsed()
            upsert(conn, connections, ("owner_enterprise_id", "owner_team_id"), {
                "owner_enterprise_id": owner.enterprise_id,
                "owner_team_id": owner.team_id,
                "base_url": account.base_url,
                "email": account.email,
                "password_sealed": self._box.seal(account.password, _context(owner, "password")),
                "password_key_id": self._box.current_key_id,
                "session_token_sealed": self._box.seal(
                    account.session_token, _context(owner, "session_token")
                ),
                "session_key_id": self._box.current_key_id,
                "session_expires_at": account.session_expires_at,
                "connected_by": grant.user_id,
                "connected_at": now,
                "last_good_poll_at": now,  # the connect page listed releases just now
                "last_error": None,
                "status": "active",
            })
            row = conn.execute(select(connections).where(_owned_by(owner))).one()
            self._schedule_now(conn, row.id)
        return _connection(row)

    def _schedule_now(self, conn: SqlConnection, connection_id: int) -> None:
        """A poll schedule row due at once: a new one, or a reconnected one made active again
        (its lease and generation stay, so a poll still in flight cannot commit twice)."""
        now = self._db.now()
        key = schedule_key(connection_id)
        conn.execute(self._db.insert_ignore(schedules, "connection_id").values(
            connection_id=key, next_poll_at=now, interval_seconds=self._interval,
            lease_generation=0, consecutive_failures=0, status="active", last_change_at=now,
        ))
        conn.execute(update(schedules).where(schedules.c.connection_id == key).values(
            next_poll_at=now, status="active", consecutive_failures=0, last_error=None,
        ))

    def schedule_missing(self) -> int:
        """Schedule rows for connections that have none (made before schedules, or by an older
        version); how many were added. The worker runs this at start."""
        now = self._db.now()
        with self._db.write() as conn:
            ids = conn.scalars(select(connections.c.id)).all()
            added = 0
            for connection_id in ids:
                added += conn.execute(
                    self._db.insert_ignore(schedules, "connection_id").values(
                        connection_id=schedule_key(connection_id), next_poll_at=now,
                        interval_seconds=self._interval, lease_generation=0,
                        consecutive_failures=0, status="active", last_change_at=now,
                    ).returning(schedules.c.connection_id)
                ).first() is not None
        return added

    def get(self, connection_id: int) -> Connection | None:
        with self._db.read() as conn:
            row = conn.execute(select(connections).where(connections.c.id == connection_id)).first()
        return None if row is None else _connection(row)

    def served_teams(self, connection: Connection) -> frozenset[str]:
        """The workspaces this connection serves: its own workspace; for an org's connection,
        every installed workspace of the org that has no connection of its own."""
        owner = connection.owner
        if owner.team_id:
            return frozenset({owner.team_id})
        with self._db.read() as conn:
            own = select(connections.c.owner_team_id).where(
                connections.c.owner_enterprise_id == owner.enterprise_id,
                connections.c.owner_team_id != "",
            )
            teams = conn.scalars(select(installations.c.team_id).where(
                installations.c.enterprise_id == owner.enterprise_id,
                installations.c.team_id != "",
                installations.c.revoked_at.is_(None),
                installations.c.team_id.not_in(own),
            )).all()
        return frozenset(teams)

    def for_workspace(self, tenant: Tenant) -> Connection | None:
        """The workspace's own connection, else its org's; None when neither is connected."""
        with self._db.read() as conn:
            rows = conn.execute(select(connections).where(
                connections.c.owner_enterprise_id == tenant.enterprise_id,
                or_(connections.c.owner_team_id == tenant.team_id,
                    connections.c.owner_team_id == ""),
            )).all()
        ordered = sorted(rows, key=lambda r: r.owner_team_id != tenant.team_id)
        return _connection(ordered[0]) if ordered else None

    def password(self, connection: Connection) -> str:
        with self._db.read() as conn:
            sealed = conn.scalar(
                select(connections.c.password_sealed).where(connections.c.id == connection.id)
            )
        if sealed is None:
            raise LookupError(f"connection {connection.id} is gone")
        return self._box.open(sealed, _context(connection.owner, "password"))

    def session_token(self, connection: Connection) -> str | None:
        """The stored session token, opened; None when there is none."""
        with self._db.read() as conn:
            sealed = conn.scalar(
                select(connections.c.session_token_sealed)
                .where(connections.c.id == connection.id)
            )
        if not sealed:
            return None
        return self._box.open(sealed, _context(connection.owner, "session_token"))

    def save_session(self, connection: Connection, token: str, expires_at: datetime) -> None:
        with self._db.write() as conn:
            conn.execute(update(connections).where(connections.c.id == connection.id).values(
                session_token_sealed=self._box.seal(
                    token, _context(connection.owner, "session_token")
                ),
                session_key_id=self._box.current_key_id,
                session_expires_at=expires_at,
            ))

    def record_good(self, connection: Connection) -> None:
        with self._db.write() as conn:
            conn.execute(update(connections).where(connections.c.id == connection.id).values(
                last_good_poll_at=self._db.now(), last_error=None, status="active",
            ))

    def record_poll_error(self, connection_id: int, error: str) -> None:
        """A failed poll's short fixed text; the status changes only once it keeps failing."""
        with self._db.write() as conn:
            conn.execute(update(connections).where(connections.c.id == connection_id).values(
                last_error=error[:MAX_ERROR_CHARS],
            ))

    def mark_failing(self, connection_id: int) -> bool:
        """The connection keeps failing: App Home shows it so; False when it is gone."""
        with self._db.write() as conn:
            changed = conn.execute(
                update(connections).where(connections.c.id == connection_id)
                .values(status="failing")
            )
        return bool(changed.rowcount)

    def record_error(self, connection: Connection, error: str) -> None:
        """A short fixed text of what failed (never an upstream body)."""
        with self._db.write() as conn:
            conn.execute(update(connections).where(connections.c.id == connection.id).values(
                last_error=error[:MAX_ERROR_CHARS], status="failing",
            ))

    def disconnect(self, owner: Tenant) -> bool:
        """Forget the owner's connection and its secrets at once; False when there was none."""
        with self._db.write() as conn:
            ids = conn.execute(
                delete(connections).where(_owned_by(owner)).returning(connections.c.id)
            ).scalars().all()
            if ids:  # no more polls: a poll in flight finds its schedule gone and writes nothing
                conn.execute(delete(schedules).where(
                    schedules.c.connection_id.in_([schedule_key(i) for i in ids])
                ))
        return bool(ids)

    def sessions_expiring(self, before: datetime, limit: int = 500) -> list[Connection]:
        """Active connections whose session token expires before `before` (or has none)."""
        with self._db.read() as conn:
            rows = conn.execute(
                select(connections)
                .where(connections.c.status != "disabled", or_(
                    connections.c.session_expires_at.is_(None),
                    connections.c.session_expires_at < before,
                ))
                .order_by(func.coalesce(connections.c.session_expires_at, before))
                .limit(limit)
            ).all()
        return [_connection(row) for row in rows]


def record_good_poll(conn: SqlConnection, connection_id: int, at: datetime) -> None:
    """A good poll, in the caller's (fenced) transaction: App Home shows when."""
    conn.execute(update(connections).where(connections.c.id == connection_id).values(
        last_good_poll_at=at, last_error=None, status="active",
    ))


def _owned_by(owner: Tenant) -> ColumnElement[bool]:
    return and_(
        connections.c.owner_enterprise_id == owner.enterprise_id,
        connections.c.owner_team_id == owner.team_id,
    )


def _connection(row: Row[tuple[object, ...]]) -> Connection:
    return Connection(
        id=row.id,
        owner=Tenant(row.owner_enterprise_id, row.owner_team_id),
        base_url=row.base_url,
        email=row.email,
        connected_by=row.connected_by,
        connected_at=row.connected_at,
        status=row.status,
        session_expires_at=row.session_expires_at,
        last_good_poll_at=row.last_good_poll_at,
        last_error=row.last_error,
    )
