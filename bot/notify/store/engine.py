"""Engine set-up: which databases, driver options, SQLite's locking and busy timeout."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

DEFAULT_DATABASE_URL = "sqlite:///releases-bot.db"
# A locked or unreachable database is reported within seconds rather than after half a minute:
# a command's answer should say what is wrong while the user still waits for it.
SQLITE_BUSY_TIMEOUT_SECONDS = 3.0
PG_CONNECT_TIMEOUT_SECONDS = 3
PG_STATEMENT_TIMEOUT_SECONDS = 10
PG_LOCK_TIMEOUT_SECONDS = 3
POOL_TIMEOUT_SECONDS = 5.0
WRITE = "releases_bot_write"  # execution option: this transaction writes (SQLite: IMMEDIATE)


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
        pool_timeout=POOL_TIMEOUT_SECONDS,
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
        immediate = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _postgresql_engine(url: URL) -> Engine:
    ours = (
        f"-c statement_timeout={PG_STATEMENT_TIMEOUT_SECONDS * 1000} "
        f"-c lock_timeout={PG_LOCK_TIMEOUT_SECONDS * 1000}"
    )
    # Options in DATABASE_URL come after ours, so an operator's own settings win.
    given = url.query.get("options")
    given = " ".join(given) if isinstance(given, tuple) else given
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        connect_args={
            "connect_timeout": PG_CONNECT_TIMEOUT_SECONDS,
            "options": f"{ours} {given}" if given else ours,
        },
    )


def create_store_engine(database_url: str = DEFAULT_DATABASE_URL) -> Engine:
    url = normalize_database_url(database_url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return _postgresql_engine(url)
