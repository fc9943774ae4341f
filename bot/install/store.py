"""The installation store Bolt's OAuth flow saves into, on the project's tables and migrations.

slack_sdk's SQLAlchemyInstallationStore keeps tokens in plain text, adds a row on each
reinstall and creates its tables outside our migrations; this one keeps one row per tenant,
updated in place, with the bot token sealed for that row (bot/secret_box.py) and a history row
for each install, reinstall and revocation. Bolt turns only BoltError into its failure page,
so every database error leaves here as one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_bolt.error import BoltError
from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore
from sqlalchemy import Connection, Row, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from bot.notify.store.database import Database
from bot.notify.store.schema import installation_events, installations
from bot.notify.store.trouble import StoreUnavailable
from bot.secret_box import SecretBox, SecretError, context_of
from bot.tenant import Tenant

log = logging.getLogger(__name__)

TOKEN_FIELD = "bot_token"  # noqa: S105 - a column name
# The row's enterprise and team are joined by this in the token's context: changing it would leave
# every stored token unopenable (bot/notify/store/sealed_fields.py says the same).
ROW_SEPARATOR = "/"


@dataclass(frozen=True, slots=True)
class InstalledBot:
    """What a request needs of its installation; the token opened."""

    tenant: Tenant
    bot_token: str
    bot_id: str | None
    bot_user_id: str | None
    bot_scopes: tuple[str, ...]
    app_id: str | None


@dataclass(frozen=True, slots=True)
class ExpiringToken:
    tenant: Tenant
    expires_at: datetime


@contextmanager
def _as_bolt_error(doing: str) -> Iterator[None]:
    try:
        yield
    except (SQLAlchemyError, StoreUnavailable) as exc:
        log.warning("installation store: %s failed: %s", doing, type(exc).__name__)
        raise BoltError(f"the installation store could not {doing}") from None


class TenantInstallationStore(InstallationStore):
    """slack_sdk's InstallationStore interface; bot tokens only (the app asks no user scopes)."""

    def __init__(self, database: Database, box: SecretBox) -> None:
        self._db = database
        self._box = box

    @property
    def logger(self) -> logging.Logger:
        return log

    # -- saving ---------------------------------------------------------------------------------
    def save(self, installation: Installation) -> None:
        self._save(
            installation.to_bot(),
            installer=installation.user_id,
            enterprise_name=installation.enterprise_name,
        )

    def save_bot(self, bot: Bot) -> None:
        self._save(bot, installer=None, enterprise_name=bot.enterprise_name)

    def _save(self, bot: Bot, *, installer: str | None, enterprise_name: str | None) -> None:
        tenant = Tenant.of(bot.enterprise_id, bot.team_id, bool(bot.is_enterprise_install))
        if not bot.bot_token:
            raise BoltError("an installation without a bot token cannot be saved")
        scopes = ",".join(bot.bot_scopes or [])
        expires = (
            datetime.fromtimestamp(bot.bot_token_expires_at, UTC)
            if bot.bot_token_expires_at else None
        )
        values: dict[str, Any] = {
            "enterprise_name": enterprise_name,
            "team_name": bot.team_name,
            "is_enterprise_install": tenant.is_enterprise_install,
            "app_id": bot.app_id,
            "bot_id": bot.bot_id,
            "bot_user_id": bot.bot_user_id,
            "bot_scopes": scopes,
            "bot_token": self._box.seal(bot.bot_token, _context(tenant)),
            "key_id": self._box.current_key_id,
            "bot_token_expires_at": expires,
            "revoked_at": None,
        }
        if installer:
            values["installer_user_id"] = installer
        with _as_bolt_error("save an installation"), self._db.write() as conn:
            self._db.take_turns(conn, f"installation:{tenant.key(ROW_SEPARATOR)}")
            now = self._db.now()
            before = _row(conn, tenant)
            if before is None:
                conn.execute(insert(installations).values(
                    enterprise_id=tenant.enterprise_id, team_id=tenant.team_id,
                    installed_at=now, updated_at=now, **values,
                ))
                _event(conn, tenant, "installed", installer, now)
                return
            conn.execute(update(installations).where(installations.c.id == before.id).values(
                updated_at=now, **values,
            ))
            _event(conn, tenant, "reinstalled", installer, now)
            if set(before.bot_scopes.split(",")) != set(scopes.split(",")):
                _event(conn, tenant, "scopes_changed", installer, now)

    # -- finding --------------------------------------------------------------------------------
    def bot_of(self, tenant: Tenant) -> InstalledBot | None:
        """The live installation of `tenant` with its token opened; None when none is."""
        with _as_bolt_error("read an installation"), self._db.read() as conn:
            row = _row(conn, tenant)
        if row is None or row.bot_token is None or row.revoked_at is not None:
            return None
        try:
            token = self._box.open(row.bot_token, _context(tenant))
        except SecretError as exc:
            log.error("installation %s: its bot token does not open: %s", tenant.key(), exc)
            return None
        return InstalledBot(
            tenant=tenant, bot_token=token, bot_id=row.bot_id, bot_user_id=row.bot_user_id,
            bot_scopes=tuple(s for s in row.bot_scopes.split(",") if s), app_id=row.app_id,
        )

    def installer(self, tenant: Tenant) -> tuple[str | None, str | None]:
        """Who installed the app for `tenant` (its own row, else its org's) and the app's id;
        (None, None) when nobody did. Opens no token."""
        for candidate in (tenant, tenant.org()):
            if candidate is None:
                continue
            with _as_bolt_error("read an installation"), self._db.read() as conn:
                row = _row(conn, candidate)
            if row is not None and row.revoked_at is None:
                return row.installer_user_id, row.app_id
        return None, None

    def find_bot(
        self, *, enterprise_id: str | None, team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        tenant = Tenant.of(enterprise_id, team_id, bool(is_enterprise_install))
        found = self.bot_of(tenant)
        if found is None:
            return None
        return Bot(
            app_id=found.app_id, enterprise_id=enterprise_id, team_id=tenant.team_id or None,
            bot_token=found.bot_token, bot_id=found.bot_id or "",
            bot_user_id=found.bot_user_id or "", bot_scopes=list(found.bot_scopes),
            is_enterprise_install=tenant.is_enterprise_install, installed_at=0.0,
        )

    def find_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        tenant = Tenant.of(enterprise_id, team_id, bool(is_enterprise_install))
        found = self.bot_of(tenant)
        if found is None:
            return None
        with _as_bolt_error("read an installation"), self._db.read() as conn:
            row = _row(conn, tenant)
        installer = row.installer_user_id if row is not None else None
        if user_id is not None and user_id != installer:
            return None  # no user tokens are kept: only the installer's row exists
        return Installation(
            app_id=found.app_id, enterprise_id=enterprise_id, team_id=tenant.team_id or None,
            bot_token=found.bot_token, bot_id=found.bot_id, bot_user_id=found.bot_user_id,
            bot_scopes=list(found.bot_scopes), user_id=installer or "",
            is_enterprise_install=tenant.is_enterprise_install,
        )

    def expiring_tokens(self) -> list[ExpiringToken]:
        """Live installations whose bot token expires (token rotation, which is not built)."""
        with _as_bolt_error("read the installations"), self._db.read() as conn:
            rows = conn.execute(select(installations).where(
                installations.c.bot_token_expires_at.is_not(None),
                installations.c.revoked_at.is_(None),
            )).all()
        return [
            ExpiringToken(Tenant(r.enterprise_id, r.team_id), r.bot_token_expires_at)
            for r in rows
        ]

    def history(self, tenant: Tenant) -> list[str]:
        with _as_bolt_error("read the history"), self._db.read() as conn:
            return list(conn.execute(select(installation_events.c.kind).where(
                installation_events.c.enterprise_id == tenant.enterprise_id,
                installation_events.c.team_id == tenant.team_id,
            ).order_by(installation_events.c.id)).scalars())

    # -- revoking -------------------------------------------------------------------------------
    def revoke(self, tenant: Tenant, kind: str, user_id: str | None = None) -> bool:
        """Delete the token now, mark the row revoked, write `kind` in the history.

        True when a live token was deleted; the history row is written either way (Slack
        sends app_uninstalled and tokens_revoked in no fixed order)."""
        with _as_bolt_error("revoke an installation"), self._db.write() as conn:
            now = self._db.now()
            done = conn.execute(update(installations).where(
                installations.c.enterprise_id == tenant.enterprise_id,
                installations.c.team_id == tenant.team_id,
                installations.c.bot_token.is_not(None),
            ).values(bot_token=None, key_id=None, revoked_at=now, updated_at=now)).rowcount
            if _row(conn, tenant) is not None:
                _event(conn, tenant, kind, user_id, now)
        return bool(done)

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self.revoke(Tenant.of(enterprise_id, team_id, not team_id), "tokens_revoked")

    def delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        if user_id is None:  # no user tokens are kept: only the bot's token is the install's
            self.delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    def delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self.revoke(Tenant.of(enterprise_id, team_id, not team_id), "uninstalled")


def _context(tenant: Tenant) -> str:
    return context_of(installations.name, TOKEN_FIELD, tenant.key(ROW_SEPARATOR))


def _row(conn: Connection, tenant: Tenant) -> Row[Any] | None:
    return conn.execute(select(installations).where(
        installations.c.enterprise_id == tenant.enterprise_id,
        installations.c.team_id == tenant.team_id,
    )).first()


def _event(conn: Connection, tenant: Tenant, kind: str, user_id: str | None, at: datetime) -> None:
    conn.execute(insert(installation_events).values(
        enterprise_id=tenant.enterprise_id, team_id=tenant.team_id, kind=kind, user_id=user_id,
        at=at,
    ))
