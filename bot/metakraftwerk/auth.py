"""Bearer tokens for MetaKraftwerk: a pasted token, or a login that renews itself.

MetaKraftwerk has no API keys and no refresh endpoint; tokens last about 20 hours. A bot that
holds a dedicated user's email and password therefore logs in lazily, logs in again about an
hour before the token expires, and once more when the server answers 401. Concurrent callers
share one login. Tokens and passwords live only in `Secret`s and never reach a log line.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.clock import Clock, Deadline
from bot.config import Secret
from bot.metakraftwerk.errors import BadResponse, Unavailable
from bot.metakraftwerk.single_flight import FlightTimeout, SingleFlight

log = logging.getLogger(__name__)

DEFAULT_LIFETIME = timedelta(hours=20)
RENEW_BEFORE = timedelta(hours=1)


class TokenSource(Protocol):
    """Where the Authorization header comes from."""

    @property
    def renewable(self) -> bool:
        """True when a 401 is worth a fresh login and one retry."""
        ...

    def token(self, deadline: Deadline) -> Secret | None: ...

    def invalidate(self, token: Secret | None) -> None:
        """The server refused `token`; forget it unless a newer one replaced it already."""
        ...


class NoToken:
    """No credentials at all: requests go out unauthenticated (and will meet 401)."""

    renewable = False

    def token(self, deadline: Deadline) -> Secret | None:
        return None

    def invalidate(self, token: Secret | None) -> None:
        return None


class StaticToken:
    """METAKRAFTWERK_TOKEN: used as is; when it is refused there is nothing to renew."""

    renewable = False

    def __init__(self, token: Secret) -> None:
        self._token = token

    def token(self, deadline: Deadline) -> Secret | None:
        return self._token

    def invalidate(self, token: Secret | None) -> None:
        return None

    def __repr__(self) -> str:
        return "StaticToken(<redacted>)"


@dataclass(frozen=True, slots=True)
class StoredSession:
    """A token from an earlier login and when it expires."""

    token: Secret
    expires_at: datetime


OnLogin = Callable[[Secret, datetime], None]  # a new token and its expiry, to be kept


class LoginSession:
    """Email/password: log in on first use, renew before expiry, share one login among threads.

    `login(deadline)` performs POST /authentication and returns the access token; the session
    only decides when to call it.
    """

    renewable = True

    def __init__(
        self,
        login: Callable[[Deadline], Secret],
        clock: Clock,
        *,
        default_lifetime: timedelta = DEFAULT_LIFETIME,
        renew_before: timedelta = RENEW_BEFORE,
        stored: StoredSession | None = None,
        on_login: OnLogin | None = None,
    ) -> None:
        """`stored` is a token kept from an earlier login (another process, a restart): it
        serves until its renewal time. `on_login` hears of every new token, to keep it."""
        self._login = login
        self._on_login = on_login
        self._clock = clock
        self._default_lifetime = default_lifetime
        self._renew_before = renew_before
        self._lock = threading.Lock()
        self._flight: SingleFlight[str, Secret] = SingleFlight()
        self._token: Secret | None = None
        self._renew_at: datetime | None = None
        self._expires_at: datetime | None = None
        self.logins = 0
        if stored is not None and stored.expires_at > clock.now():
            self._token = stored.token
            self._expires_at = stored.expires_at
            self._renew_at = stored.expires_at - min(
                renew_before, (stored.expires_at - clock.now()) / 2
            )

    def __repr__(self) -> str:
        return f"LoginSession(logged_in={self._token is not None}, expires_at={self._expires_at})"

    @property
    def expires_at(self) -> datetime | None:
        """When the current token expires (by its `exp` claim, or assumed), if logged in."""
        with self._lock:
            return self._expires_at

    def token(self, deadline: Deadline) -> Secret | None:
        current = self._valid_token()
        if current is not None:
            return current
        try:
            return self._flight.run(
                "login", lambda: self._login_if_needed(deadline), deadline.remaining() + 1.0
            ).value
        except FlightTimeout:
            raise Unavailable(
                f"MetaKraftwerk did not answer within {deadline.describe()}", cause="timeout"
            ) from None
        except (Unavailable, BadResponse) as exc:
            # Renewal starts an hour early; until the token expires, a failed login can wait.
            held = self._unexpired_token()
            if held is None:
                raise
            log.warning(
                "renewing the MetaKraftwerk login failed (%s); the current token serves until %s",
                exc.user_message,
                self._expires_at.isoformat(timespec="seconds") if self._expires_at else "?",
            )
            return held

    def resume(self, token: Secret, expires_at: datetime) -> None:
        """Use a token from an earlier login (kept sealed across restarts) until it is due for
        renewal, instead of logging in again; an expired one is ignored."""
        now = self._clock.now()
        if expires_at <= now:
            return
        renew_at = expires_at - min(self._renew_before, (expires_at - now) / 2)
        with self._lock:
            if self._token is None:
                self._token, self._expires_at, self._renew_at = token, expires_at, renew_at

    def current(self) -> tuple[Secret, datetime] | None:
        """The token held now and when it expires, to keep it across restarts."""
        with self._lock:
            if self._token is None or self._expires_at is None:
                return None
            return self._token, self._expires_at

    def invalidate(self, token: Secret | None) -> None:
        with self._lock:
            if token is not None and self._token is not None and self._token == token:
                self._token = None
                self._renew_at = None

    def _valid_token(self) -> Secret | None:
        with self._lock:
            if self._token is not None and self._renew_at and self._clock.now() < self._renew_at:
                return self._token
            return None

    def _unexpired_token(self) -> Secret | None:
        with self._lock:
            if (
                self._token is not None
                and self._expires_at
                and self._clock.now() < self._expires_at
            ):
                return self._token
            return None

    def _login_if_needed(self, deadline: Deadline) -> Secret:
        # A caller that saw no token may arrive just after another login finished.
        current = self._valid_token()
        if current is not None:
            return current
        renewing = self._token is not None
        token = self._login(deadline)
        now = self._clock.now()
        expires_at = self._expiry(token, now)
        lifetime = expires_at - now
        renew_at = expires_at - min(self._renew_before, lifetime / 2)
        with self._lock:
            self._token = token
            self._expires_at = expires_at
            self._renew_at = renew_at
            self.logins += 1
        if self._on_login is not None:
            self._on_login(token, expires_at)
        log.info(
            "%s MetaKraftwerk; the token expires at %s",
            "renewed the login to" if renewing else "logged in to",
            expires_at.isoformat(timespec="seconds"),
        )
        return token

    def _expiry(self, token: Secret, now: datetime) -> datetime:
        exp = jwt_expiry(token.value)
        if exp is None:
            return now + self._default_lifetime
        if exp <= now:
            log.warning(
                "the MetaKraftwerk token's expiry lies in the past by this host's clock; "
                "assuming %s instead",
                self._default_lifetime,
            )
            return now + self._default_lifetime
        return exp


def jwt_expiry(token: str) -> datetime | None:
    """The `exp` claim of a JWT, read without verifying it (the server verifies; we only plan)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError, RecursionError):
        return None
    if not isinstance(claims, dict):
        return None
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    try:
        return datetime.fromtimestamp(exp, UTC)
    except (OverflowError, OSError, ValueError):
        return None
