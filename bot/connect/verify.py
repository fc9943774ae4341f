"""Check an account before it is stored: log in to MetaKraftwerk and list releases once.

Only an account that did both is worth storing: a typo in the password, an account without
access to releases or a host that is not MetaKraftwerk shows on the page, in a short fixed
text, while the admin is still there. The existing client does the HTTP (retries, deadline,
typed errors); the httpx client for the chosen base URL is injected, never redirected.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

import httpx

from bot.clock import Clock
from bot.config import Secret
from bot.connect.records import Account
from bot.logs import register_secrets
from bot.metakraftwerk.auth import DEFAULT_LIFETIME, LoginSession
from bot.metakraftwerk.client import MetaKraftwerkClient
from bot.metakraftwerk.errors import CredentialsRejected, MetaKraftwerkError, Unavailable
from bot.metakraftwerk.filter import ApiFilter

# The page's words for what went wrong: fixed texts, never what the server said.
WRONG_LOGIN = "MetaKraftwerk did not accept this email and password."
UNREACHABLE = "MetaKraftwerk could not be reached. Please try again in a minute."
NO_PASSWORD = "The stored password cannot be read with the current keys. Connect again."  # noqa: S105 - a message
UNREADABLE = "MetaKraftwerk answered in a way the bot cannot read. Is this the right address?"

HttpFor = Callable[[str], AbstractContextManager[httpx.Client]]


class NotVerified(Exception):
    """The account cannot be used; `reason` is one of the fixed texts above."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Verifier:
    """Logs in with an account on a base URL and lists its open releases once."""

    http_for: HttpFor  # an httpx client on that base URL, closed after the check
    clock: Clock
    deadline_seconds: float = 8.0

    def verify(self, base_url: str, email: str, password: str) -> Account:
        register_secrets([password])
        with self.http_for(base_url) as http:
            client = MetaKraftwerkClient(
                http, email=email, password=Secret(password),
                deadline_seconds=self.deadline_seconds, clock=self.clock,
            )
            deadline = client.new_deadline()
            try:
                client.list_releases(ApiFilter(closed=False), deadline=deadline)
                token = client.auth.token(deadline)
            except MetaKraftwerkError as exc:
                raise NotVerified(failure_reason(exc)) from None
        if token is None:
            raise NotVerified(UNREADABLE)
        register_secrets([token.value])
        return Account(
            base_url=base_url, email=email, password=password, session_token=token.value,
            session_expires_at=_expiry(client, self.clock.now()),
        )

    def log_in(self, base_url: str, email: str, password: str) -> tuple[str, datetime]:
        """A fresh session token and its expiry (renewal); raises NotVerified."""
        account = self.verify(base_url, email, password)
        return account.session_token, account.session_expires_at


def failure_reason(exc: MetaKraftwerkError) -> str:
    """The fixed text for what went wrong (the page and App Home show it; never the body)."""
    if isinstance(exc, CredentialsRejected):
        return WRONG_LOGIN
    if isinstance(exc, Unavailable):
        return UNREACHABLE
    return UNREADABLE


def _expiry(client: MetaKraftwerkClient, now: datetime) -> datetime:
    auth = client.auth
    expires_at = auth.expires_at if isinstance(auth, LoginSession) else None
    return expires_at or now + DEFAULT_LIFETIME

