"""Soak: signed `/releases` commands at a steady rate against the Procfile's web process for
N minutes, with the demo API flapping (200 / 503 / slow) and the worker running (a
subscription and release changes), then what went wrong.

    python -m bench.soak [--minutes 10] [--rate 10] [--out bench/results/soak-DATE.md]

Prints and writes: acks over 3 s, unanswered commands, refused or failed requests, web and
worker RSS (process tree) at start and end, tracebacks in either log, worker posts. Slack is
tests/fakes' stand-in (Web API and response URLs), MetaKraftwerk the demo API.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import report
from bench.load import EVENTS_PATH, SIGNING_SECRET, command_body, signed_headers
from bench.procs import ServerProcess, _tree, start_server
from bench.web import _free_port, _procfile_command
from bot.demo.api_server import DEMO_TOKEN, DemoApiServer
from bot.notify.store import Store
from tests.fakes.slack_api import FakeSlack

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
ACK_DEADLINE = 3.0  # Slack shows a timeout after this
ANSWER_GRACE = 20.0  # seconds after the last command for the last answers
TEXTS = ("open", "closed", "all", "standup", "help", "group:DWH_GROUP open", "21", "R59")
PHASES = (("200", 0.0), ("503", 0.0), ("slow", 2.5))  # API behaviour, added latency
PHASE_SECONDS = 7.0
CHANGE_EVERY = 5.0  # seconds between release changes the worker must post


@dataclass
class Tally:
    sent: int = 0
    acks: list[float] = field(default_factory=list)
    slow_acks: int = 0
    refused: int = 0  # an HTTP answer other than 200
    failed: int = 0  # no HTTP answer
    keys: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=30.0,
                        help="seconds of traffic before the start figures are taken")
    parser.add_argument("--rate", type=float, default=10.0, help="commands per second")
    parser.add_argument("--out", type=Path, default=None)
    options = parser.parse_args(argv)
    started = dt.datetime.now(dt.UTC)
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp, \
            DemoApiServer() as demo, FakeSlack() as slack:
        figures = _soak(
            Path(tmp), demo, slack, options.minutes * 60, options.warmup, options.rate
        )
    text = _render(started, options, figures)
    print(text)
    out = options.out or ROOT / "bench" / "results" / f"soak-{started:%Y-%m-%d}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    print(f"written to {out}")
    bad = figures["acks over 3 s"] or figures["unanswered commands"] or figures["tracebacks"]
    return 1 if bad else 0


def _soak(workdir: Path, demo: DemoApiServer, slack: FakeSlack, seconds: float, warmup: float,
          rate: float) -> dict[str, float]:
    database_url = f"sqlite:///{workdir / 'soak.db'}"
    with Store.from_url(database_url) as store:
        store.subscriptions.add_change(team_id="T0001", channel_id="C0CHAN", filters="all",
                                       created_by="U0USER")
    env = _env(demo, slack, database_url)
    web_port, metrics_port = _free_port(), _free_port()
    web = start_server("web", ["/bin/sh", "-c", f"exec {_procfile_command('web')}"],
                       {**env, "PORT": str(web_port)}, port=web_port, ready_path="/healthz",
                       ready_status=200, workdir=workdir)
    worker: ServerProcess | None = None
    try:
        worker = start_server(
            "worker", ["/bin/sh", "-c", f"exec {_procfile_command('worker')}"],
            {**env, "METRICS_PORT": str(metrics_port)}, port=metrics_port,
            ready_path="/healthz", ready_status=200, workdir=workdir)
        rss_boot = (_rss_mb(web), _rss_mb(worker))
        stop = threading.Event()
        flapper = threading.Thread(target=_flap, args=(demo, stop), daemon=True)
        flapper.start()
        # Caches, thread pools and the allocator settle in the first seconds of traffic; "start"
        # is measured after that, so growth means what keeps growing, not what fills up once.
        _send(web.url, slack, warmup, rate)
        rss_start = (_rss_mb(web), _rss_mb(worker))
        samples: list[float] = []  # the web process's RSS every minute: a plateau or a climb
        sampler = threading.Thread(
            target=_sample_rss, args=(web, samples, stop), daemon=True
        )
        sampler.start()
        tally = _send(web.url, slack, seconds, rate)
        stop.set()
        flapper.join()
        sampler.join()
        answered = _wait_answers(slack, tally.keys, ANSWER_GRACE)
        rss_end = (_rss_mb(web), _rss_mb(worker))
    finally:
        web.stop()
        if worker is not None:
            worker.stop()
    logs = web.log(tail=100_000_000) + (worker.log(tail=100_000_000) if worker else "")
    acks = sorted(tally.acks)
    return {
        "seconds": seconds, "commands sent": tally.sent,
        "ack p50 (ms)": 1000 * _pct(acks, 0.5), "ack p99 (ms)": 1000 * _pct(acks, 0.99),
        "ack max (ms)": 1000 * (acks[-1] if acks else 0.0),
        "acks over 3 s": tally.slow_acks, "refused (HTTP != 200)": tally.refused,
        "no HTTP answer": tally.failed,
        "unanswered commands": len(tally.keys) - answered,
        "warm-up (s)": warmup,
        "web RSS at boot (MB)": rss_boot[0], "worker RSS at boot (MB)": rss_boot[1],
        "web RSS start (MB)": rss_start[0], "web RSS end (MB)": rss_end[0],
        "worker RSS start (MB)": rss_start[1], "worker RSS end (MB)": rss_end[1],
        "web RSS at half time (MB)": samples[(len(samples) - 1) // 2] if samples else 0.0,
        "worker posts": len(slack.calls_to("chat.postMessage")),
        "tracebacks": logs.count("Traceback"),
    }


def _env(demo: DemoApiServer, slack: FakeSlack, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "METAKRAFTWERK_"))}
    for name in ("DATABASE_URL", "CACHE_URL", "PORT", "METRICS_PORT", "WEB_CONCURRENCY"):
        env.pop(name, None)
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}", PYTHONUNBUFFERED="1",
        SLACK_BOT_TOKEN="xoxb-soak", SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.url, METAKRAFTWERK_URL=demo.url, METAKRAFTWERK_TOKEN=DEMO_TOKEN,
        DATABASE_URL=database_url, CACHE_TTL_SECONDS="3", POLL_INTERVAL_SECONDS="2",
        API_DEADLINE_SECONDS="8",
    )
    return env


def _flap(demo: DemoApiServer, stop: threading.Event) -> None:
    """Cycle the API through answering, failing and slow; change a release now and then."""
    phase, changed = 0, time.monotonic()
    target = next(r for r in demo.data.releases() if not r.closed and not r.deleted)
    while not stop.is_set():
        name, latency = PHASES[phase % len(PHASES)]
        demo.switches.reset()
        demo.switches.latency = latency
        if name == "503":
            demo.switches.fail_next(1_000_000, 503)
        deadline = time.monotonic() + PHASE_SECONDS
        while not stop.is_set() and time.monotonic() < deadline:
            if time.monotonic() - changed >= CHANGE_EVERY:
                changed = time.monotonic()
                current = next(r for r in demo.data.releases() if r.id == target.id)
                (demo.data.open if current.closed else demo.data.close)(target.id)
            stop.wait(0.2)
        phase += 1
    demo.switches.reset()
    demo.switches.latency = 0.0


def _sample_rss(server: ServerProcess, samples: list[float], stop: threading.Event) -> None:
    while not stop.wait(60.0):
        samples.append(_rss_mb(server))
        print(f"web RSS after {len(samples)} min: {samples[-1]:.1f} MB", flush=True)


def _send(url: str, slack: FakeSlack, seconds: float, rate: float) -> Tally:
    tally = Tally()
    http = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=64))

    def one(text: str) -> None:
        key = uuid.uuid4().hex[:16]
        body = command_body(text, slack.response_url(key))
        sent = time.perf_counter()
        try:
            response = http.post(f"{url}{EVENTS_PATH}", content=body,
                                 headers=signed_headers(body))
        except httpx.HTTPError:
            with tally.lock:
                tally.failed += 1
            return
        ack = time.perf_counter() - sent
        with tally.lock:
            tally.acks.append(ack)
            tally.slow_acks += ack > ACK_DEADLINE
            if response.status_code == 200:
                tally.keys.append(key)
            else:
                tally.refused += 1

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=64, thread_name_prefix="soak") as pool:
        i = 0
        while time.monotonic() - start < seconds:
            pool.submit(one, TEXTS[i % len(TEXTS)])
            i += 1
            tally.sent = i
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    http.close()
    return tally


def _wait_answers(slack: FakeSlack, keys: list[str], timeout: float) -> int:
    wanted = set(keys)

    def answered(fake: FakeSlack) -> int:
        return len(wanted & {r.key for r in fake.responses})

    slack.wait_for(lambda fake: answered(fake) >= len(wanted), timeout)
    return answered(slack)


def _rss_mb(server: ServerProcess) -> float:
    total_kb = 0
    for pid in _tree(server.proc.pid):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return round(total_kb / 1024, 1)


def _pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0


def _render(started: dt.datetime, options: argparse.Namespace,
            figures: dict[str, float]) -> str:
    growth = {
        who: 100 * (figures[f"{who} RSS end (MB)"] / figures[f"{who} RSS start (MB)"] - 1)
        for who in ("web", "worker") if figures[f"{who} RSS start (MB)"]
    }
    lines = [
        f"## Soak, {started:%Y-%m-%d %H:%M UTC}", "",
        report.machine(), "",
        f"{options.minutes:g} min of signed `/releases` commands at {options.rate:g}/s against "
        "the Procfile's web process; the demo API cycles 200 / 503 / +2.5 s every "
        f"{PHASE_SECONDS:g} s; the worker polls every 2 s with one subscription while a "
        f"release closes or reopens every {CHANGE_EVERY:g} s.", "",
        "| figure | value |", "|---|---|",
    ]
    for name, value in figures.items():
        shown = f"{value:.1f}" if isinstance(value, float) and not value.is_integer() else (
            f"{value:g}")
        lines.append(f"| {name} | {shown} |")
    for who, pct in growth.items():
        lines.append(f"| {who} RSS growth (%) | {pct:.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
