"""The claiming worker: claim due connections, poll them on a bounded pool, commit fenced.

One loop per process claims only as many connections as the pool has free threads, so nothing
it holds waits for a thread while its lease runs. A renewal thread extends the leases of the
polls in flight every third of a lease, in one statement, so a slow poll keeps its connection;
a poll whose lease was lost anyway finds out at its commit (ClaimLost) and writes nothing.
Stopping finishes the polls in flight and gives back claims that never started.
"""

from __future__ import annotations

import logging
import random as _random
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from bot.notify.scale.cadence import Cadence, after_failure, after_success
from bot.notify.scale.claims import ScheduleClaims
from bot.notify.scale.host_limits import HostLimits
from bot.notify.scale.records import Claim, ClaimLost, Polled
from bot.notify.store.trouble import StoreUnavailable

log = logging.getLogger(__name__)

# 15 s: renewed every 5 s, a lease outlives two missed renewals; a dead worker's connections
# are polled again within 15 s, a quarter of the 60 s base interval. The leader lease of the
# single worker has the same length at production intervals (`bot.notify.worker.lease`).
DEFAULT_LEASE_SECONDS = 15.0

Poll = Callable[[Claim], Polled]


def _one_host(_connection_id: str) -> str:
    return "metakraftwerk"


def _nobody(_connection_id: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class ClaimSettings:
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    pool_size: int = 16  # polls in flight per process; ~33 polls/s at 300 ms need about 10
    idle_seconds: float = 1.0  # how long to wait when nothing is due
    cadence: Cadence = field(default_factory=Cadence)

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.lease_seconds)


class ClaimingWorker:
    """Any number of these, in any number of processes, share the schedule rows."""

    def __init__(
        self,
        claims: ScheduleClaims,
        poll: Poll,
        *,
        owner: str,
        settings: ClaimSettings | None = None,
        host_limits: HostLimits | None = None,
        host_of: Callable[[str], str] = _one_host,
        random: Callable[[], float] = _random.random,
        on_failing: Callable[[str], None] = _nobody,
    ) -> None:
        self._claims = claims
        self._poll = poll
        self.owner = owner
        self.settings = settings or ClaimSettings()
        self._hosts = host_limits or HostLimits()
        self._host_of = host_of
        self._random = random
        self._on_failing = on_failing
        self._lock = threading.Lock()
        self._held: dict[str, Claim] = {}
        self._pool = ThreadPoolExecutor(self.settings.pool_size, thread_name_prefix="poll")
        self._futures: dict[Future[None], Claim] = {}
        self._freed = threading.Event()

    def in_flight(self) -> int:
        with self._lock:
            return len(self._held)

    def run(self, stop: threading.Event) -> None:
        """Claim and poll until `stop` is set; then finish what is in flight and return."""
        renewing = threading.Event()
        renewer = threading.Thread(
            target=self._renew_loop, args=(renewing,), name="lease-renewal", daemon=True
        )
        renewer.start()
        log.info("claiming worker %s started (pool %d, lease %.0f s)", self.owner,
                 self.settings.pool_size, self.settings.lease_seconds)
        try:
            while not stop.is_set():
                self._freed.clear()
                claimed = self.step()
                if self.in_flight() >= self.settings.pool_size:
                    self._freed.wait(self.settings.idle_seconds)  # a poll ends: claim again
                elif claimed == 0:
                    stop.wait(self.settings.idle_seconds)
        finally:
            self._shutdown()
            renewing.set()
            renewer.join(timeout=self.settings.lease_seconds)
            log.info("claiming worker %s stopped", self.owner)

    def step(self) -> int:
        """One claim: as many due connections as there are free threads, each set polling.
        How many were claimed; 0 also when the database is away for now."""
        free = self.settings.pool_size - self.in_flight()
        if free <= 0:
            return 0
        try:
            taken = self._claims.claim_due(self.owner, free, self.settings.lease)
        except StoreUnavailable as exc:
            log.warning("claiming worker %s: could not claim (%s)", self.owner, exc)
            return 0
        for claim in taken:
            with self._lock:
                self._held[claim.connection_id] = claim
            future = self._pool.submit(self._poll_one, claim)
            with self._lock:
                self._futures[future] = claim
            future.add_done_callback(self._forget_future)
        return len(taken)

    def _forget_future(self, future: Future[None]) -> None:
        with self._lock:
            self._futures.pop(future, None)

    def _poll_one(self, claim: Claim) -> None:
        try:
            self._poll_and_commit(claim)
        finally:
            with self._lock:
                self._held.pop(claim.connection_id, None)
            self._freed.set()

    def _poll_and_commit(self, claim: Claim) -> None:
        cadence = self.settings.cadence
        try:
            with self._hosts.slot(self._host_of(claim.connection_id)):
                polled = self._poll(claim)
            now = self._claims.now()
            quiet = (
                timedelta(0) if polled.changed or claim.last_change_at is None
                else now - claim.last_change_at
            )
            nxt = after_success(cadence, claim.interval_seconds, quiet, self._random())
            self._claims.commit(
                claim, polled.write, next_poll_at=now + timedelta(seconds=nxt.delay_seconds),
                changed=polled.changed,
            )
            return
        except ClaimLost as lost:
            log.warning("claiming worker %s: %s; its poll is dropped", self.owner, lost)
            return
        except Exception as exc:  # the poll or its writes failed: back off, never crash
            error = type(exc).__name__
            log.warning("claiming worker %s: polling %s failed (%s)", self.owner,
                        claim.connection_id, error)
        nxt = after_failure(cadence, claim.interval_seconds, claim.consecutive_failures,
                            self._random())
        try:
            self._claims.release_failed(
                claim, error,
                next_poll_at=self._claims.now() + timedelta(seconds=nxt.delay_seconds),
                status=nxt.status,
            )
        except (ClaimLost, StoreUnavailable) as exc:
            log.warning("claiming worker %s: could not record the failure of %s (%s); its "
                        "lease runs out instead", self.owner, claim.connection_id,
                        type(exc).__name__)
            return
        if nxt.became_failing:
            self._on_failing(claim.connection_id)

    def renew_held(self) -> set[str]:
        """Extend the leases of the polls in flight; the ids whose lease was already lost."""
        with self._lock:
            held = list(self._held.values())
        if not held:
            return set()
        renewed = self._claims.renew(held, self.settings.lease)
        lost = {c.connection_id for c in held} - renewed
        with self._lock:
            lost &= set(self._held)  # a poll that committed meanwhile did not lose anything
        for connection_id in sorted(lost):
            log.warning("claiming worker %s: the lease of %s ran out mid-poll", self.owner,
                        connection_id)
        return lost

    def _renew_loop(self, stop: threading.Event) -> None:
        while not stop.wait(self.settings.lease_seconds / 3):
            try:
                self.renew_held()
            except Exception as exc:
                log.warning("claiming worker %s: lease renewal failed (%s)", self.owner,
                            type(exc).__name__)

    def _shutdown(self) -> None:
        with self._lock:
            waiting = dict(self._futures)
        self._pool.shutdown(wait=True, cancel_futures=True)
        never_started = [claim for future, claim in waiting.items() if future.cancelled()]
        if never_started:
            try:
                self._claims.give_back(never_started)
            except StoreUnavailable:
                log.warning("claiming worker %s: could not give back %d claims; their leases "
                            "run out instead", self.owner, len(never_started))
