"""The database check: DATABASE_URL reachable, and its schema one this release can use."""

from __future__ import annotations

from bot.check.report import Report
from bot.config import Settings, redact_url
from bot.notify.store.probe import ProbeFailed, probe_database
from bot.startup import private_database


def check_database(settings: Settings, report: Report) -> None:
    shown = redact_url(settings.database_url)
    try:
        state = probe_database(settings.database_url)
    except ProbeFailed as exc:
        report.fail(f"DATABASE_URL {shown}", str(exc))
        return
    if state.missing_file:
        report.line(f"Database: {shown} does not exist yet; the first start creates it.")
    elif state.version == 0:
        report.line(f"Database: {shown} is reachable; the first start creates the tables.")
    elif state.version < state.expected:
        report.line(
            f"Database: {shown}, schema version {state.version}; the next start upgrades it "
            f"to {state.expected}."
        )
    else:
        report.line(f"Database: {shown}, schema version {state.version} (current).")
    warning = private_database(settings.database_url)
    if warning is not None:
        report.warn("DATABASE_URL", warning)
