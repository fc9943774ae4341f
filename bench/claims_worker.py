"""One claiming worker process for `bench.claims_scale`: the real loop, default settings, a
poll that sleeps as a MetaKraftwerk call would and writes one row in the fenced commit.

Run: `python -m bench.claims_worker DATABASE_URL OWNER POLL_SECONDS OUT_JSON`; SIGTERM stops
it, and it then writes its SQL statement count to OUT_JSON (OUT.ready says it has started).
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from bot.clock import SystemClock
from bot.notify.scale.claims import ScheduleClaims
from bot.notify.scale.records import Claim, Polled
from bot.notify.scale.worker import ClaimingWorker
from bot.notify.store.database import Database
from bot.notify.store.engine import create_store_engine

POLLS_DDL = (
    "CREATE TABLE IF NOT EXISTS bench_polls (connection_id text NOT NULL, worker text NOT NULL,"
    " generation bigint NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())"
)


def main(url: str, owner: str, poll_seconds: float, out: Path) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    engine = create_store_engine(url)
    statements = [0]
    lock = threading.Lock()

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_args: Any) -> None:
        with lock:
            statements[0] += 1

    claims = ScheduleClaims(Database(engine, SystemClock()))

    def poll(claim: Claim) -> Polled:
        time.sleep(poll_seconds)

        def write(conn: Any) -> None:
            conn.execute(text(
                "INSERT INTO bench_polls (connection_id, worker, generation) VALUES (:c, :w, :g)"
            ), {"c": claim.connection_id, "w": owner, "g": claim.generation})

        return Polled(changed=False, write=write)

    out.with_suffix(".ready").touch()
    ClaimingWorker(claims, poll, owner=owner).run(stop)
    out.write_text(json.dumps({"statements": statements[0]}))
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]), Path(sys.argv[4]))
