"""Change detection: fetch every release, skip what looks stale or glitched, plan and commit.

The new snapshot and the outbox rows for the changes it reveals are written in one
transaction, fenced by the lease, so a worker that lost its lease cannot write a poll.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from bot.app.finder import FindResult, ReleaseFinder
from bot.metakraftwerk.errors import MetaKraftwerkError
from bot.metakraftwerk.models import Release
from bot.notify.change_routing import plan_poll
from bot.notify.changes import ChangeEvent
from bot.notify.filters import StoredQueries
from bot.notify.follow_routing import route_follows
from bot.notify.records import Subscription
from bot.notify.store import Store
from bot.notify.worker.glitch import GlitchGuard
from bot.notify.worker.lease import LeaseKeeper

log = logging.getLogger(__name__)


class ChangeDetector:
    """One per worker: it remembers recent glitches across rounds."""

    def __init__(
        self, store: Store, finder: ReleaseFinder, lease: LeaseKeeper, queries: StoredQueries
    ) -> None:
        self._store = store
        self._finder = finder
        self._lease = lease
        self._queries = queries
        self._glitches = GlitchGuard()

    def fetch(self) -> tuple[FindResult | None, str | None]:
        """All releases, and why change detection must be skipped (None if it need not)."""
        try:
            result = self._finder.all_releases(refresh=True)
        except MetaKraftwerkError as exc:
            log.warning("poll skipped: MetaKraftwerk failed: %s", exc)
            return None, "api failed"
        except Exception:
            log.exception("poll skipped: fetching the releases failed unexpectedly")
            return None, "api failed"
        if result.freshness is not None and result.freshness.stale:
            log.warning(
                "poll skipped: MetaKraftwerk failed (%s); stale data is never reported as news",
                result.freshness.reason or "no reason given",
            )
            return result, "stale data"
        return result, None

    def check(self, result: FindResult) -> tuple[bool, int, int, str | None]:
        """Compare, plan and commit: (checked, events, rows queued, why skipped)."""
        previous = self._store.outbox.load_snapshot()
        glitch = self._glitches.reason(previous, result.releases)
        if glitch is not None:
            return False, 0, 0, "looks glitched"
        subs = self._store.subscriptions.all("change")
        names = dict(result.group_names)
        payload_of = partial(named_payload, names=names)
        plan = plan_poll(
            previous, result.releases, subs, self._matcher(names), self._store.outbox.threads(),
            match_key=filters_of, group_gate=self._group_gate(names), payload_of=payload_of,
        )
        followers = route_follows(
            plan.events, self._store.follows.all(), plan.snapshot, payload_of
        )
        deliveries = [*plan.deliveries, *followers.deliveries]
        self._lease.keep()  # the fetch may have taken a while
        ids = self._store.outbox.commit_poll(
            plan.snapshot, deliveries, baselined=plan.baselined, fence=self._lease.lease,
            ended_follows=followers.ended,
        )
        if previous.taken_at is None:
            log.info("first poll: %d releases recorded as the baseline", len(plan.snapshot))
        for sub_id in plan.baselined:
            log.info("subscription %d: baseline recorded, changes are reported from now on", sub_id)
        for event in plan.events:
            log.info("release %d: %s", event.release.id, event.kind)
        if ids:
            # One line, not one per row: a round can queue tens of thousands of rows, and
            # each post is logged when it goes out.
            log.info("%d posts queued (outbox rows %d to %d)", len(ids), min(ids), max(ids))
        for follow_id in followers.ended:
            log.info("follow %d ends: its release was deleted", follow_id)
        return True, len(plan.events), len(ids), None

    def _matcher(self, names: Mapping[int, str]) -> Callable[[Subscription, Release], bool]:
        def matches(sub: Subscription, release: Release) -> bool:
            return self._queries(sub.filters).matches(release, names)

        return matches

    def _group_gate(self, names: Mapping[int, str]) -> Callable[[Subscription, int | None], bool]:
        def admits(sub: Subscription, group_id: int | None) -> bool:
            return self._queries(sub.filters).admits_group(group_id, names)

        return admits


def named_payload(change: ChangeEvent, names: Mapping[int, str]) -> dict[str, Any]:
    """An event's payload with its group's name, made once for all its deliveries."""
    group_id = change.release.group_id
    return {**change.to_payload(), "group_name": None if group_id is None else names.get(group_id)}


def filters_of(sub: Subscription) -> str:
    """The matcher reads a subscription only through its filters."""
    return sub.filters
