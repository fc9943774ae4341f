"""Schema migrations by Alembic, run at start and serialised across processes starting together.

The steps are Alembic revisions in `bot/notify/store/alembic/versions/`, shipped inside the
package, so an installed bot migrates itself without an alembic.ini. Revisions are numbered:
the baseline, "0005", stands for the five steps taken before Alembic (their number lives on in
the `schema_version` table of databases made then), and each later step counts on from there.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from functools import cache

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    func,
    inspect,
    select,
    text,
)

log = logging.getLogger(__name__)

SCRIPT_LOCATION = "bot.notify.store:alembic"


def alembic_config(conn: Connection | None = None, now: datetime | None = None) -> Config:
    """Alembic's configuration in code: the script directory inside this package."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    # New steps from command.revision(..., rev_id="0007") are named r0007_<slug>.py, a module
    # name mypy and the linters accept.
    config.set_main_option("file_template", "r%%(rev)s_%%(slug)s")
    config.attributes["connection"] = conn
    config.attributes["now"] = now
    return config


@cache
def head_version() -> int:
    """The newest step this release knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("the store's Alembic script directory has no revisions")
    return int(head)


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock, the same in every process."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def migrate(conn: Connection, now: datetime) -> int:
    """Create or upgrade the schema in `conn`'s write transaction; each step runs once.

    SQLite's write transaction (BEGIN IMMEDIATE) already excludes every other writer; on
    PostgreSQL a transaction-scoped advisory lock makes a second process wait for the first to
    commit, so it then finds nothing left to do.
    """
    if conn.dialect.name == "postgresql":
        # Guards even the first CREATE TABLE: concurrent DDL would otherwise race.
        conn.execute(
            text("SELECT pg_advisory_xact_lock(:key)"),
            {"key": advisory_key("releases-bot:migrate")},
        )
    before = current_version(conn)
    if before < head_version():
        log.info("database schema: upgrading from step %d to %d", before, head_version())
        command.upgrade(alembic_config(conn, now), "head")
    return current_version(conn)


def current_version(conn: Connection) -> int:
    """The database's step: Alembic's revision, else the pre-Alembic table's, else 0.

    Read with plain SELECTs rather than Alembic's MigrationContext, which logs its set-up each
    time: `releases-bot check` and the health of a running process ask often.
    """
    tables = inspect(conn)
    if tables.has_table(_alembic_version.name):
        revision = conn.scalar(select(_alembic_version.c.version_num))
        if revision is not None:
            if not revision.isdigit():
                raise RuntimeError(f"the database is at an unknown schema revision {revision!r}")
            return int(revision)
    if not tables.has_table(_legacy_version.name):
        return 0
    return int(conn.scalar(select(func.max(_legacy_version.c.version))) or 0)


_alembic_version = Table(
    "alembic_version", MetaData(), Column("version_num", String(32), primary_key=True)
)
_legacy_version = Table(  # the steps before Alembic recorded their number here
    "schema_version", MetaData(), Column("version", Integer, primary_key=True)
)
