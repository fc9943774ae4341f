"""Plain records of the connections: what is stored, what a link grants (owners are Tenants,
bot/tenant.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.tenant import Tenant

Status = Literal["active", "failing", "disabled"]


@dataclass(frozen=True, slots=True)
class Connection:
    """A stored connection, secrets still sealed; the store opens them on request."""

    id: int
    owner: Tenant
    base_url: str
    email: str
    connected_by: str
    connected_at: datetime
    status: Status
    session_expires_at: datetime | None = None
    last_good_poll_at: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class LinkGrant:
    """What an unused, unexpired connect link lets its holder do: connect for `tenant`."""

    nonce_hash: str
    tenant: Tenant
    user_id: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Account:
    """What the connect page stores once MetaKraftwerk accepted it; never logged."""

    base_url: str
    email: str
    password: str
    session_token: str
    session_expires_at: datetime

    def __repr__(self) -> str:
        return f"Account(base_url={self.base_url!r}, email={self.email!r}, <secrets>)"
