"""Where a warm `/releases` command spends its time inside the bot, without Slack or a server.

Run: `.venv/bin/python -m bench.profile_warm [--text "group:DWH_GROUP open"] [--commands 3000]`

It calls what the Slack listener calls (Answers.command), then encodes the reply as the answer
to response_url is encoded, with logging configured as `releases-bot serve` configures it
(records go to /dev/null, so their cost counts but nothing prints). The API is the demo API on
loopback; one command beforehand warms the cache. Reports microseconds per command, a split by
step (parse, cache lookup, render, JSON, log records) and the top hotspots from pyinstrument.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pyinstrument import Profiler
from pyinstrument.frame import Frame

from bot.app.answers import Answers, Caller, Reply
from bot.app.finder import ReleaseFinder
from bot.config import Secret, Settings
from bot.demo.api_server import DEMO_TOKEN, DemoApiServer
from bot.logs import configure_logging
from bot.query import ListCommand, parse_command
from bot.render.listing import render_list
from bot.wiring import build_answers, build_services

CALLER = Caller(team_id="T0001", channel_id="C0CHAN", user_id="U0USER", user_name="ada")
TOP = 10


@dataclass(frozen=True, slots=True)
class Hotspot:
    function: str
    where: str
    seconds: float


class _Counting(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1


def encode(reply: Reply) -> bytes:
    """The body the listener sends to response_url for an ephemeral reply."""
    body: dict[str, Any] = {
        **reply.message.payload(),
        "response_type": reply.mode,
        "replace_original": False,
    }
    return json.dumps(body).encode("utf-8")


def per_call_us(fn: Callable[[], object], n: int) -> float:
    """CPU microseconds of this thread per call: steadier than wall time on a busy machine."""
    start = time.thread_time()
    for _ in range(n):
        fn()
    return (time.thread_time() - start) / n * 1e6


@contextmanager
def serve_logging() -> Iterator[_Counting]:
    """Logging as `releases-bot serve` sets it up, writing to /dev/null, plus a record count."""
    with open(os.devnull, "w") as devnull:
        configure_logging("INFO")
        root = logging.getLogger()
        for handler in root.handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(devnull)
        counting = _Counting()
        root.addHandler(counting)
        try:
            yield counting
        finally:
            root.removeHandler(counting)
            for handler in root.handlers:
                if isinstance(handler, logging.StreamHandler):
                    handler.flush()
            root.handlers.clear()


def steps(answers: Answers, finder: ReleaseFinder, text: str, n: int) -> dict[str, float]:
    """Microseconds per call of each step a warm list command goes through."""
    command = parse_command(text)
    if not isinstance(command, ListCommand):
        raise SystemExit(f"the step split needs a list command, not {text!r}")
    result = finder.find(command.query)
    now = answers.clock.now()
    reply = answers.command(text, CALLER)
    message = render_list(result, now)
    return {
        "parse (parse_command)": per_call_us(lambda: parse_command(text), n),
        "cache lookup (ReleaseFinder.find)": per_call_us(lambda: finder.find(command.query), n),
        "render (render_list)": per_call_us(lambda: render_list(result, now), n),
        "payload (Message.payload)": per_call_us(message.payload, n),
        "JSON encode (response_url body)": per_call_us(lambda: encode(reply), n),
    }


def hotspots(root: Frame | None) -> tuple[list[Hotspot], list[Hotspot]]:
    """Top functions by own time (any code), and bot functions below the entry point by time
    including their callees."""
    own: dict[tuple[str, str], float] = defaultdict(float)
    inclusive: dict[tuple[str, str], float] = defaultdict(float)

    def walk(frame: Frame, on_stack: frozenset[tuple[str, str]]) -> None:
        if frame.is_synthetic:  # [self] and the like: already in the parent's own time
            return
        key = (frame.function, frame.code_position_short() or "?")
        own[key] += frame.total_self_time
        path = frame.file_path or ""
        # The steps below the entry point (bot/app/answers.py only passes through to them).
        own_code = "bot/" in path and "bot/app/answers.py" not in path
        own_code = own_code and not frame.function.startswith("<")
        if key not in on_stack and own_code:
            inclusive[key] += frame.time  # once per stack: recursion is not counted twice
        for child in frame.children:
            walk(child, on_stack | {key})

    if root is not None:
        walk(root, frozenset())

    def top(table: dict[tuple[str, str], float]) -> list[Hotspot]:
        ranked = sorted(table.items(), key=lambda item: item[1], reverse=True)[:TOP]
        return [Hotspot(f, w, s) for (f, w), s in ranked]

    return top(own), top(inclusive)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--text", default="group:DWH_GROUP open")
    parser.add_argument("--commands", type=int, default=3000)
    parser.add_argument("--html", default=None, help="also write pyinstrument's HTML here")
    args = parser.parse_args(argv)
    n: int = args.commands
    with DemoApiServer() as demo:
        settings = Settings(
            metakraftwerk_url=demo.url,
            metakraftwerk_token=Secret(DEMO_TOKEN),
            cache_ttl_seconds=3600.0,
        )
        services = build_services(settings)
        try:
            answers = build_answers(services)
            first = answers.command(args.text, CALLER)  # warms the cache
            if first.message.meta.get("view") == "error":
                raise SystemExit(f"the command failed: {first.message.text}")
            calls_before = demo.counts.total
            with serve_logging() as records:
                wall = time.perf_counter()
                whole = per_call_us(lambda: encode(answers.command(args.text, CALLER)), n)
                wall = (time.perf_counter() - wall) / n * 1e6
                logged = records.records
                split = steps(answers, services.finder, args.text, n)
                profiler = Profiler(interval=0.001)
                profiler.start()
                for _ in range(n):
                    encode(answers.command(args.text, CALLER))
                session = profiler.stop()
            upstream = demo.counts.total - calls_before
        finally:
            services.close()
    own, inclusive = hotspots(session.root_frame())
    root = session.root_frame()
    total = (root.time if root is not None else 0.0) or 1.0
    print(f"warm `/releases {args.text}`, {n} commands in-process (CPU µs of the thread)")
    print(f"  whole warm path                      {whole:8.1f} µs per command "
          f"({wall:.1f} µs wall; {upstream} API calls; {logged / n:.2f} log records per command)")
    for step, us in split.items():
        print(f"  {step:36} {us:8.1f} µs")
    print(f"\ntop {TOP} by own time, share of the profiled run ({total:.2f} s wall):")
    for h in own:
        print(f"  {h.seconds / total:6.1%}  {h.function:36} {h.where}")
    print(f"\ntop {TOP} bot functions below Answers, including their callees:")
    for h in inclusive:
        print(f"  {h.seconds / total:6.1%}  {h.function:36} {h.where}")
    if args.html:
        with open(args.html, "w") as out:
            out.write(profiler.output_html())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
