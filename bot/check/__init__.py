"""`releases-bot check`: will the processes work with these settings? One line per fault.

It checks what `serve`, `socket` and `worker` need: every setting's form (each bad one named,
the rest still checked), MetaKraftwerk (reachable, credentials, one list), the database
(connect, schema version, and whether the processes can share it), CACHE_URL's Redis, and
Slack (the bot token through `auth.test`, the signing secret in HTTP mode). Only when no
MetaKraftwerk setting at all is given does it check the built-in demo API instead, and it says
so first. In distributed mode it checks what an installable app needs instead
(`bot.check.distributed`). Its first line names the mode it found.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TextIO

import httpx

from bot.check.cache import check_cache
from bot.check.database import check_database
from bot.check.distributed import run_distributed_check
from bot.check.metakraftwerk import check_metakraftwerk
from bot.check.report import Report
from bot.check.slack import check_slack
from bot.clock import Clock, SystemClock
from bot.config import ConfigError, Secret, Settings, metakraftwerk_source, read_settings
from bot.demo.api_server import DEMO_EMAIL, DEMO_PASSWORD, DemoApiServer
from bot.logs import register_secrets

# A bad variable's own line is enough: the checks that need it are skipped, not run on defaults.
_NEEDS = {
    "metakraftwerk": ("METAKRAFTWERK_URL", "METAKRAFTWERK_TOKEN", "METAKRAFTWERK_EMAIL",
                      "METAKRAFTWERK_PASSWORD", "API_DEADLINE_SECONDS"),
    "database": ("DATABASE_URL",),
    "cache": ("CACHE_URL",),
    "slack": ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL",
              "SLACK_TIMEOUT_SECONDS"),
}

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
    errors: Sequence[tuple[str, str]] = (),
) -> int:
    """Check everything; 0 when all is usable, 1 when any setting is at fault.

    `errors` are the malformed variables read_settings found: each gets its line, and the
    checks that need one of them are skipped."""
    report = Report(out)
    for variable, message in errors:
        report.fail(variable, message)
    bad = {variable for variable, _ in errors}

    def wanted(part: str) -> bool:
        return not bad.intersection(_NEEDS[part])

    clock = clock or SystemClock()
    if wanted("metakraftwerk"):
        try:
            source = metakraftwerk_source(settings, demo_allowed=True)
        except ConfigError as exc:
            report.fail("METAKRAFTWERK_TOKEN", str(exc))
        else:
            _check_source(source, settings, report, http_client, clock)
    if wanted("database"):
        check_database(settings, report)
    if wanted("cache"):
        check_cache(settings, report)
    if wanted("slack"):
        check_slack(settings, report)
    return 1 if report.failures else 0


def check_environment(out: TextIO, environ: Mapping[str, str] | None = None) -> int:
    """`releases-bot check`: read the settings leniently, log only errors (the report says
    the rest, once), run every check."""
    settings, errors = read_settings(environ)
    register_secrets(settings.secret_values())
    logger = logging.getLogger("bot")
    level = logger.level
    logger.setLevel(logging.ERROR)  # a warning would repeat a line of the report
    out.write("mode: distributed\n" if settings.is_distributed else "mode: single workspace\n")
    try:
        if settings.is_distributed:
            return run_distributed_check(settings, out, errors=errors)
        return run_check(settings, out, errors=errors)
    finally:
        logger.setLevel(level)


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
        description="Check the settings: MetaKraftwerk, the database, the cache and Slack.",
    ).parse_args(argv)
    return check_environment(sys.stdout, environ)


if __name__ == "__main__":
    sys.exit(main_check())
