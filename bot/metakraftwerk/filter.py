"""The parameters of one GET /api/v1/releases call, which the cache also uses as its key."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ApiFilter:
    """One call of GET /api/v1/releases; hashable, so it is also the cache key."""

    group: str | None = None
    group_id: int | None = None
    name: str | None = None
    closed: bool | None = None

    def params(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.group is not None:
            out["group"] = self.group
        if self.group_id is not None:
            out["group_id"] = str(self.group_id)
        if self.name is not None:
            out["name"] = self.name
        if self.closed is not None:
            out["closed"] = "true" if self.closed else "false"
        return out
