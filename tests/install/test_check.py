"""`check` refuses an installation whose bot token expires (token rotation is not built)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from slack_sdk.oauth.installation_store import Installation

from bot.check.installations import check_installations
from bot.check.report import Report
from bot.config import Secret, Settings
from bot.install.store import TenantInstallationStore
from tests.install.conftest import KEY


def _report(db_url: str) -> tuple[Report, io.StringIO]:
    out = io.StringIO()
    report = Report(out)
    settings = Settings(mode="distributed", database_url=db_url, secret_keys=(Secret(KEY),))
    check_installations(settings, report)
    return report, out


def _save(installs: TenantInstallationStore, team: str, expires_at: int | None) -> None:
    installs.save(Installation(
        app_id="A1", team_id=team, bot_token=f"xoxb-{team}", bot_id="B1", bot_user_id="UB1",
        bot_scopes="commands", user_id="U1", bot_token_expires_at=expires_at,
    ))


def test_an_expiring_token_fails_the_check(
    installs: TenantInstallationStore, db_url: str
) -> None:
    _save(installs, "T1", None)
    report, out = _report(db_url)
    assert report.failures == 0
    assert "no bot token expires" in out.getvalue()
    _save(installs, "T2", int(datetime(2026, 12, 8, tzinfo=UTC).timestamp()))
    report, out = _report(db_url)
    assert report.failures == 1
    assert "check failed (installations): 1 installation(s) have an expiring bot token (T2)" in (
        out.getvalue())


def test_single_workspace_mode_has_no_installations_to_check(db_url: str) -> None:
    out = io.StringIO()
    report = Report(out)
    check_installations(Settings(database_url=db_url), report)
    assert (report.failures, out.getvalue()) == (0, "")
