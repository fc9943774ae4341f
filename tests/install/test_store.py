"""The installation store: one row per tenant updated in place, tokens sealed, a history."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from slack_bolt.error import BoltError
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import select, text, update

from bot.install.store import TenantInstallationStore
from bot.notify.store.database import Database
from bot.notify.store.schema import installations
from bot.secret_box import SecretBox, new_key
from bot.tenant import Tenant


def _install(team: str | None = "T1", token: str = "xoxb-one", *, enterprise: str | None = None,
             org: bool = False, scopes: str = "commands,chat:write",
             expires_at: int | None = None) -> Installation:
    return Installation(
        app_id="A1", enterprise_id=enterprise, team_id=team, bot_token=token, bot_id="B1",
        bot_user_id="UB1", bot_scopes=scopes, user_id="U1", is_enterprise_install=org,
        bot_token_expires_at=expires_at,
    )


def test_a_reinstall_updates_the_row_and_the_history_says_so(
    installs: TenantInstallationStore, database: Database
) -> None:
    installs.save(_install(token="xoxb-one"))
    installs.save(_install(token="xoxb-two", scopes="commands,chat:write,im:write"))
    with database.read() as conn:
        rows = conn.execute(select(installations)).all()
    assert len(rows) == 1
    bot = installs.find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None
    assert bot.bot_token == "xoxb-two"
    assert installs.history(Tenant("", "T1")) == ["installed", "reinstalled", "scopes_changed"]


def test_no_token_is_stored_in_plain_text(installs: TenantInstallationStore, db_url: str,
                                          database: Database) -> None:
    installs.save(_install(token="xoxb-secret-value"))
    with database.read() as conn:
        dump = " ".join(str(v) for row in conn.execute(select(installations)) for v in row)
    assert "xoxb-secret-value" not in dump
    if db_url.startswith("sqlite"):
        path = db_url.removeprefix("sqlite:///")
        with database.engine.connect() as conn:
            conn.execute(text("PRAGMA wal_checkpoint(FULL)"))
        assert b"xoxb-secret-value" not in open(path, "rb").read()  # noqa: SIM115


def test_a_token_copied_into_another_tenants_row_does_not_open(
    installs: TenantInstallationStore, database: Database
) -> None:
    installs.save(_install("T1", "xoxb-one"))
    installs.save(_install("T2", "xoxb-two"))
    with database.write() as conn:
        sealed = conn.scalar(select(installations.c.bot_token).where(
            installations.c.team_id == "T1"))
        conn.execute(update(installations).where(installations.c.team_id == "T2")
                     .values(bot_token=sealed))
    assert installs.find_bot(enterprise_id=None, team_id="T2") is None
    assert installs.find_bot(enterprise_id=None, team_id="T1") is not None


def test_an_org_install_and_a_workspace_of_that_org_are_separate_rows(
    installs: TenantInstallationStore,
) -> None:
    installs.save(_install(None, "xoxb-org", enterprise="E1", org=True))
    installs.save(_install("T1", "xoxb-ws", enterprise="E1"))
    org = installs.find_bot(enterprise_id="E1", team_id="T9", is_enterprise_install=True)
    assert org is not None
    assert org.bot_token == "xoxb-org"
    installs.delete_all(enterprise_id="E1", team_id="T1")  # the workspace is uninstalled
    assert installs.find_bot(enterprise_id="E1", team_id="T1") is None
    assert installs.find_bot(enterprise_id="E1", team_id=None, is_enterprise_install=True)


def test_uninstalling_deletes_the_token_and_keeps_the_history(
    installs: TenantInstallationStore, database: Database
) -> None:
    installs.save(_install())
    installs.delete_all(enterprise_id=None, team_id="T1")
    assert installs.find_installation(enterprise_id=None, team_id="T1") is None
    with database.read() as conn:
        row = conn.execute(select(installations)).one()
    assert (row.bot_token, row.key_id) == (None, None)
    assert row.revoked_at is not None
    assert installs.history(Tenant("", "T1")) == ["installed", "uninstalled"]
    installs.save(_install(token="xoxb-back"))  # a reinstall restores it
    assert installs.find_bot(enterprise_id=None, team_id="T1") is not None


def test_the_expiry_reads_back_in_utc(installs: TenantInstallationStore) -> None:
    at = int(datetime(2026, 12, 7, 20, 0, tzinfo=UTC).timestamp())
    installs.save(_install(expires_at=at))
    (expiring,) = installs.expiring_tokens()
    assert expiring.expires_at == datetime(2026, 12, 7, 20, 0, tzinfo=UTC)


def test_database_errors_reach_bolt_as_bolt_errors(
    installs: TenantInstallationStore, database: Database
) -> None:
    with database.write() as conn:
        conn.execute(text("DROP TABLE installation_events"))
    with pytest.raises(BoltError):
        installs.save(_install())


def test_other_keys_open_nothing(database: Database, installs: TenantInstallationStore) -> None:
    installs.save(_install())
    other = TenantInstallationStore(database, SecretBox([new_key()]))
    assert other.find_bot(enterprise_id=None, team_id="T1") is None
