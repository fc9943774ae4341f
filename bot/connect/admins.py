"""Who may connect, test and disconnect MetaKraftwerk: a pure rule over Slack's users.info.

The installer and the workspace's (or org's) owners and admins; never a guest
(`is_restricted`, `is_ultra_restricted`), a bot, a deactivated user, or anyone of another
organisation (a Slack Connect user is looked up in their own team). Asked again on every
admin action: a flag read once would outlive a demotion.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.tenant import Tenant


def same_organisation(user: Mapping[str, Any], tenant: Tenant) -> bool:
    """The user's home is the tenant's workspace, or the tenant's Grid org."""
    if tenant.team_id and user.get("team_id") == tenant.team_id:
        return True
    enterprise = user.get("enterprise_user")
    return bool(
        tenant.enterprise_id
        and isinstance(enterprise, Mapping)
        and enterprise.get("enterprise_id") == tenant.enterprise_id
    )


def may_administer(user: Mapping[str, Any], tenant: Tenant, installer: str | None = None) -> bool:
    """True for the installer, owners and admins of `tenant`; False for everyone else."""
    if not user.get("id") or user.get("deleted") or user.get("is_bot"):
        return False
    if user.get("is_restricted") or user.get("is_ultra_restricted"):
        return False
    if not same_organisation(user, tenant):
        return False
    if installer is not None and user.get("id") == installer:
        return True
    enterprise = user.get("enterprise_user")
    org_admin = isinstance(enterprise, Mapping) and bool(
        enterprise.get("is_admin") or enterprise.get("is_owner")
    )
    return bool(
        user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner") or org_admin
    )
