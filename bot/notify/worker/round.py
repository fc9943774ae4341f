"""The notification worker: poll MetaKraftwerk, record what changed, post it to Slack.

One round (`poll_once`):

1. Take or extend the worker lease. Without it the round does nothing: a second worker waits
   (and says so once in the log) until the first stops or its lease expires, so two workers
   never post the same thing.
2. Fetch every release in one call, bypassing the cache. A stale answer (the API failed and
   older data stood in), a failed call, or an answer that looks like a glitch (an empty list
   where there were many releases) is never compared: the round skips change detection.
3. `plan_poll`, then `Store.outbox.commit_poll`: the new snapshot and the outbox rows for the
   changes it reveals are written in one transaction, fenced by the lease.
4. Digests that are due are rendered and claimed with their outbox row in one transaction
   (at most one per subscription and local date); ones missed beyond the grace window are
   recorded as skipped.
5. Pending outbox rows are posted, oldest first. The first row for a (channel, release) posts
   the parent message; later ones reply in its thread and rewrite the parent to the current
   state.

Delivery guarantee: at least once. The outbox is the source of truth: a row leaves `pending`
only after Slack accepted the post and the row was marked sent, so a worker that restarts
between polls neither loses nor repeats anything. Each row is claimed (marked in flight, fenced
by the lease) just before it is posted; a worker dying in the short gap between Slack accepting
a post and the row being marked sent leaves the row in flight, and its successor posts it again
and logs that Slack may show it twice. A rare duplicate was preferred to a silently lost "release
closed": Slack's chat.postMessage takes no idempotency key, so nothing can close that gap fully
without reading channel history.

Failures: a 429 backs off that channel until Retry-After (an unreadable one: 10 minutes); the
worker never sleeps for it. Other failures back off the channel (`backoff`: full jitter under a
ceiling of 1 s doubling to 20 s), and the worker posts again as soon as a back-off ends, between
polls; a row is parked as failed with the reason only after a day and MIN_ATTEMPTS tries.
`not_in_channel`, `channel_not_found`, `is_archived` and the permission errors (`missing_scope`
and the like) pause the channel's subscriptions with the reason (shown by `/releases
subscriptions`; repeating the subscribe or digest command resumes one), logged once; for a
follower's direct message they pause that follow alone (shown by `/releases following`). Only
token errors (`invalid_auth`, `token_revoked`, `account_inactive`...) stop delivery for the round.
One failing channel never holds up the others, and a channel's rows keep their order: after a
failure its later rows wait for their turn.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk import WebClient

from bot.app.finder import ReleaseFinder
from bot.app.language import Languages
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.metrics import Metrics
from bot.notify.filters import StoredQueries
from bot.notify.records import LeaseLost
from bot.notify.store import Store, StoreUnavailable
from bot.notify.worker.backoff import Backoff, Uniform
from bot.notify.worker.detection import ChangeDetector
from bot.notify.worker.digest_round import DigestRound
from bot.notify.worker.lease import LeaseKeeper, default_holder_id, lease_timing
from bot.notify.worker.outbox_delivery import BATCH_SIZE, Deliverer

log = logging.getLogger(__name__)

PURGE_EVERY = timedelta(hours=1)
MIN_RETRY_WAIT = 0.05  # seconds: a row due now waits this long, past its due time
KEEP_DELIVERED = timedelta(days=14)


@dataclass(frozen=True, slots=True)
class PollReport:
    """What one round did, for logs and tests."""

    leader: bool
    changes_checked: bool = False
    skipped_reason: str | None = None
    events: int = 0
    enqueued: int = 0
    digests_enqueued: int = 0
    digests_skipped: int = 0
    posted: int = 0
    failed: int = 0
    paused_channels: tuple[str, ...] = ()


class Worker:
    """Polls, plans and delivers; run exactly one per deployment (the lease makes extras wait)."""

    def __init__(
        self,
        store: Store,
        finder: ReleaseFinder,
        web_client: WebClient,
        *,
        settings: Settings,
        clock: Clock | None = None,
        holder_id: str | None = None,
        batch_size: int = BATCH_SIZE,
        metrics: Metrics | None = None,
        jitter: Uniform | None = None,
        languages: Languages | None = None,
    ) -> None:
        """`languages` says who reads which language: direct messages go by the reader's,
        channel posts by their subscription's (default: DEFAULT_LANGUAGE)."""
        self._store = store
        self._metrics = metrics
        self._settings = settings
        self._clock = clock = clock or SystemClock()
        self.holder_id = holder_id or default_holder_id()
        self._heartbeat, ttl = lease_timing(settings.poll_interval_seconds)
        self._lease = LeaseKeeper(store.leases, self.holder_id, ttl, clock)
        queries = StoredQueries()
        self._detector = ChangeDetector(store, finder, self._lease, queries)
        languages = languages or Languages(
            choices=store.languages, default=settings.default_language
        )
        self._digests = DigestRound(
            store, timedelta(minutes=settings.digest_grace_minutes), queries, languages
        )
        self._deliverer = Deliverer(
            store, web_client, self._lease, clock, batch_size, metrics=metrics,
            backoff=Backoff(base_seconds=settings.slack_retry_base_seconds,
                            uniform=jitter or random.uniform),
            languages=languages,
        )
        self._purged_at: datetime | None = None
        self._stop = threading.Event()
        # One round at a time per Worker: the console's `:poll` may ask while `run` is polling.
        self._round = threading.Lock()
        self._rounds_without_database = 0  # rounds in a row that failed for the database

    def run(self, stop: threading.Event) -> None:
        """Poll every POLL_INTERVAL_SECONDS until `stop` is set; then hand the lease back.

        `stop` also ends a delivery between two posts, so a graceful stop hands over at once.
        A worker waiting for the lease asks again every heartbeat, not every interval.
        """
        interval = self._settings.poll_interval_seconds
        log.info("notification worker %s: polling every %.0f s", self.holder_id, interval)
        self._stop = stop
        self._lease.start_heartbeat(self._heartbeat)
        try:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    leader = self.poll_once().leader
                    if self._metrics is not None:
                        self._metrics.round_done(leader)
                    self._database_back()
                except StoreUnavailable as exc:
                    # Expected trouble (a cut connection, a locked file), not a bug: one line
                    # when it starts and one when it ends, no traceback every round.
                    self._database_down(exc, interval)
                    leader = self._lease.leading
                    if self._metrics is not None:
                        self._metrics.round_failed(leader)
                except Exception:
                    log.exception("notification round failed; trying again in %.0f s", interval)
                    leader = self._lease.leading
                    if self._metrics is not None:
                        self._metrics.round_failed(leader)
                next_round = started + (interval if leader else min(interval, self._heartbeat))
                if leader:
                    self._retry_until(next_round, stop)
                stop.wait(max(0.0, next_round - time.monotonic()))
        finally:
            self.close()
            log.info("notification worker %s stopped", self.holder_id)

    def _retry_until(self, next_round: float, stop: threading.Event) -> None:
        """Between two polls, post again each time a row's back-off ends, so a channel Slack
        failed for a moment resumes within seconds, not at the next poll a minute later."""
        while not stop.is_set():
            wait = self._retry_wait(next_round)
            if wait is None or stop.wait(wait):
                return
            try:
                if not self.deliver_due():
                    return
            except StoreUnavailable as exc:
                log.debug("a retry between polls found the database unavailable (%s)", exc)
                return
            except Exception:
                log.exception("a retry between polls failed; the next poll tries again")
                return

    def _retry_wait(self, next_round: float) -> float | None:
        """Seconds until the next back-off ends, or None when the next poll comes first."""
        try:
            due = self._store.outbox.next_retry_at()
        except Exception as exc:
            log.debug("could not read when the next retry is due (%s)", exc)
            return None
        if due is None:
            return None
        wait = max(MIN_RETRY_WAIT, (due - self._clock.now()).total_seconds() + MIN_RETRY_WAIT)
        return wait if time.monotonic() + wait < next_round else None

    def deliver_due(self) -> bool:
        """Post what became due since the round, without polling; False without the lease."""
        with self._round:
            if not self._lease.take():
                return False
            try:
                posted, failed, _ = self._deliverer.deliver(self._stop)
            except LeaseLost:
                self._lease.lost()
                return False
        if posted or failed:
            log.debug("retry between polls: %d posted, %d failed", posted, failed)
        return True

    def _database_down(self, exc: StoreUnavailable, interval: float) -> None:
        self._rounds_without_database += 1
        if self._rounds_without_database == 1:
            log.warning("notification round failed: the database is unavailable (%s); "
                        "trying again every %.0f s", exc, interval)
        else:
            log.debug("notification round failed again: the database is unavailable (%s)", exc)

    def _database_back(self) -> None:
        if self._rounds_without_database:
            log.info("the database is available again after %d failed round(s)",
                     self._rounds_without_database)
            self._rounds_without_database = 0

    def close(self) -> None:
        """Give the lease back at once, so a successor need not wait for it to expire."""
        self._lease.hand_back()

    def poll_once(self) -> PollReport:
        """One round: lease, poll and commit, digests, delivery. Never raises for Slack or API
        trouble; those are logged and retried in a later round."""
        with self._round:
            return self._poll_round()

    def _poll_round(self) -> PollReport:
        if not self._lease.take():
            return PollReport(leader=False, skipped_reason="another worker holds the lease")
        now = self._clock.now()
        result, skipped = self._detector.fetch()
        checked, events, enqueued = False, 0, 0
        if result is not None and skipped is None:
            try:
                checked, events, enqueued, skipped = self._detector.check(result)
            except LeaseLost:
                self._lease.lost()
                return PollReport(leader=False, skipped_reason="lease lost")
        usable = None if skipped == "looks glitched" else result
        digests_enqueued, digests_skipped = self._digests.enqueue_due(usable, now)
        try:
            posted, failed, paused = self._deliverer.deliver(self._stop)
        except LeaseLost:
            self._lease.lost()
            return PollReport(leader=False, skipped_reason="lease lost")
        self._purge(now)
        return PollReport(
            leader=True, changes_checked=checked, skipped_reason=skipped, events=events,
            enqueued=enqueued, digests_enqueued=digests_enqueued,
            digests_skipped=digests_skipped, posted=posted, failed=failed,
            paused_channels=tuple(paused),
        )

    def _purge(self, now: datetime) -> None:
        if self._purged_at is not None and now - self._purged_at < PURGE_EVERY:
            return
        self._purged_at = now
        try:
            removed = self._store.outbox.purge(KEEP_DELIVERED)
            self._store.outbox.paused_follows.purge()
        except Exception:
            log.warning("could not purge old outbox rows", exc_info=True)
            return
        if removed:
            log.info("purged %d old outbox rows", removed)
