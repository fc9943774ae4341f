"""Change detection: fetch every release, skip what looks stale or glitched, plan and commit.

The new snapshot and the outbox rows for the changes it reveals are written in one
transaction, fenced by the lease, so a worker that lost its lease cannot write a poll.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from bot.app.finder import FindResult, ReleaseFinder
from bot.metakraftwerk.errors import MetaKraftwerkError
from bot.metakraftwerk.models import Release
from bot.notify.change_routing import GroupGate, Matcher, PollPlan, plan_poll
from bot.notify.changes import ChangeEvent
from bot.notify.filters import StoredQueries
from bot.notify.follow_routing import route_follows
from bot.notify.records import Follow, NewDelivery, Snapshot, Subscription
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
        detected = detect_changes(
            previous, result.releases, dict(result.group_names),
            self._store.subscriptions.all("change"), self._store.outbox.threads(),
            self._store.follows.all(), self._queries,
        )
        self._lease.keep()  # the fetch may have taken a while
        ids = self._store.outbox.commit_poll(
            detected.plan.snapshot, detected.deliveries, baselined=detected.plan.baselined,
            fence=self._lease.lease, ended_follows=detected.ended_follows,
        )
        log_detected(previous, detected, ids)
        return True, len(detected.plan.events), len(ids), None


@dataclass(frozen=True, slots=True)
class Detected:
    """One poll compared and routed: the plan, and every delivery (channels and followers)."""

    plan: PollPlan
    deliveries: tuple[NewDelivery, ...]
    ended_follows: tuple[int, ...]  # follows of releases deleted in this poll


def detect_changes(
    previous: Snapshot,
    releases: Sequence[Release],
    names: Mapping[int, str],
    subscriptions: Sequence[Subscription],
    threads: Collection[tuple[str, str, int]],
    follows: Sequence[Follow],
    queries: StoredQueries,
) -> Detected:
    """Diff a complete poll against the snapshot of the same connection and route its events
    to the given subscriptions (matched by their filters) and follows. Pure: the single worker
    and the per-connection poll of the distributed mode both plan with it."""
    payload_of = partial(named_payload, names=names)
    plan = plan_poll(
        previous, releases, subscriptions, _matcher(queries, names), threads,
        match_key=filters_of, group_gate=_group_gate(queries, names), payload_of=payload_of,
    )
    followers = route_follows(plan.events, follows, plan.snapshot, payload_of)
    return Detected(plan, (*plan.deliveries, *followers.deliveries), followers.ended)


def log_detected(previous: Snapshot, detected: Detected, ids: Sequence[int]) -> None:
    plan = detected.plan
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
    for follow_id in detected.ended_follows:
        log.info("follow %d ends: its release was deleted", follow_id)


def _matcher(queries: StoredQueries, names: Mapping[int, str]) -> Matcher:
    def matches(sub: Subscription, release: Release) -> bool:
        return queries(sub.filters).matches(release, names)

    return matches


def _group_gate(queries: StoredQueries, names: Mapping[int, str]) -> GroupGate:
    def admits(sub: Subscription, group_id: int | None) -> bool:
        return queries(sub.filters).admits_group(group_id, names)

    return admits


def named_payload(change: ChangeEvent, names: Mapping[int, str]) -> dict[str, Any]:
    """An event's payload with its group's name, made once for all its deliveries."""
    group_id = change.release.group_id
    return {**change.to_payload(), "group_name": None if group_id is None else names.get(group_id)}


def filters_of(sub: Subscription) -> str:
    """The matcher reads a subscription only through its filters."""
    return sub.filters
