"""The worker lease as one worker sees it: take it each round, keep it alive, hand it back.

The lease is short (`lease_timing`), so a successor takes over within one poll interval when
a worker dies: a heartbeat thread renews it while the worker runs, between rounds too, and
checks on PostgreSQL that the session lock's connection is alive. A graceful stop hands the
lease back at once.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.notify.records import Lease, LeaseLost
from bot.notify.store.leases import LeaseRepository

log = logging.getLogger(__name__)

LEASE_NAME = "releases-bot:worker"
HEARTBEAT_MIN_SECONDS = 0.5
HEARTBEAT_MAX_SECONDS = 5.0
LEASE_HEARTBEATS = 3  # heartbeats a lease outlives: a missed one or two do not lose it


def lease_timing(poll_interval_seconds: float) -> tuple[float, timedelta]:
    """(heartbeat seconds, lease TTL): a third of the poll interval, at most 5 s, and a lease
    of three heartbeats, so a dead worker's lease runs out well within one poll interval."""
    beat = min(HEARTBEAT_MAX_SECONDS, max(HEARTBEAT_MIN_SECONDS, poll_interval_seconds / 3))
    return beat, timedelta(seconds=beat * LEASE_HEARTBEATS)


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
        self._session = leases.session_lock(LEASE_NAME)
        # The heartbeat thread and the round share the session lock's connection.
        self._guard = threading.RLock()
        self._leading = False
        self._lost = False
        self._renewed_at: datetime | None = None
        self._waiting_for: str | None = None
        self._beat_stop = threading.Event()
        self._beat: threading.Thread | None = None

    @property
    def leading(self) -> bool:
        return self._leading

    def take(self) -> bool:
        """Take or extend the lease for this round; False (logged once) while another has it."""
        with self._guard:
            if self._acquire():
                if not self._leading:
                    log.info("worker %s holds the worker lease and runs the rounds",
                             self.holder_id)
                self._leading, self._lost, self._waiting_for = True, False, None
                self._renewed_at = self._clock.now()
                return True
            holder = self._holder() or "another worker"
            if self._leading:
                log.warning("worker %s lost the lease to %s", self.holder_id, holder)
            if holder != self._waiting_for:
                log.info(
                    "worker %s waits: %s runs the rounds; taking over when it stops or its "
                    "lease (%.0f s) runs out", self.holder_id, holder, self.ttl.total_seconds(),
                )
            self._leading, self._waiting_for = False, holder
            return False

    def _holder(self) -> str | None:
        """Who leads, for the log. On PostgreSQL the lock's winner may not have written its
        row yet: give it a moment."""
        for _ in range(10):
            holder = self._leases.holder(LEASE_NAME)
            if holder is not None or self._session is None:
                return holder
            time.sleep(0.1)
        return None

    def _acquire(self) -> bool:
        if self._session is None:
            return self._leases.acquire(self.lease, self.ttl)
        if not self._session.try_take():
            return False
        # The lock is ours, so whoever the row names has lost its session: take it over.
        return self._leases.acquire(self.lease, self.ttl, force=True)

    def keep(self) -> None:
        """Extend the lease during a long round; LeaseLost if it was lost meanwhile."""
        if self._lost:
            raise LeaseLost(f"lease {LEASE_NAME!r} is not held by {self.holder_id!r}")
        now = self._clock.now()
        if self._renewed_at is not None and now - self._renewed_at < self.ttl / 4:
            return
        with self._guard:
            if not self._renew():
                self._lost = True
                raise LeaseLost(f"lease {LEASE_NAME!r} is not held by {self.holder_id!r}")
            self._renewed_at = now

    def _renew(self) -> bool:
        if self._session is not None and not self._session.alive():
            return False
        return self._leases.renew(self.lease, self.ttl)

    def start_heartbeat(self, seconds: float) -> None:
        """Renew the lease every `seconds` while leading, in a thread of its own, so neither a
        long round nor the pause between rounds lets it run out."""
        if self._beat is not None:
            return
        self._beat_stop.clear()
        self._beat = threading.Thread(
            target=self._heartbeat, args=(seconds,), name="lease-heartbeat", daemon=True
        )
        self._beat.start()

    def _heartbeat(self, seconds: float) -> None:
        while not self._beat_stop.wait(seconds):
            if not self._leading or self._lost:
                continue
            try:
                with self._guard:
                    if self._beat_stop.is_set() or not self._leading:
                        continue
                    if self._renew():
                        self._renewed_at = self._clock.now()
                        continue
                    self._lost = True
                log.warning("worker %s: the heartbeat found the lease lost; the current "
                            "step stops", self.holder_id)
            except Exception as exc:
                log.warning("worker %s: the lease heartbeat failed (%s); trying again in "
                            "%.1f s", self.holder_id, type(exc).__name__, seconds)

    def lost(self) -> None:
        log.warning("worker %s lost its lease mid-round; stopping this round", self.holder_id)
        with self._guard:
            self._leading = False
            if self._session is not None:
                self._session.release()

    def hand_back(self) -> None:
        """Give the lease back at once, so a successor need not wait for it to expire."""
        self._beat_stop.set()
        if self._beat is not None:
            self._beat.join(timeout=5)
            self._beat = None
        with self._guard:
            if self._leading:
                try:
                    self._leases.release(self.lease)
                except Exception:
                    log.warning("could not hand back the worker lease", exc_info=True)
                self._leading = False
            if self._session is not None:
                self._session.release()
