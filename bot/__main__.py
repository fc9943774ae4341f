"""The `releases-bot` command: console, ask, check, serve, socket, worker, keys, demo-api."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace

import bot
from bot.config import ConfigError, Settings, SettingsErrors, load_settings
from bot.i18n import LANGUAGES
from bot.logs import configure_logging, console_log_path

log = logging.getLogger("bot")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "check":  # reports every bad setting itself, and checks the rest
        from bot.check import check_environment

        return check_environment(sys.stdout)
    if args.command == "keys" and args.keys_command == "new":  # before any setting exists
        from bot.keys import print_new_key

        return print_new_key(sys.stdout)
    try:
        settings = load_settings()
    except ConfigError as exc:
        _print_error(exc)
        return 2
    configure_logging(
        settings.log_level if args.command in ("serve", "socket", "worker") else "WARNING",
        secrets=settings.secret_values(),
        path=console_log_path() if args.command in ("console", "ask") else None,
    )
    try:
        return int(args.run(settings, args) or 0)
    except ConfigError as exc:
        _print_error(exc)
        return 2
    except KeyboardInterrupt:
        return 130


def _print_error(exc: ConfigError) -> None:
    """One line per bad setting, each naming its variable."""
    for line in exc.lines() if isinstance(exc, SettingsErrors) else [str(exc)]:
        print(f"releases-bot: {line}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="releases-bot", description="MetaKraftwerk releases in Slack."
    )
    parser.add_argument("--version", action="version", version=f"releases-bot {bot.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    console = sub.add_parser("console", help="type /releases commands in a terminal")
    console.add_argument(
        "--with-worker", action="store_true", help="also run the notification worker in-process"
    )
    console.add_argument(
        "--lang", choices=LANGUAGES, help="answer in this language (default: DEFAULT_LANGUAGE)"
    )
    console.set_defaults(run=_console)

    ask = sub.add_parser("ask", help="answer one command and exit")
    ask.add_argument("text", help='the command, e.g. "/releases open"')
    ask.add_argument("--json", action="store_true", help="print Block Kit JSON instead of text")
    ask.add_argument("--lang", choices=LANGUAGES, help="answer in this language")
    ask.set_defaults(run=_ask)

    check = sub.add_parser("check", help="check settings and the MetaKraftwerk connection")
    check.set_defaults(run=None)

    serve = sub.add_parser("serve", help="HTTP mode under waitress on 0.0.0.0:$PORT")
    serve.add_argument(
        "--workers", type=int, default=None, help="processes (default: $WEB_CONCURRENCY or 1)"
    )
    serve.add_argument("--demo", action="store_true", help="use the built-in demo API")
    serve.set_defaults(run=_serve)

    socket = sub.add_parser("socket", help="Socket Mode (needs SLACK_APP_TOKEN)")
    socket.add_argument(
        "--with-worker", action="store_true", help="also run the notification worker in-process"
    )
    socket.add_argument("--demo", action="store_true", help="use the built-in demo API")
    socket.set_defaults(run=_socket)

    worker = sub.add_parser("worker", help="the notification worker")
    worker.add_argument("--once", action="store_true", help="run one poll and exit")
    worker.add_argument("--demo", action="store_true", help="use the built-in demo API")
    worker.set_defaults(run=_worker)

    keys = sub.add_parser("keys", help="encryption keys for the secrets stored (distributed)")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    keys_sub.add_parser("new", help="print a new key for SECRET_KEYS").set_defaults(run=None)
    rotate = keys_sub.add_parser(
        "rotate", help="re-seal the stored secrets with the first key of SECRET_KEYS"
    )
    rotate.add_argument(
        "--batch", type=_batch_size, default=500, help="rows per transaction (default: 500)"
    )
    rotate.set_defaults(run=_rotate_keys)

    demo = sub.add_parser("demo-api", help="serve the demo MetaKraftwerk API")
    demo.add_argument("--port", type=int, default=8089)
    demo.set_defaults(run=_demo_api)
    return parser


def _console(settings: Settings, args: argparse.Namespace) -> int:
    from bot.console import run_console

    settings = _with_language(settings, args.lang)
    return run_console(settings, with_worker=args.with_worker, log_path=console_log_path())


def _ask(settings: Settings, args: argparse.Namespace) -> int:
    from bot.console import ask

    return ask(_with_language(settings, args.lang), args.text, as_json=args.json)


def _with_language(settings: Settings, language: str | None) -> Settings:
    """`--lang de`: the console's user reads German (the workspace default, as they have no
    Slack locale)."""
    return replace(settings, default_language=language) if language else settings


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import functools

    from bot.server import serve
    from bot.startup import needs_waiting, wait_for_database
    from bot.wiring import web_app_factory

    workers = args.workers or settings.web_concurrency
    load = web_app_factory(settings, demo=args.demo)  # validates the settings before serving
    wait = (
        functools.partial(wait_for_database, settings.database_url)
        if needs_waiting(settings.database_url)
        else None
    )
    log.info("serving HTTP on 0.0.0.0:%s with %d process(es)", settings.port, workers)
    return serve(load, port=settings.port, workers=workers, wait=wait)


def _socket(settings: Settings, args: argparse.Namespace) -> int:
    from bot.run import run_socket_mode

    return run_socket_mode(settings, with_worker=args.with_worker, demo=args.demo)


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    from bot.run import run_worker

    return run_worker(settings, once=args.once, demo=args.demo)


def _batch_size(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 100000, got {raw!r}")
    return value


def _rotate_keys(settings: Settings, args: argparse.Namespace) -> int:
    from bot.keys import rotate_keys

    return rotate_keys(settings, sys.stdout, batch=args.batch)


def _demo_api(settings: Settings, args: argparse.Namespace) -> int:
    from bot.demo.__main__ import serve_forever

    return serve_forever(port=args.port)


if __name__ == "__main__":
    sys.exit(main())
