"""A tenant: one Slack workspace, or a whole Enterprise Grid org, as Slack names them.

Installations (bot/install) and MetaKraftwerk connections (bot/connect) are both owned by one;
the requests' callers (bot/app/caller.py) name theirs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tenant:
    """('' for none) enterprise id and team id. An org-wide install, or an org's connection
    for all its workspaces, has no team: its key is (enterprise, ''), so a workspace of that
    org with its own row never shares it (uninstalling one leaves the other as it is)."""

    enterprise_id: str
    team_id: str

    @classmethod
    def of(
        cls, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool = False
    ) -> Tenant:
        return cls(enterprise_id or "", "" if is_enterprise_install else team_id or "")

    @property
    def is_enterprise_install(self) -> bool:
        return bool(self.enterprise_id) and not self.team_id

    def key(self, separator: str = "/") -> str:
        """Enterprise and team joined by `separator`; a store binds its sealed secrets to this,
        each with its own separator (bot/notify/store/sealed_fields.py names them)."""
        return f"{self.enterprise_id}{separator}{self.team_id}"

    def org(self) -> Tenant | None:
        """The org-wide tenant that also serves this workspace, if it is in an org."""
        if self.enterprise_id and self.team_id:
            return Tenant(self.enterprise_id, "")
        return None
