"""Renew connections' session tokens before they expire, keeping them sealed in the store.

A token is renewed at a time the schedule (bot/connect/schedule.py) picks between 65 % and 85 %
of its lifetime, drawn from the connection's id and expiry: the same in every process and after
a restart, different between connections. So a deploy logs nobody in, and a fleet of
connections made at once renews over hours. A failed renewal is recorded on the connection
(App Home shows it); the old token serves until it expires.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime

from bot.clock import Clock
from bot.connect.records import Connection
from bot.connect.schedule import JITTER_SHARE, RENEW_AT_SHARE, renew_at
from bot.connect.store import ConnectionStore
from bot.connect.verify import NO_PASSWORD, NotVerified, Verifier
from bot.metakraftwerk.auth import DEFAULT_LIFETIME
from bot.secret_box import SecretError

log = logging.getLogger(__name__)

RENEWALS_PER_ROUND = 50


def renewal_time(connection: Connection) -> datetime | None:
    """When this connection's token is due; None when it has none (due at once)."""
    expires_at = connection.session_expires_at
    if expires_at is None:
        return None
    issued_at = max(expires_at - DEFAULT_LIFETIME, connection.connected_at)
    if issued_at >= expires_at:
        issued_at = expires_at - DEFAULT_LIFETIME
    rng = random.Random(f"{connection.id}:{expires_at.isoformat()}")
    return renew_at(issued_at, expires_at, rng)


@dataclass(frozen=True, slots=True)
class RenewalRound:
    renewed: tuple[int, ...] = ()
    failed: tuple[int, ...] = ()


class SessionRenewer:
    """Logs in again for the connections whose token is due, saving each new token sealed."""

    def __init__(self, store: ConnectionStore, verifier: Verifier, clock: Clock) -> None:
        self._store = store
        self._verifier = verifier
        self._clock = clock

    def due(self, now: datetime) -> list[Connection]:
        earliest = DEFAULT_LIFETIME * (1 - RENEW_AT_SHARE + JITTER_SHARE)
        candidates = self._store.sessions_expiring(now + earliest, limit=RENEWALS_PER_ROUND * 4)
        due = []
        for connection in candidates:
            at = renewal_time(connection)
            if at is None or at <= now:
                due.append(connection)
        return due[:RENEWALS_PER_ROUND]

    def run_once(self) -> RenewalRound:
        renewed: list[int] = []
        failed: list[int] = []
        for connection in self.due(self._clock.now()):
            if self._renew(connection):
                renewed.append(connection.id)
            else:
                failed.append(connection.id)
        return RenewalRound(tuple(renewed), tuple(failed))

    def _renew(self, connection: Connection) -> bool:
        try:
            password = self._store.password(connection)
        except SecretError:
            self._store.record_error(connection, NO_PASSWORD)
            log.warning("connection %d: the password does not open with SECRET_KEYS",
                        connection.id)
            return False
        try:
            token, expires_at = self._verifier.log_in(
                connection.base_url, connection.email, password
            )
        except NotVerified as failed:
            self._store.record_error(connection, failed.reason)
            log.warning("connection %d: renewing the login failed: %s", connection.id,
                        failed.reason)
            return False
        self._store.save_session(connection, token, expires_at)
        self._store.record_good(connection)
        log.info("connection %d: renewed its login until %s", connection.id,
                 expires_at.isoformat(timespec="seconds"))
        return True
