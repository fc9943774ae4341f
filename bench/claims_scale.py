"""The distributed worker's throughput with 1, 2 and 4 claiming worker processes, side by side.

Run: `.venv/bin/python -m bench.claims_scale --database-url postgresql+psycopg://.../db`
(a database of its own: its schedule rows are replaced). Registers `--connections` schedule
rows due every second, so every worker always finds work, and starts N processes of
`bench.claims_worker` (default settings: pool 16, lease 15 s) whose poll sleeps
`--poll-ms` (a MetaKraftwerk call) and writes one row in the fenced commit. After a warm-up,
it counts the commits in `--seconds`, the SQL statements the workers sent and their CPU, then
stops them with SIGTERM. Writes a Markdown table (`--out`).

With `--real-poll` the workers are `releases-bot worker` processes in distributed mode, each
poll the real one (`bot.connect.poll`): `--connections` MetaKraftwerk customers on the stand-in
(`bot.demo`, every answer delayed by `--poll-ms`), each connected with its sealed account and
session and subscribed by its own workspace, polled every second. Polls are counted as claims
(the schedule rows' generations); statements are not counted there.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.claims_worker import POLLS_DDL
from bench.procs import CLOCK_TICKS, _cpu_ticks
from bot.clock import SystemClock
from bot.connect.links import LinkSigner
from bot.connect.records import Account
from bot.connect.store import ConnectionStore
from bot.demo.api_server import DemoApiServer
from bot.notify.scale.claims import ScheduleClaims
from bot.notify.store import Store
from bot.notify.store.database import Database
from bot.secret_box import SecretBox
from bot.secret_box import new_key as new_fernet_key
from bot.tenant import Tenant

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, slots=True)
class Run:
    workers: int
    polls: int
    seconds: float
    statements: int
    cpu_seconds: float
    double_polls: int  # commits of one (connection, generation) twice: must be 0

    @property
    def polls_per_second(self) -> float:
        return self.polls / self.seconds


def _reset(url: str, connections: int) -> None:
    with Store.from_url(url) as store:
        with store.engine.begin() as conn:
            conn.execute(text(POLLS_DDL))
            conn.execute(text("TRUNCATE bench_polls, connection_schedules"))
        claims = ScheduleClaims(Database(store.engine, SystemClock()))
        for n in range(connections):
            claims.register(f"conn-{n:05d}", 1)


def _count(url: str, sql: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        value = int(conn.scalar(text(sql)) or 0)
    engine.dispose()
    return value


def run(url: str, workers: int, connections: int, poll_ms: int, warmup: float,
        seconds: float, workdir: Path) -> Run:
    _reset(url, connections)
    procs, outs = [], []
    for n in range(workers):
        out = workdir / f"w{workers}-{n}.json"
        outs.append(out)
        log = (workdir / f"w{workers}-{n}.log").open("wb")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "bench.claims_worker", url, f"w{n}", str(poll_ms / 1000),
             str(out)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        ))
    deadline = time.monotonic() + 60
    while not all(o.with_suffix(".ready").exists() for o in outs):
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            raise RuntimeError("a worker did not start")
        time.sleep(0.05)
    time.sleep(warmup)
    before = _count(url, "SELECT count(*) FROM bench_polls")
    cpu_before = sum(_cpu_ticks(p.pid) for p in procs)
    started = time.monotonic()
    time.sleep(seconds)
    polls = _count(url, "SELECT count(*) FROM bench_polls") - before
    elapsed = time.monotonic() - started
    cpu = (sum(_cpu_ticks(p.pid) for p in procs) - cpu_before) / CLOCK_TICKS
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(timeout=60)
    total = _count(url, "SELECT count(*) FROM bench_polls")
    missing = [o for o in outs if not o.exists()]
    if missing:
        logs = "\n".join(o.with_suffix(".log").read_text(errors="replace")[-2000:]
                         for o in missing)
        raise RuntimeError(f"{len(missing)} workers did not report\n{logs}")
    statements = sum(json.loads(o.read_text())["statements"] for o in outs)
    doubles = _count(url, "SELECT count(*) FROM (SELECT 1 FROM bench_polls GROUP BY"
                     " connection_id, generation HAVING count(*) > 1) AS d")
    # Statements over the whole life of the processes, per poll over the same span.
    return Run(workers, polls, elapsed, round(statements / max(total, 1) * polls), cpu, doubles)


def _real_setup(url: str, connections: int, poll_ms: int) -> tuple[DemoApiServer, str]:
    """The stand-in with one customer per connection, and the connections stored sealed."""
    api = DemoApiServer().start()
    api.switches.latency = poll_ms / 1000
    key = new_fernet_key()
    with Store.from_url(url) as store:
        with store.engine.begin() as conn:
            conn.execute(text(
                "TRUNCATE connections, connect_links, connection_schedules, release_snapshot,"
                " outbox, outbox_payloads, subscriptions, worker_state RESTART IDENTITY"
            ))
        store_of = ConnectionStore(store.engine, SecretBox([key]), SystemClock(),
                                   interval_seconds=1)
        for n in range(connections):
            customer = api.add_customer(f"c{n}@example.com", f"pw-{n}")
            subject = next(k for k, c in api.customers.items() if c is customer)
            _token, nonce_hash = LinkSigner("bench").new_link()
            team = f"T{n:05d}"
            store_of.add_link(nonce_hash, Tenant("", team), "U1")
            grant = store_of.link(nonce_hash)
            assert grant is not None
            store_of.connect(grant, Account(
                api.url, customer.email, customer.password, api.issue_token(int(subject)),
                datetime.now(UTC) + timedelta(hours=20),
            ))
            store.subscriptions.add_change(
                team_id=team, channel_id=f"C{n:05d}", filters="all", created_by="U1"
            )
    return api, key


def run_real(url: str, key: str, workers: int, warmup: float, seconds: float,
             workdir: Path) -> Run:
    claims_sql = "SELECT coalesce(sum(lease_generation), 0) FROM connection_schedules"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE connection_schedules SET next_poll_at = now(),"
                          " lease_owner = NULL, lease_expires_at = NULL"))
    engine.dispose()
    env = {
        **os.environ, "RELEASES_BOT_MODE": "distributed", "SLACK_CLIENT_ID": "111.222",
        "SLACK_CLIENT_SECRET": "bench", "SLACK_SIGNING_SECRET": "bench",
        "PUBLIC_URL": "https://bot.example", "SECRET_KEYS": key, "DATABASE_URL": url,
        "POLL_INTERVAL_SECONDS": "1", "LOG_LEVEL": "WARNING",
    }
    for name in ("SLACK_BOT_TOKEN", "METAKRAFTWERK_TOKEN", "METAKRAFTWERK_EMAIL",
                 "METAKRAFTWERK_PASSWORD", "METAKRAFTWERK_URL"):
        env.pop(name, None)
    procs = []
    for n in range(workers):
        log = (workdir / f"real-w{workers}-{n}.log").open("wb")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "bot", "worker"], cwd=workdir, env=env, stdout=log,
            stderr=subprocess.STDOUT,
        ))
    time.sleep(warmup)
    before = _count(url, claims_sql)
    cpu_before = sum(_cpu_ticks(p.pid) for p in procs)
    started = time.monotonic()
    time.sleep(seconds)
    polls = _count(url, claims_sql) - before
    elapsed = time.monotonic() - started
    cpu = (sum(_cpu_ticks(p.pid) for p in procs) - cpu_before) / CLOCK_TICKS
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        if p.wait(timeout=60) != 0:
            raise RuntimeError(f"a worker exited with {p.returncode}; see {workdir}")
    return Run(workers, polls, elapsed, 0, cpu, 0)


def table(runs: list[Run], args: argparse.Namespace) -> str:
    base = runs[0].polls_per_second
    lines = [
        f"# Claiming workers side by side ({datetime.now(UTC):%Y-%m-%d})",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, PostgreSQL on the same machine. "
        f"{args.connections} connections due every second, a poll of {args.poll_ms} ms"
        f"{' (the real poll against the stand-in)' if args.real_poll else ''}, "
        f"default worker settings (pool 16, lease 15 s), {args.seconds:.0f} s measured "
        f"after {args.warmup:.0f} s of warm-up.",
        "",
        "| workers | polls/s | scaling | statements/poll | CPU ms/poll | double commits |",
        "|---|---|---|---|---|---|",
    ]
    for r in runs:
        statements = "n/a" if args.real_poll else f"{r.statements / max(r.polls, 1):.2f}"
        doubles = "n/a" if args.real_poll else str(r.double_polls)
        lines.append(
            f"| {r.workers} | {r.polls_per_second:.1f} | {r.polls_per_second / base:.2f}x | "
            f"{statements} | {r.cpu_seconds * 1000 / max(r.polls, 1):.2f} | {doubles} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--poll-ms", type=int, default=200)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--real-poll", action="store_true",
                        help="`releases-bot worker` processes with the real poll")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        if args.real_poll:
            api, key = _real_setup(args.database_url, args.connections, args.poll_ms)
            try:
                runs = [run_real(args.database_url, key, int(n), args.warmup, args.seconds,
                                 Path(workdir)) for n in args.workers.split(",")]
            finally:
                api.close()
        else:
            runs = [run(args.database_url, int(n), args.connections, args.poll_ms,
                        args.warmup, args.seconds, Path(workdir))
                    for n in args.workers.split(",")]
    text_out = table(runs, args)
    print(text_out)
    if args.out:
        args.out.write_text(text_out)


if __name__ == "__main__":
    main()
