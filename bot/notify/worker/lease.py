"""The worker lease as one worker sees it: take it each round, extend it, hand it back."""

from __future__ import annotations

import logging
import os
import secrets
import socket
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.notify.records import Lease, LeaseLost
from bot.notify.store.leases import LeaseRepository

log = logging.getLogger(__name__)

LEASE_NAME = "releases-bot:worker"
MIN_LEASE_TTL = timedelta(minutes=3)


def default_holder_id() -> str:
    """Unique per process, readable in logs: `host:pid:random`."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class LeaseKeeper:
    """Without the lease a round does nothing, so two workers never post the same thing."""

    def __init__(
        self, leases: LeaseRepository, holder_id: str, ttl: timedelta, clock: Clock
    ) -> None:
        self._leases = leases
        self.holder_id = holder_id
        self.lease = Lease(LEASE_NAME, holder_id)
        self.ttl = ttl
        self._clock = clock
        self._leading = False
        self._renewed_at: datetime | None = None
        self._waiting_for: str | None = None

    def take(self) -> bool:
        """Take or extend the lease for this round; False (logged once) while another has it."""
        if self._leases.acquire(self.lease, self.ttl):
            if not self._leading:
                log.info("worker %s holds the worker lease and runs the rounds", self.holder_id)
            self._leading, self._waiting_for = True, None
            self._renewed_at = self._clock.now()
            return True
        holder = self._leases.holder(LEASE_NAME) or "another worker"
        if self._leading:
            log.warning("worker %s lost the lease to %s", self.holder_id, holder)
        if holder != self._waiting_for:
            log.info(
                "worker %s waits: %s runs the rounds; taking over if its lease (%.0f s) "
                "runs out", self.holder_id, holder, self.ttl.total_seconds(),
            )
        self._leading, self._waiting_for = False, holder
        return False

    def keep(self) -> None:
        """Extend the lease during a long delivery; LeaseLost if another worker took it."""
        now = self._clock.now()
        if self._renewed_at is not None and now - self._renewed_at < self.ttl / 4:
            return
        if not self._leases.renew(self.lease, self.ttl):
            raise LeaseLost(f"lease {LEASE_NAME!r} is not held by {self.holder_id!r}")
        self._renewed_at = now

    def lost(self) -> None:
        log.warning("worker %s lost its lease mid-round; stopping this round", self.holder_id)
        self._leading = False

    def hand_back(self) -> None:
        """Give the lease back at once, so a successor need not wait for it to expire."""
        if self._leading:
            try:
                self._leases.release(self.lease)
            except Exception:
                log.warning("could not hand back the worker lease", exc_info=True)
            self._leading = False
