"""Jobs that must run in one process at a time (purges, key rotation, session renewal).

The claims need no leader, but these do: each holds a PostgreSQL session-level advisory lock
on a connection of its own while it runs, so a second worker skips the job instead of running
it twice, and a killed holder's lock goes with its connection. No transaction stays open
across the job. Session locks do not survive PgBouncer's transaction pooling: behind one, move
these jobs to a lease row fenced like the claims.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.notify.scale.records import ClaimsNeedPostgreSQL
from bot.notify.store.database import Database
from bot.notify.store.leases import SessionLock

log = logging.getLogger(__name__)


class SingletonJobs:
    """Run a named job here unless another process is running it right now."""

    def __init__(self, db: Database) -> None:
        if db.dialect != "postgresql":
            raise ClaimsNeedPostgreSQL(
                "singleton jobs of the distributed worker need PostgreSQL advisory locks"
            )
        self._db = db

    def run(self, name: str, job: Callable[[], None]) -> bool:
        """True if the job ran here; False, without running it, if another holds it."""
        lock = SessionLock(self._db, f"singleton:{name}")
        if not lock.try_take():
            log.info("job %s runs elsewhere; skipped here", name)
            return False
        try:
            job()
        finally:
            lock.release()
        return True
