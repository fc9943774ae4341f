"""Side-by-side web benchmark: the Procfile's web process against a bare Bolt app.

Run: `.venv/bin/python -m bench.web [--commands 300] [--concurrency 20] [--schemes http,https]
[--rounds 1]`

Both run under the server function of bot/server.py and post their answers to one receiver on
loopback, over plain HTTP and over HTTPS (a throwaway CA trusted through SSL_CERT_FILE). For each
it measures ack and answer latency, server CPU per command and upstream API calls of a warm
burst; then two web processes on one Redis (CACHE_URL): a cold burst of identical commands and a
burst during which Redis goes away. Prints a Markdown table and writes it to bench/results/.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import bot.server
from bench import report
from bench.load import SIGNING_SECRET, burst, collect
from bench.procs import ServerError, ServerProcess, start_server
from bench.receiver import Receiver
from bench.redis_proxy import TcpProxy, flush_db, redis_reachable
from bench.tls import make_local_ca
from bot.config import Settings
from bot.demo.api_server import DEMO_TOKEN, DemoApiServer

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
ANSWER_TIMEOUT = 60.0
WARMUP_TIMEOUT = 20.0
WARMUP_COMMANDS = 20
# What the bot reads, and what would change how either server trusts TLS: never inherited.
CLEARED = (
    "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL",
    "METAKRAFTWERK_URL", "METAKRAFTWERK_TOKEN", "METAKRAFTWERK_EMAIL", "METAKRAFTWERK_PASSWORD",
    "CACHE_TTL_SECONDS", "CACHE_MAX_ENTRIES", "CACHE_URL", "API_DEADLINE_SECONDS",
    "DATABASE_URL", "POLL_INTERVAL_SECONDS", "PORT", "DEFAULT_TIMEZONE", "DIGEST_GRACE_MINUTES",
    "SUBSCRIPTION_MANAGERS", "LISTENER_THREADS", "LOG_LEVEL", "WEB_CONCURRENCY",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "PYTHONPATH",
)
# Different answers (some cached, some not) for the run in which Redis goes away.
OUTAGE_TEXTS = (
    "group:DWH_GROUP open", "open", "closed", "all", "group:LAKE_GROUP all",
    "group:DWH_GROUP all", "group:FINANCE_MART all", "standup",
)


@dataclasses.dataclass(frozen=True, slots=True)
class Options:
    commands: int
    concurrency: int
    rounds: int
    schemes: tuple[str, ...]
    text: str
    shared: str  # "auto", "on" or "off"
    cold_commands: int
    outage_commands: int
    redis: tuple[str, int]
    redis_db: int
    out: Path | None


@dataclasses.dataclass(frozen=True, slots=True)
class Stage:
    """What every server of one run shares: the fake upstreams, the CA, a scratch folder."""

    demo: DemoApiServer
    receiver: Receiver
    ca_file: Path
    workdir: Path


def main(argv: Sequence[str] | None = None) -> int:
    options = _parse(argv)
    try:
        return _run(options)
    except ServerError as exc:
        print(f"bench.web: {exc}", file=sys.stderr)
        return 2


def _run(options: Options) -> int:
    started = dt.datetime.now(dt.UTC)
    machine_line = report.machine()
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        workdir = Path(tmp)
        ca = make_local_ca(workdir)
        tls = ca.server_context if "https" in options.schemes else None
        with DemoApiServer() as demo, Receiver(tls) as receiver:
            stage = Stage(demo, receiver, ca.ca_file, workdir)
            runs: dict[str, tuple[report.RunFigures, report.RunFigures]] = {}
            for scheme in options.schemes:
                rounds = [
                    (
                        _measure(stage, options, scheme, notes, bot=True),
                        _measure(stage, options, scheme, notes, bot=False),
                    )
                    for _ in range(options.rounds)
                ]
                runs[scheme] = _median_round(rounds, scheme, notes)
            shared = _measure_shared(stage, options, notes)
    text = report.render(
        date=started.strftime("%Y-%m-%d %H:%M UTC"),
        machine_line=machine_line,
        server_line=(bot.server.__doc__ or "bot/server.py").strip().splitlines()[0],
        settings_line=(
            f"{options.commands} signed `/releases {options.text}` commands, "
            f"{options.concurrency} at a time, warm cache, after {WARMUP_COMMANDS} warm-up "
            f"commands; CPU = utime+stime of the server's process tree during the burst"
        ),
        runs=runs,
        shared=shared,
        notes=notes,
    )
    print(text)
    out = options.out or ROOT / "bench" / "results" / f"web-{started:%Y-%m-%d}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    print(f"written to {out}")
    failed = any(f.failed for pair in runs.values() for f in pair)
    return 1 if failed else 0


def _median_round(
    rounds: list[tuple[report.RunFigures, report.RunFigures]], scheme: str, notes: list[str]
) -> tuple[report.RunFigures, report.RunFigures]:
    """The round whose CPU ratio is the median, for the table; every round's ratios as a note:
    one burst's CPU is a few hundred milliseconds, counted in 10 ms ticks."""
    if len(rounds) == 1:
        return rounds[0]

    def cpu_ratio(pair: tuple[report.RunFigures, report.RunFigures]) -> float:
        ours, floor = pair
        return ours.cpu_ms_per_command / floor.cpu_ms_per_command

    def p50_ratio(pair: tuple[report.RunFigures, report.RunFigures]) -> str:
        ours, floor = pair
        if ours.answer_p50 is None or not floor.answer_p50:
            return "–"
        return f"{ours.answer_p50 / floor.answer_p50:.2f}"

    ordered = sorted(rounds, key=cpu_ratio)
    notes.append(
        f"{scheme}: {len(rounds)} rounds, each the bot then the bare app; the table shows the "
        f"round with the median CPU ratio. CPU per command, bot / bare Bolt, each round: "
        + ", ".join(f"{cpu_ratio(pair):.2f}" for pair in rounds)
        + "; answer p50 ratio: " + ", ".join(p50_ratio(pair) for pair in rounds) + "."
    )
    return ordered[len(ordered) // 2]


def _parse(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--commands", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument(
        "--rounds", type=int, default=1,
        help="side-by-side rounds per scheme; the table shows the median round",
    )
    parser.add_argument("--schemes", default="http,https", help="http, https or both")
    parser.add_argument("--text", default="group:DWH_GROUP open", help="the bot's command text")
    parser.add_argument(
        "--shared", choices=("auto", "on", "off"), default="auto",
        help="the two-process Redis rows: auto = only when the bot reads CACHE_URL",
    )
    parser.add_argument("--cold-commands", type=int, default=30)
    parser.add_argument("--outage-commands", type=int, default=60)
    parser.add_argument("--redis", default="127.0.0.1:6379", help="host:port of Redis")
    parser.add_argument("--redis-db", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="the Markdown file to write")
    args = parser.parse_args(argv)
    schemes = tuple(s.strip() for s in args.schemes.split(",") if s.strip())
    if not schemes or set(schemes) - {"http", "https"}:
        parser.error("--schemes takes http, https or http,https")
    host, _, port = args.redis.rpartition(":")
    return Options(
        commands=args.commands,
        concurrency=args.concurrency,
        rounds=max(1, args.rounds),
        schemes=schemes,
        text=args.text,
        shared=args.shared,
        cold_commands=args.cold_commands,
        outage_commands=args.outage_commands,
        redis=(host or "127.0.0.1", int(port)),
        redis_db=args.redis_db,
        out=args.out,
    )


# ---- one server, one burst ----------------------------------------------------------------


def _measure(
    stage: Stage, options: Options, scheme: str, notes: list[str], *, bot: bool
) -> report.RunFigures:
    name = f"{'bot' if bot else 'bare'}-{scheme}"
    server = _start_bot(stage, scheme, name) if bot else _start_bare(stage, scheme, name)
    text = options.text  # the bare app answers any text with its fixed message
    try:
        warm = burst(
            [server.url], [text] * WARMUP_COMMANDS,
            lambda key: stage.receiver.response_url(scheme, key),
            concurrency=min(options.concurrency, WARMUP_COMMANDS),
        )
        unanswered = [
            a for a in collect(warm, stage.receiver.recorder, WARMUP_TIMEOUT) if a.answer is None
        ]
        if unanswered:
            raise ServerError(
                f"{name} left {len(unanswered)} of {WARMUP_COMMANDS} warm-up commands "
                f"unanswered (first ack: HTTP {unanswered[0].sample.status})\n{server.log()}"
            )
        stage.demo.counts.reset()
        cpu_before = server.cpu_seconds()
        samples = burst(
            [server.url], [text] * options.commands,
            lambda key: stage.receiver.response_url(scheme, key),
            concurrency=options.concurrency,
        )
        answered = collect(samples, stage.receiver.recorder, ANSWER_TIMEOUT)
        cpu = server.cpu_seconds() - cpu_before
        upstream = stage.demo.counts.total
    finally:
        server.stop()
        _note_tracebacks(server, notes)
    figures = report.figures(
        report.BOT if bot else report.BARE, scheme, answered, cpu, upstream
    )
    if figures.failed:
        print(f"{name}: {figures.failed} command(s) failed; its log:\n{server.log()}")
    return figures


def _base_env(stage: Stage, scheme: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(ROOT),
        PORT=str(port),
        SLACK_BOT_TOKEN="xoxb-bench",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=stage.receiver.api_url(scheme),
        SSL_CERT_FILE=str(stage.ca_file),
    )
    return env


def _start_bot(stage: Stage, scheme: str, name: str, **extra: str) -> ServerProcess:
    """The Procfile's web process against the demo API, answering to the receiver."""
    port = _free_port()
    env = _base_env(stage, scheme, port)
    env.update(
        METAKRAFTWERK_URL=stage.demo.url,
        METAKRAFTWERK_TOKEN=DEMO_TOKEN,
        DATABASE_URL=f"sqlite:///{stage.workdir / (name + '.db')}",
        CACHE_TTL_SECONDS="3600",  # warm for the whole burst
        **extra,
    )
    command = _procfile_command("web")
    return start_server(
        name, ["/bin/sh", "-c", f"exec {command}"], env,
        port=port, ready_path="/healthz", ready_status=200, workdir=stage.workdir,
    )


def _start_bare(stage: Stage, scheme: str, name: str) -> ServerProcess:
    port = _free_port()
    env = _base_env(stage, scheme, port)
    # Bolt's WSGI adapter answers any GET it has no route for with 404: that means it is up.
    return start_server(
        name, [sys.executable, "-m", "bench.bare_bolt"], env,
        port=port, ready_path="/slack/events", workdir=stage.workdir,
    )


def _note_tracebacks(server: ServerProcess, notes: list[str]) -> None:
    """A traceback in a server's log is a finding of the run, even when every answer came."""
    tracebacks = server.log(tail=10_000_000).count("Traceback")
    if tracebacks:
        notes.append(f"{server.name}: {tracebacks} traceback(s) in its log")
        print(f"--- {server.name}: end of its log ---\n{server.log()}")


def _procfile_command(kind: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() == kind:
            return command.strip()
    raise RuntimeError(f"Procfile has no {kind}: line")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- two processes, one Redis -------------------------------------------------------------


def cache_url_supported() -> bool:
    """Whether this bot reads CACHE_URL (its settings name the field)."""
    return "cache_url" in {f.name for f in dataclasses.fields(Settings)}


def _measure_shared(stage: Stage, options: Options, notes: list[str]) -> report.SharedFigures:
    if options.shared == "off":
        return report.SharedFigures(skipped="switched off (--shared off)")
    if options.shared == "auto" and not cache_url_supported():
        return report.SharedFigures(
            skipped="this bot has no CACHE_URL support yet (its Settings have no cache_url)"
        )
    host, port = options.redis
    if not redis_reachable(host, port):
        return report.SharedFigures(skipped=f"no Redis answers at {host}:{port}")
    if not cache_url_supported():
        notes.append("the bot does not read CACHE_URL: the shared rows measure two private caches")
    flush_db(host, port, options.redis_db)
    try:
        with TcpProxy(port, host) as proxy:
            cache_url = f"redis://127.0.0.1:{proxy.port}/{options.redis_db}"
            servers = [
                _start_bot(stage, "http", f"bot-shared-{i}", CACHE_URL=cache_url)
                for i in (1, 2)
            ]
            try:
                return _shared_bursts(stage, options, servers, proxy)
            finally:
                for server in servers:
                    server.stop()
                    _note_tracebacks(server, notes)
    finally:
        flush_db(host, port, options.redis_db)


def _shared_bursts(
    stage: Stage, options: Options, servers: list[ServerProcess], proxy: TcpProxy
) -> report.SharedFigures:
    targets = [s.url for s in servers]

    def url(key: str) -> str:
        return stage.receiver.response_url("http", key)

    # Cold: nothing cached anywhere; a slow API makes the commands overlap for real.
    stage.demo.counts.reset()
    stage.demo.switches.latency = 0.3
    try:
        cold = burst(
            targets, [options.text] * options.cold_commands, url,
            concurrency=options.cold_commands,
        )
        cold_answered = collect(cold, stage.receiver.recorder, ANSWER_TIMEOUT)
    finally:
        stage.demo.switches.latency = 0.0
    cold_upstream = stage.demo.counts.total
    cold_repeated = stage.demo.counts.most_repeated()

    # Redis goes away a third of the way into a burst of varied commands.
    cut_at = max(options.outage_commands // 3, 1)

    def on_sent(n: int) -> None:
        if n == cut_at:
            proxy.close()

    texts = [OUTAGE_TEXTS[i % len(OUTAGE_TEXTS)] for i in range(options.outage_commands)]
    outage = burst(targets, texts, url, concurrency=min(options.concurrency, 10), on_sent=on_sent)
    outage_answered = collect(outage, stage.receiver.recorder, ANSWER_TIMEOUT)
    time.sleep(0.2)  # let late log lines land before the servers stop
    return report.SharedFigures(
        cold_commands=len(cold_answered),
        cold_upstream_calls=cold_upstream,
        cold_most_repeated=cold_repeated,
        cold_failed=sum(not report.succeeded(a) for a in cold_answered),
        outage_commands=len(outage_answered),
        outage_failed=sum(not report.succeeded(a) for a in outage_answered),
    )


if __name__ == "__main__":
    sys.exit(main())
