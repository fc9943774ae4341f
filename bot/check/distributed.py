"""`releases-bot check` in distributed mode: what an installable app needs, nothing of one
workspace's. There is no bot token or MetaKraftwerk account to try (each install brings its
own), so it checks the OAuth and signing settings, that every key of SECRET_KEYS seals and
opens, PUBLIC_URL, PostgreSQL reachable and migrated, CACHE_URL, and which key the stored
secrets are on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from bot.check.cache import check_cache
from bot.check.installations import check_installations
from bot.check.report import Report
from bot.config import Settings, is_postgresql, redact_url
from bot.notify.store.engine import create_store_engine
from bot.notify.store.probe import ProbeFailed, probe_database
from bot.notify.store.rotation import KeyCount, count_keys
from bot.notify.store.sealed_fields import SEALED_FIELDS, SealedField
from bot.notify.store.trouble import StoreUnavailable
from bot.secret_box import SecretBox, SecretError, context_of

_PROBE_CONTEXT = context_of("releases-bot check", "probe", "0")


def run_distributed_check(
    settings: Settings,
    out: TextIO,
    errors: Sequence[tuple[str, str]] = (),
    fields: Sequence[SealedField] = SEALED_FIELDS,
) -> int:
    """0 when an install could be served with these settings, 1 when any is at fault."""
    report = Report(out)
    for variable, message in errors:
        report.fail(variable, message)
    bad = {variable for variable, _ in errors}
    said = " ".join(message for _, message in errors)  # a setting an error already names

    _check_slack(settings, report, said)
    box = _check_keys(settings, report, said)
    if settings.public_url is not None and "PUBLIC_URL" not in bad:
        url = settings.public_url
        report.line(f"Public URL: {url}; Slack's redirect URL is {url}/slack/oauth_redirect, "
                    f"installs start at {url}/slack/install.")
    if "DATABASE_URL" not in bad and is_postgresql(settings.database_url):
        _check_database(settings, report, box, fields)
    if "CACHE_URL" not in bad:
        check_cache(settings, report)
    return 1 if report.failures else 0


def _check_slack(settings: Settings, report: Report, said: str) -> None:
    if settings.slack_signing_secret is None:
        if "SLACK_SIGNING_SECRET" not in said:
            report.fail("SLACK_SIGNING_SECRET", "is not set: every request from Slack is "
                        "verified with it")
        return
    if settings.slack_client_id and settings.slack_client_secret:
        report.line(f"Slack: installs through OAuth as client {settings.slack_client_id}; "
                    "requests verified with SLACK_SIGNING_SECRET.")


def _check_keys(settings: Settings, report: Report, said: str) -> SecretBox | None:
    if not settings.secret_keys:
        if "SECRET_KEYS" not in said:
            report.fail("SECRET_KEYS", "is not set: no secret can be stored or read")
        return None
    keys = [key.value for key in settings.secret_keys]
    try:
        box = SecretBox(keys)
        for position, key in enumerate(keys, start=1):
            sealed = SecretBox([key]).seal("probe", _PROBE_CONTEXT)
            if box.open(sealed, _PROBE_CONTEXT) != "probe":
                raise SecretError(f"SECRET_KEYS key {position} does not open what it sealed")
    except SecretError as exc:
        report.fail("SECRET_KEYS", str(exc))
        return None
    older = f", {len(keys) - 1} older one(s) only open" if len(keys) > 1 else ""
    report.line(f"Keys: new secrets are sealed with key {box.current_key_id}{older}; "
                "every key seals and opens.")
    return box


def _check_database(
    settings: Settings, report: Report, box: SecretBox | None, fields: Sequence[SealedField]
) -> None:
    shown = redact_url(settings.database_url)
    try:
        state = probe_database(settings.database_url)
    except ProbeFailed as exc:
        report.fail(f"DATABASE_URL {shown}", str(exc))
        return
    if state.version < state.expected:
        found = "has no tables yet" if state.version == 0 else (
            f"is at schema version {state.version}")
        report.fail(f"DATABASE_URL {shown}", (
            f"{found}, this release needs {state.expected}: start this release's `serve` or "
            "`worker` once (it migrates), then check again"))
        return
    report.line(f"Database: PostgreSQL at {shown}, schema version {state.version} (current).")
    if box is None:
        return
    engine = create_store_engine(settings.database_url)
    try:
        counts = count_keys(engine, box, fields)
    except StoreUnavailable as exc:
        report.fail(f"DATABASE_URL {shown}", f"the sealed secrets cannot be counted ({exc})")
        return
    finally:
        engine.dispose()
    _report_keys(counts, box, report)
    check_installations(settings, report)


def _report_keys(counts: Sequence[KeyCount], box: SecretBox, report: Report) -> None:
    for count in counts:
        if count.old:
            report.warn("SECRET_KEYS", (
                f"{count.field}: {count.old} value(s) still on an older key; run "
                "`releases-bot keys rotate`, and drop the old key only once none are left"))
        if count.unknown:
            report.fail("SECRET_KEYS", (
                f"{count.field}: {count.unknown} value(s) sealed with no key of SECRET_KEYS "
                "(they cannot be opened); put back the key that sealed them"))
    total = sum(count.current for count in counts)
    if all(not count.old and not count.unknown for count in counts):
        stored = f"all {total} on key {box.current_key_id}" if total else "none stored yet"
        report.line(f"Sealed secrets: {stored}.")
