"""Authorize reads the store through a short cache and asks Slack nothing."""

from __future__ import annotations

from slack_bolt import BoltContext
from slack_sdk.oauth.installation_store import Installation

from bot.install.authorize import TenantAuthorize
from bot.install.store import TenantInstallationStore
from bot.tenant import Tenant


class Timer:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _save(installs: TenantInstallationStore, team: str | None, token: str,
          enterprise: str | None = None, org: bool = False) -> None:
    installs.save(Installation(
        app_id="A1", enterprise_id=enterprise, team_id=team, bot_token=token, bot_id="B1",
        bot_user_id="UB1", bot_scopes="commands", user_id="U1", is_enterprise_install=org,
    ))


def _ask(authorize: TenantAuthorize, team: str | None, enterprise: str | None = None,
         org: bool = False) -> str | None:
    context = BoltContext()
    context["is_enterprise_install"] = org
    result = authorize(context=context, enterprise_id=enterprise, team_id=team, user_id="U2")
    return None if result is None else result.bot_token


def test_each_team_gets_its_own_token(installs: TenantInstallationStore) -> None:
    _save(installs, "T1", "xoxb-one")
    _save(installs, "T2", "xoxb-two")
    authorize = TenantAuthorize(installs)
    assert (_ask(authorize, "T1"), _ask(authorize, "T2"), _ask(authorize, "T3")) == (
        "xoxb-one", "xoxb-two", None)


def test_the_cache_holds_for_its_ttl_and_eviction_is_immediate(
    installs: TenantInstallationStore,
) -> None:
    timer = Timer()
    _save(installs, "T1", "xoxb-one")
    authorize = TenantAuthorize(installs, ttl_seconds=45, timer=timer)
    assert _ask(authorize, "T1") == "xoxb-one"
    _save(installs, "T1", "xoxb-new")
    assert _ask(authorize, "T1") == "xoxb-one"  # cached
    timer.now = 46
    assert _ask(authorize, "T1") == "xoxb-new"
    installs.delete_all(enterprise_id=None, team_id="T1")
    assert _ask(authorize, "T1") == "xoxb-new"  # still cached ...
    authorize.evict(Tenant("", "T1"))
    assert _ask(authorize, "T1") is None  # ... until uninstalling evicts it


def test_a_team_installed_elsewhere_is_found_at_once(installs: TenantInstallationStore) -> None:
    authorize = TenantAuthorize(installs, timer=Timer())
    assert _ask(authorize, "T1") is None
    _save(installs, "T1", "xoxb-one")  # by another web process: no eviction here
    assert _ask(authorize, "T1") == "xoxb-one"


def test_an_org_wide_install_serves_its_workspaces(installs: TenantInstallationStore) -> None:
    _save(installs, None, "xoxb-org", enterprise="E1", org=True)
    authorize = TenantAuthorize(installs)
    assert _ask(authorize, "T5", enterprise="E1", org=True) == "xoxb-org"
    assert _ask(authorize, "T5", enterprise="E1") == "xoxb-org"  # through the org's row
    assert _ask(authorize, "T5", enterprise="E2") is None
