"""The installations check (distributed mode): an install whose bot token expires is refused.

Token rotation is off in manifest.yml: Bolt refreshes tokens only while it handles a request,
without a lock, so a workspace that only gets digests would lose its token after 12 hours and
two processes refreshing at once would kill it. Until a locked refresher is built, an install
with an expiring token (rotation turned on in the app's settings) is a failure to report.
"""

from __future__ import annotations

from slack_bolt.error import BoltError
from sqlalchemy.exc import SQLAlchemyError

from bot.check.report import Report
from bot.clock import SystemClock
from bot.config import Settings
from bot.install.store import TenantInstallationStore
from bot.notify.store.database import Database
from bot.notify.store.engine import create_store_engine
from bot.notify.store.trouble import StoreUnavailable
from bot.secret_box import SecretBox, SecretError

SETTING = "installations"


def check_installations(settings: Settings, report: Report) -> None:
    if not settings.is_distributed:
        return
    try:
        box = SecretBox([key.value for key in settings.secret_keys])
    except SecretError:
        return  # the settings' check names SECRET_KEYS
    engine = create_store_engine(settings.database_url)
    try:
        store = TenantInstallationStore(Database(engine, SystemClock()), box)
        expiring = store.expiring_tokens()
    except (SQLAlchemyError, StoreUnavailable, BoltError) as exc:
        report.warn(SETTING, f"could not read the installations ({type(exc).__name__})")
        return
    finally:
        engine.dispose()
    if not expiring:
        report.line("Installations: no bot token expires (token rotation is off, as required).")
        return
    names = ", ".join(sorted(e.tenant.team_id or e.tenant.enterprise_id for e in expiring))
    report.fail(SETTING, (
        f"{len(expiring)} installation(s) have an expiring bot token ({names}): token rotation "
        "is not supported yet; turn it off in the Slack app's settings (OAuth & Permissions) "
        "and reinstall"
    ))
