"""A claiming worker process for the end-to-end tests: the real loop with default settings and
a fake poll that records each poll's start and end, and commits a row in the fenced write.

Run: `python -m tests.e2e.claiming_worker DATABASE_URL OWNER POLL_SECONDS`. SIGTERM stops it
cleanly; SIGKILL is what the tests use to show a crash.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from bot.clock import SystemClock
from bot.notify.scale.claims import ScheduleClaims
from bot.notify.scale.records import Claim, Polled
from bot.notify.scale.worker import ClaimingWorker
from bot.notify.store.database import Database
from bot.notify.store.engine import create_store_engine

TABLES = (
    "CREATE TABLE poll_log (id bigserial PRIMARY KEY, connection_id text NOT NULL,"
    " worker text NOT NULL, generation bigint NOT NULL, started timestamptz NOT NULL,"
    " ended timestamptz)",
    "CREATE TABLE poll_commits (connection_id text NOT NULL, worker text NOT NULL,"
    " generation bigint NOT NULL, started timestamptz NOT NULL,"
    " PRIMARY KEY (connection_id, generation))",
)


def main(url: str, owner: str, poll_seconds: float) -> None:
    logging.basicConfig(level=logging.INFO, format=f"{owner} %(levelname)s %(message)s")
    engine = create_store_engine(url)
    claims = ScheduleClaims(Database(engine, SystemClock()))

    def poll(claim: Claim) -> Polled:
        started = datetime.now(UTC)
        with engine.begin() as conn:
            row_id = conn.scalar(text(
                "INSERT INTO poll_log (connection_id, worker, generation, started)"
                " VALUES (:c, :w, :g, :s) RETURNING id"
            ), {"c": claim.connection_id, "w": owner, "g": claim.generation, "s": started})
        time.sleep(poll_seconds)  # the HTTP call, outside any transaction
        with engine.begin() as conn:
            conn.execute(text("UPDATE poll_log SET ended = :e WHERE id = :i"),
                         {"e": datetime.now(UTC), "i": row_id})

        def write(conn: Any) -> None:
            conn.execute(text(
                "INSERT INTO poll_commits (connection_id, worker, generation, started)"
                " VALUES (:c, :w, :g, :s)"
            ), {"c": claim.connection_id, "w": owner, "g": claim.generation, "s": started})

        return Polled(changed=False, write=write)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    ClaimingWorker(claims, poll, owner=owner).run(stop)
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
