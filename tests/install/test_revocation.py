"""Uninstalling: the token goes at once, the cache forgets, the hooks stop the tenant's work."""

from __future__ import annotations

from datetime import timedelta

from slack_sdk.oauth.installation_store import Installation

from bot.install.authorize import TenantAuthorize
from bot.install.revocation import Uninstalls, tenants_to_purge
from bot.install.store import TenantInstallationStore
from bot.notify.store.database import Database
from bot.tenant import Tenant
from tests.fakes.clock import FakeClock


def test_revoking_stops_the_tenant_and_the_purge_waits_for_the_grace(
    installs: TenantInstallationStore, database: Database, clock: FakeClock
) -> None:
    for team in ("T1", "T2"):
        installs.save(Installation(app_id="A1", team_id=team, bot_token=f"xoxb-{team}",
                                   bot_id="B", bot_user_id="UB", user_id="U1"))
    authorize = TenantAuthorize(installs)
    assert authorize.bot(Tenant("", "T1")) is not None  # cached now
    uninstalls = Uninstalls(installs, authorize)
    stopped: list[Tenant] = []

    def failing(tenant: Tenant) -> None:
        raise RuntimeError("a part that fails does not stop the others")

    uninstalls.on_stop(failing)
    uninstalls.on_stop(stopped.append)
    uninstalls.revoke(Tenant("", "T1"), "uninstalled")
    assert stopped == [Tenant("", "T1")]
    assert authorize.bot(Tenant("", "T1")) is None
    assert authorize.bot(Tenant("", "T2")) is not None
    assert tenants_to_purge(database, clock.now()) == []
    clock.advance(timedelta(days=31))
    assert tenants_to_purge(database, clock.now()) == [Tenant("", "T1")]
