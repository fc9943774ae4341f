"""Stalled and slow connections against the Procfile's web process: memory, and who still gets in.

    python -m bench.slow_clients [--bodies 990] [--partial-kb 500] [--stalled 1050]
                                 [--out bench/results/slow-clients-DATE.md]

1. `bodies` connections each send a request's headers (Content-Length twice `partial-kb`) and
   then `partial-kb` of its body, and stall. The web process's RSS before, with all of them
   open, and after they closed.
2. `stalled` connections (more than the connection limit) each send one byte of a request line
   and then one more byte every 20 s. Meanwhile new connections ask for /healthz and send a
   signed `/releases help`: how long each took to be answered.
Defaults are the server's own (bot/server.py); Slack is tests/fakes' stand-in.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import socket
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx

from bench import report
from bot.demo.api_server import DemoApiServer
from bot.server import BODY_SECONDS, CONNECTION_LIMIT, HEADER_SECONDS, INBUF_BYTES
from tests.e2e.conftest import WebProcess, new_key, running_web
from tests.fakes.signing import post_signed, slash_command_body
from tests.fakes.slack_api import FakeSlack

ROOT = Path(__file__).resolve().parents[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


@contextlib.contextmanager
def connections(web: WebProcess, count: int, first: bytes) -> Iterator[list[socket.socket]]:
    host, port = web.url.removeprefix("http://").split(":")
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection((host, int(port)), timeout=10)
            sock.sendall(first)
            sockets.append(sock)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def bodies(web: WebProcess, count: int, partial_kb: int) -> list[str]:
    partial = partial_kb * 1024
    head = (
        "POST /slack/events HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"Content-Length: {partial * 2}\r\n\r\n"
    ).encode()
    before = rss_mb(web.proc.pid)
    with connections(web, count, head) as sockets:
        sent = 0
        for sock in sockets:
            with contextlib.suppress(OSError):  # closed by the server at its deadline
                sock.sendall(b"a" * partial)
                sent += 1
        time.sleep(2.0)  # the server reads what is there
        held = rss_mb(web.proc.pid)
    time.sleep(2.0)
    after = rss_mb(web.proc.pid)
    return [
        f"| connections holding a {partial_kb} kB partial body | {count} ({sent} sent it whole) |",
        f"| web RSS before (MB) | {before:.0f} |",
        f"| web RSS with them open (MB) | {held:.0f} |",
        f"| per connection (kB) | {(held - before) * 1024 / max(count, 1):.0f} |",
        f"| web RSS after they closed (MB) | {after:.0f} |",
    ]


def timed(action: str, web: WebProcess) -> float | None:
    began = time.perf_counter()
    try:
        with httpx.Client(timeout=60) as fresh:  # a new connection, as a probe opens one
            if action == "healthz":
                ok = fresh.get(f"{web.url}/healthz").status_code == 200
            else:
                body = slash_command_body("help", response_url=web.slack.response_url(new_key()))
                ok = post_signed(fresh, web.events_url, body).status_code == 200
    except httpx.HTTPError:
        return None
    return time.perf_counter() - began if ok else None


def stalled(web: WebProcess, count: int) -> list[str]:
    with connections(web, count, b"G") as sockets:
        stop = threading.Event()

        def drip() -> None:
            while not stop.wait(20.0):
                for sock in sockets:
                    with contextlib.suppress(OSError):
                        sock.send(b"E")

        thread = threading.Thread(target=drip, daemon=True)
        thread.start()
        try:
            rows = []
            for round_ in range(3):
                for action in ("healthz", "signed command"):
                    took = timed(action, web)
                    shown = "no answer within 60 s" if took is None else f"{took:.2f} s"
                    rows.append(f"| {action}, try {round_ + 1}, beside {count} stalled | {shown} |")
                time.sleep(1.0)
        finally:
            stop.set()
            thread.join()
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.slow_clients", description=__doc__)
    parser.add_argument("--bodies", type=int, default=990)
    parser.add_argument("--partial-kb", type=int, default=500)
    parser.add_argument("--stalled", type=int, default=CONNECTION_LIMIT + 50)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    with (
        DemoApiServer() as demo,
        FakeSlack() as slack,
        tempfile.TemporaryDirectory() as workdir,
        running_web(demo, slack, Path(workdir)) as web,
    ):
        rows = bodies(web, args.bodies, args.partial_kb) + stalled(web, args.stalled)
    lines = [
        f"# Slow clients, {dt.date.today():%Y-%m-%d}",
        "",
        report.machine(),
        "",
        f"Limits: {CONNECTION_LIMIT} connections a process, headers within {HEADER_SECONDS} s "
        f"of a request's first byte, the body within {BODY_SECONDS} s after them, "
        f"{INBUF_BYTES // 1024} kB of a body in memory.",
        "",
        "| figure | value |",
        "|---|---|",
        *rows,
        "",
    ]
    text = "\n".join(lines)
    print(text)
    out = args.out or ROOT / "bench" / "results" / f"slow-clients-{dt.date.today():%Y-%m-%d}.md"
    out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
