"""`releases-bot check`: will the processes work with these settings? One line per fault.

It checks what `serve`, `socket` and `worker` need: MetaKraftwerk (reachable, credentials, one
list), the database (connect, schema version) and Slack (`auth.test` when a bot token is set, the
signing secret in HTTP mode). Only when no MetaKraftwerk setting at all is given does it check
the built-in demo API instead, and it says so first.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TextIO

import httpx

from bot.check.database import check_database
from bot.check.metakraftwerk import check_metakraftwerk
from bot.check.report import Report
from bot.check.slack import check_slack
from bot.clock import Clock, SystemClock
from bot.config import ConfigError, Secret, Settings, load_settings, metakraftwerk_source
from bot.demo.api_server import DEMO_EMAIL, DEMO_PASSWORD, DemoApiServer
from bot.logs import register_secrets

DEMO_NOTE = (
    "No MetaKraftwerk setting is given (METAKRAFTWERK_URL, METAKRAFTWERK_TOKEN, or "
    "METAKRAFTWERK_EMAIL and METAKRAFTWERK_PASSWORD): checking the built-in demo API, "
    "which `releases-bot console` then uses."
)


def run_check(
    settings: Settings,
    out: TextIO,
    http_client: httpx.Client | None = None,
    clock: Clock | None = None,
) -> int:
    """Check everything; 0 when all is usable, 1 when any setting is at fault."""
    report = Report(out)
    clock = clock or SystemClock()
    try:
        source = metakraftwerk_source(settings, demo_allowed=True)
    except ConfigError as exc:
        report.fail("METAKRAFTWERK_TOKEN", str(exc))
    else:
        _check_source(source, settings, report, http_client, clock)
    check_database(settings, report)
    check_slack(settings, report)
    return 1 if report.failures else 0


def _check_source(
    source: str,
    settings: Settings,
    report: Report,
    http_client: httpx.Client | None,
    clock: Clock,
) -> None:
    if source == "api":
        check_metakraftwerk(settings, report, http_client, clock)
    else:
        report.line(DEMO_NOTE)
        with DemoApiServer() as demo:
            demo_settings = replace(
                settings,
                metakraftwerk_url=demo.url,
                metakraftwerk_email=DEMO_EMAIL,
                metakraftwerk_password=Secret(DEMO_PASSWORD),
            )
            check_metakraftwerk(demo_settings, report, None, clock)


def main_check(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Entry point: read the settings from the environment, run the check, print to stdout."""
    argparse.ArgumentParser(
        prog="releases-bot check",
        description="Check the settings: MetaKraftwerk, the database and Slack.",
    ).parse_args(argv)
    try:
        settings = load_settings(environ)
    except ConfigError as exc:
        print(f"releases-bot: {exc}", file=sys.stderr)
        return 2
    register_secrets(settings.secret_values())
    return run_check(settings, sys.stdout)


if __name__ == "__main__":
    sys.exit(main_check())
