"""The web process under hostile and heavy traffic: slow clients, then a burst on a slow API.

Run: `.venv/bin/python -m tests.benchmarks.bench_server [--slow 40] [--burst 200]`

Starts the Procfile's web process against the demo API and the loopback Slack stand-in.
1. `slow` connections each send a request's headers and then its body one byte a second;
   meanwhile 20 signed `/releases help` commands arrive one after another. Reports how many
   were acknowledged, and the slowest acknowledgement (Slack gives up after 3 s).
2. `burst` distinct signed commands, `concurrency` at a time, against an API that takes
   `latency` seconds: how many were acknowledged within 3 s, and how many got their answer.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from bot.demo.api_server import DemoApiServer
from tests.e2e.conftest import WebProcess, new_key, running_web
from tests.fakes.signing import post_signed, slash_command_body
from tests.fakes.slack_api import FakeSlack

ACK_WITHIN = 3.0


@contextlib.contextmanager
def slow_clients(url: str, count: int, interval: float = 1.0) -> Iterator[list[socket.socket]]:
    """`count` connections that send a request's headers, then its body a byte at a time."""
    host, port = url.removeprefix("http://").split(":")
    stop = threading.Event()
    sockets: list[socket.socket] = []
    for _ in range(count):
        try:
            sock = socket.create_connection((host, int(port)), timeout=2)
            sock.sendall(
                b"POST /slack/events HTTP/1.1\r\nHost: bench\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: 100000\r\n\r\n"
            )
            sockets.append(sock)
        except OSError:
            break

    def drip() -> None:
        while not stop.wait(interval):
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.send(b"a")

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    try:
        yield sockets
    finally:
        stop.set()
        thread.join()
        for sock in sockets:
            sock.close()


@dataclass(frozen=True)
class SlowResult:
    connected: int
    acked: int
    sent: int
    ack_max: float


@dataclass(frozen=True)
class BurstResult:
    sent: int
    acked_in_time: int
    busy: int
    answered: int
    ack_max: float


@dataclass(frozen=True)
class Ack:
    seconds: float
    busy: bool


def timed_command(web: WebProcess, text: str, key: str, timeout: float) -> Ack | None:
    """The signed command's ack: how long it took, and whether it said "busy"."""
    began = time.perf_counter()
    try:
        response = _post(web, text, key, timeout)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    return Ack(time.perf_counter() - began, "busy" in response.text)


def _post(web: WebProcess, text: str, key: str, timeout: float) -> httpx.Response:
    body = slash_command_body(text, response_url=web.slack.response_url(key))
    with httpx.Client(timeout=timeout) as client:
        return post_signed(client, web.events_url, body)


def slow_scenario(web: WebProcess, count: int) -> SlowResult:
    with slow_clients(web.url, count) as sockets:
        time.sleep(1.0)
        acks = [timed_command(web, "help", new_key(), timeout=10) for _ in range(20)]
    done = [a.seconds for a in acks if a is not None]
    return SlowResult(len(sockets), len(done), len(acks), max(done, default=float("nan")))


def burst_scenario(web: WebProcess, count: int, concurrency: int, latency: float) -> BurstResult:
    web.demo.switches.latency = latency
    keys = [new_key() for _ in range(count)]
    try:
        with ThreadPoolExecutor(concurrency) as pool:
            acks = list(
                pool.map(
                    lambda i: timed_command(web, f"#{i % 60 + 1} format:compact", keys[i], 10),
                    range(count),
                )
            )
        deadline = time.monotonic() + 90
        answered = 0
        for key, ack in zip(keys, acks, strict=True):
            if ack is not None and ack.busy:
                continue  # told at once to try again: no answer follows
            remaining = max(0.1, deadline - time.monotonic())
            if web.slack.wait_responses(key, 1, timeout=remaining):
                answered += 1
    finally:
        web.demo.switches.latency = 0.0
    done = [a for a in acks if a is not None]
    in_time = [a for a in done if a.seconds < ACK_WITHIN]
    busy = [a for a in done if a.busy]
    slowest = max((a.seconds for a in done), default=float("nan"))
    return BurstResult(count, len(in_time), len(busy), answered, slowest)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--slow", type=int, default=40)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--latency", type=float, default=5.0)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}, {platform.system()}"
    )
    with (
        DemoApiServer() as demo,
        FakeSlack() as slack,
        tempfile.TemporaryDirectory() as workdir,
        running_web(demo, slack, Path(workdir), CACHE_TTL_SECONDS="1") as web,
    ):
        slow = slow_scenario(web, args.slow)
        print(
            f"{slow.connected} slow clients: {slow.acked}/{slow.sent} signed commands acked, "
            f"slowest ack {slow.ack_max:.2f} s"
        )
        burst = burst_scenario(web, args.burst, args.concurrency, args.latency)
        print(
            f"{burst.sent} commands, {args.concurrency} at a time, {args.latency:.0f} s API: "
            f"{burst.acked_in_time} acked within {ACK_WITHIN:.0f} s "
            f"(slowest {burst.ack_max:.2f} s), {burst.busy} of them told \"busy\", "
            f"{burst.answered} answered at their response_url"
        )


if __name__ == "__main__":
    main()
