"""Digests that are due: rendered and claimed with their outbox row in one transaction.

At most one per subscription and local date; ones missed beyond the grace window are recorded
as skipped instead of posted late.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.app.finder import FindResult
from bot.app.language import Languages
from bot.notify.digests import DueDigest, due_digests, schedule_of
from bot.notify.filters import StoredQueries
from bot.notify.messages import digest_result, render_digest
from bot.notify.records import NewDelivery
from bot.notify.store import Store
from bot.query import QueryError
from bot.schedule import ScheduleError

log = logging.getLogger(__name__)


class DigestRound:
    """Queues the digests that are due this round."""

    def __init__(
        self,
        store: Store,
        grace: timedelta,
        queries: StoredQueries,
        languages: Languages | None = None,
    ) -> None:
        self._store = store
        self._grace = grace
        self._queries = queries
        self._languages = languages or Languages()  # a digest in its subscription's language

    def enqueue_due(self, result: FindResult | None, now: datetime) -> tuple[int, int]:
        """(queued, skipped); without release data a due digest waits for the next round."""
        subs = self._store.subscriptions.all("digest")
        if not subs:
            return 0, 0
        due = due_digests(subs, now, self._store.digests.last_dates(), self._grace)
        enqueued = skipped = 0
        for digest in due:
            sub = digest.subscription
            if digest.missed:
                if self._store.digests.claim(
                    sub.id, digest.local_date, digest.scheduled_at, outcome="skipped"
                ):
                    skipped += 1
                    log.warning(
                        "digest %d (channel %s) for %s skipped: %s late, beyond the %s grace",
                        sub.id, sub.channel_id, digest.local_date,
                        _minutes(digest.lateness(now)), _minutes(self._grace),
                    )
                continue
            if result is None:
                log.info("digest %d (channel %s) waits: no release data yet", sub.id,
                         sub.channel_id)
                continue
            delivery = self._render_digest(digest, result, now)
            if delivery is None:
                continue
            if self._store.digests.claim(
                sub.id, digest.local_date, digest.scheduled_at, delivery=delivery
            ):
                enqueued += 1
                log.info("digest %d (channel %s) for %s queued", sub.id, sub.channel_id,
                         digest.local_date)
        return enqueued, skipped

    def _render_digest(
        self, digest: DueDigest, result: FindResult, now: datetime
    ) -> NewDelivery | None:
        sub = digest.subscription
        try:
            query = self._queries(sub.filters)
            _, tz = schedule_of(sub)
        except (QueryError, ScheduleError) as exc:
            log.warning("digest %d cannot be built, skipping it: %s", sub.id, exc)
            return None
        message = render_digest(
            digest_result(result, query), now, query=query, tz=tz,
            t=self._languages.for_posts(sub.language),
        )
        return NewDelivery(
            subscription_id=sub.id, team_id=sub.team_id, channel_id=sub.channel_id,
            kind="digest",
            payload={
                "text": message.text, "blocks": list(message.blocks),
                "local_date": digest.local_date.isoformat(),
            },
        )


def _minutes(delta: timedelta) -> str:
    return f"{round(delta.total_seconds() / 60)} min"
