"""Console sessions: the interactive REPL and one-shot `ask`, with the services they run on.

Without MetaKraftwerk credentials a session uses the built-in demo API and a throwaway
database; with `--with-worker` the worker posts to a loopback fake Slack that prints.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from bot.app.answers import Caller, Reply, dumps
from bot.config import Settings, metakraftwerk_source
from bot.console.repl import CONSOLE_CHANNEL, PROMPT, Console
from bot.console.slash import read_slash
from bot.notify.subscription_commands import SubscriptionCommands
from bot.render.text import render_text
from bot.wiring import (
    Services,
    build_answers,
    build_services,
    build_subscriptions,
    build_use_cases,
    start_worker_thread,
)


def run_console(
    settings: Settings, *, with_worker: bool = False, log_path: Path | None = None
) -> int:
    """The interactive console on stdin/stdout; faults are logged to `log_path`, named once."""
    out = sys.stdout
    ansi = wants_ansi(out)
    services, demo_note = _services(settings, out)
    try:
        poll: Callable[[], object] | None = None
        subscriptions = None
        if with_worker:
            poll, subscriptions = _start_worker(services, out, ansi=ansi)
        else:
            subscriptions = build_subscriptions(services, None)
        use_cases = build_use_cases(services, subscriptions)
        console = Console(
            use_cases.answers,
            out,
            demo=services.demo,
            poll=poll,
            on_demo_change=services.cache.clear,
            ansi=ansi,
            home=use_cases.surfaces.home,
            step=use_cases.surfaces.workflow_step,
            forms=use_cases.surfaces.search_forms,
        )
        out.write(f"releases-bot console{demo_note}. Type :help for help, :quit to leave.\n")
        if log_path is not None:
            out.write(f"Warnings and errors are logged to {log_path}\n")
        if sys.stdin.isatty() and out.isatty():
            console.run(_edited_lines())  # input() prints the prompt
        else:
            out.write(PROMPT)
            out.flush()
            console.run(sys.stdin, interactive=True)
        out.write("\n")
    finally:
        services.close()
    return 0


def ask(settings: Settings, text: str, *, as_json: bool = False, out: TextIO | None = None) -> int:
    """Answer one command and exit: 0 when it answered, 1 when the answer is an error."""
    stream = out or sys.stdout
    services, _ = _services(settings, sys.stderr, quiet=True)
    try:
        answers = build_answers(services, build_subscriptions(services, None))
        slash = read_slash(text)
        reply = (
            Reply(slash.refused)
            if slash.refused is not None
            else answers.command(slash.text, Caller("TCONSOLE", CONSOLE_CHANNEL, "UCONSOLE"))
        )
        if as_json:
            stream.write(dumps(reply.message) + "\n")
        else:  # one answer and exit: its buttons could never be pressed, so none are shown
            shown = render_text(reply.message, ansi=wants_ansi(stream), buttons=False)
            stream.write(shown.text.rstrip() + "\n")
        return 1 if reply.message.meta.get("view") == "error" else 0
    finally:
        services.close()


def wants_ansi(stream: TextIO) -> bool:
    """Terminal bold for `*bold*`: on a terminal, unless NO_COLOR is set (no-color.org)."""
    try:
        return stream.isatty() and not os.environ.get("NO_COLOR")
    except ValueError:  # a closed stream
        return False


def _edited_lines() -> Iterator[str]:
    """Lines typed at a terminal, with the standard line editing and history (readline)."""
    import readline  # noqa: F401 - importing it gives input() arrow keys and history

    while True:
        try:
            yield input(PROMPT)
        except EOFError:  # Ctrl-D
            return
        except KeyboardInterrupt:  # Ctrl-C drops the line typed so far, as shells do
            sys.stdout.write("\n")


def _services(settings: Settings, out: TextIO, *, quiet: bool = False) -> tuple[Services, str]:
    if metakraftwerk_source(settings, demo_allowed=True) == "api":
        return build_services(settings), f" on {settings.metakraftwerk_url}"
    # Demo subscriptions live in a throwaway database, removed on close: demo data must never
    # reach the snapshot of a real deployment's DATABASE_URL.
    demo_dir = tempfile.mkdtemp(prefix="releases-bot-")
    settings = replace(settings, database_url=f"sqlite:///{Path(demo_dir) / 'console.db'}")
    if not quiet:
        out.write(
            "No MetaKraftwerk credentials are set: using the built-in demo API with sample data.\n"
        )
    try:
        services = build_services(settings, demo=True)
    except BaseException:
        shutil.rmtree(demo_dir, ignore_errors=True)
        raise
    # Registered first, so it runs last: after the store that uses the file is closed.
    services.on_close(lambda: shutil.rmtree(demo_dir, ignore_errors=True))
    return services, " on the built-in demo API"


def _start_worker(
    services: Services, out: TextIO, *, ansi: bool = False
) -> tuple[Callable[[], object], SubscriptionCommands]:
    from slack_sdk import WebClient

    from bot.console.fake_slack import ConsoleSlack

    polling = threading.Event()  # a `:poll` in progress: its caller prints the next prompt

    def printer(text: str) -> None:
        out.write("\n" + text.rstrip() + "\n" + ("" if polling.is_set() else PROMPT))
        out.flush()

    slack = ConsoleSlack(printer, ansi=ansi).start()
    services.on_close(slack.close)
    web_client = WebClient(token="xoxb-console", base_url=slack.url)  # noqa: S106 - not a secret
    subscriptions = build_subscriptions(services, web_client)
    worker = start_worker_thread(services, web_client, "console")

    def poll() -> object:
        polling.set()
        try:
            return worker.poll_once()
        finally:
            polling.clear()

    return poll, subscriptions
