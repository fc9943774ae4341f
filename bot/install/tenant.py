"""Which installation a request or an install belongs to: a workspace or a Grid org."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tenant:
    """The key of one installation row: ('' for none) enterprise id and team id.

    An org-wide install has no team: its key is (enterprise, ''), so a workspace of that org
    installed on its own (enterprise, team) never shares its row (uninstalling one leaves the
    other as it is)."""

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

    @property
    def row_key(self) -> str:
        """What a sealed token of this row is bound to."""
        return f"{self.enterprise_id}/{self.team_id}"

    def org(self) -> Tenant | None:
        """The org-wide install that also serves this workspace, if it is in an org."""
        if self.enterprise_id and self.team_id:
            return Tenant(self.enterprise_id, "")
        return None
