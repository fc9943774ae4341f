"""What uninstalling undoes: our own listeners for `app_uninstalled` and `tokens_revoked`.

Bolt's built-in revocation listeners only delete installation rows; here the bot token is
deleted at once (the row stays, marked revoked, with a history row), this process's authorize
cache forgets the tenant, and every hook registered with `on_stop` runs, so the parts that
poll, post or hold MetaKraftwerk secrets for the tenant stop at once. The tenant's
subscriptions, follows and digests stay for PURGE_GRACE_DAYS (a reinstall within it finds them
again); the purge job asks `tenants_to_purge` which tenants' time is up.
Slack sends the two events in no fixed order; either one revokes, both are recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_bolt import Ack, App, BoltContext
from sqlalchemy import select

from bot.install.authorize import TenantAuthorize
from bot.install.store import TenantInstallationStore
from bot.notify.store.database import Database
from bot.notify.store.schema import installations
from bot.tenant import Tenant

log = logging.getLogger(__name__)

PURGE_GRACE_DAYS = 30

StopTenant = Callable[[Tenant], None]


class Uninstalls:
    def __init__(self, store: TenantInstallationStore, authorize: TenantAuthorize) -> None:
        self._store = store
        self._authorize = authorize
        self._stops: list[StopTenant] = []

    def on_stop(self, stop: StopTenant) -> None:
        """Run `stop(tenant)` when a tenant's tokens are revoked: stop its polls and outbox
        rows, delete its MetaKraftwerk secrets. A hook that fails does not stop the others."""
        self._stops.append(stop)

    def revoke(self, tenant: Tenant, kind: str, user_id: str | None = None) -> None:
        self._store.revoke(tenant, kind, user_id)
        self._authorize.evict(tenant)
        for stop in self._stops:
            try:
                stop(tenant)
            except Exception:
                log.exception("stopping the work of %s failed", tenant.key())
        log.info("%s: %s", tenant.key(), kind)


def tenants_to_purge(
    database: Database, now: datetime, grace: timedelta = timedelta(days=PURGE_GRACE_DAYS)
) -> list[Tenant]:
    """Tenants revoked longer than `grace` ago and not reinstalled: their data may go."""
    with database.read() as conn:
        rows = conn.execute(select(installations.c.enterprise_id, installations.c.team_id).where(
            installations.c.revoked_at.is_not(None),
            installations.c.revoked_at < now - grace,
        )).all()
    return [Tenant(row.enterprise_id, row.team_id) for row in rows]


def tenant_of(context: BoltContext) -> Tenant:
    """The installation an event is for: an org-wide install's event names the org only when
    it is about the org install (lobu#1829: never both)."""
    return Tenant.of(context.enterprise_id, context.team_id, bool(context.is_enterprise_install))


def register_revocation(app: App, uninstalls: Uninstalls) -> None:
    """Our listeners in place of Bolt's `enable_token_revocation_listeners`."""

    def on_app_uninstalled(ack: Ack, context: BoltContext) -> None:
        ack()
        uninstalls.revoke(tenant_of(context), "uninstalled")

    def on_tokens_revoked(ack: Ack, event: dict[str, Any], context: BoltContext) -> None:
        ack()
        tokens = event.get("tokens")
        bots = tokens.get("bot") if isinstance(tokens, dict) else None
        if isinstance(bots, list) and bots:  # user ids of bot tokens; user tokens are not kept
            uninstalls.revoke(tenant_of(context), "tokens_revoked")

    app.event("app_uninstalled")(on_app_uninstalled)
    app.event("tokens_revoked")(on_tokens_revoked)
