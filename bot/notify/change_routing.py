"""From one poll to what the store must write: snapshot, deliveries and recorded baselines.

Pure, so the rules a channel relies on are tested without a database or Slack:
- the very first poll (no stored snapshot) only records the baseline for everyone;
- a change subscription that has not had its first poll yet only records its baseline, even
  though the shared snapshot exists: it hears about changes from its second poll on;
- one event is delivered to a channel once, even when several of its subscriptions match; a
  matching subscription with a mention carries it then, so its mention is not lost;
- a release that already has a thread in a channel keeps it current: its later changes go there
  even when the release no longer matches (a closed release of an `open` subscription whose
  dates move, or that is deleted);
- a subscription narrowed to kinds of change (`events:closed,dates`) carries only those, thread
  or not; another subscription of the channel may still carry the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from bot.metakraftwerk.models import Release
from bot.notify.changes import ChangeEvent, by_id, diff, next_snapshot
from bot.notify.follow_routing import hears
from bot.notify.records import NewDelivery, Snapshot, Subscription

log = logging.getLogger(__name__)

Matcher = Callable[[Subscription, Release], bool]
GroupGate = Callable[[Subscription, int | None], bool]


@dataclass(frozen=True, slots=True)
class PollPlan:
    """Arguments for Store.outbox.commit_poll, plus the events for logging."""

    snapshot: dict[int, Release]
    events: tuple[ChangeEvent, ...]
    deliveries: tuple[NewDelivery, ...]
    baselined: tuple[int, ...]


def plan_poll(
    previous: Snapshot,
    polled: Iterable[Release],
    subscriptions: Sequence[Subscription],
    matches: Matcher,
    threads: Collection[tuple[str, str, int]] = frozenset(),
    *,
    match_key: Callable[[Subscription], Hashable] | None = None,
    group_gate: GroupGate | None = None,
    payload_of: Callable[[ChangeEvent], Mapping[str, Any]] = ChangeEvent.to_payload,
) -> PollPlan:
    """Diff a complete, unfiltered poll against the stored snapshot and route the events.

    `matches(subscription, release)` applies the subscription's filters to one release state;
    an event is routed when either its old or its new state matches, or when the channel already
    has a thread for the release (`threads` holds (team, channel, release id) of parent
    messages). A subscription whose filter cannot be applied is logged and skipped for this
    poll, never blocking the others.

    With `match_key` (e.g. the filters text), `matches` must depend on the subscription only
    through that key: each event is then matched once per key, and only the subscriptions it
    selects, or that have a thread for the release, are considered, instead of every
    subscription for every event (thousands of subscriptions share a few filters).

    With `group_gate(subscription, group_id)` as well (False only when the subscription's
    filters can match no release of that group; it too may depend only on the key), an event
    is matched only against the keys that admit its group before or after the change: most
    stored filters name one group, so most never look at most events.

    `payload_of(event)` makes the payload all of an event's deliveries share.
    """
    new = by_id(polled)
    first_poll = previous.taken_at is None
    events = () if first_poll else tuple(diff(previous.releases, new))
    snapshot = new if first_poll else next_snapshot(previous.releases, new)

    baselined: list[int] = []
    listeners: list[Subscription] = []
    for sub in subscriptions:
        if sub.kind != "change" or sub.paused:
            continue
        if first_poll or not sub.baseline_done:
            baselined.append(sub.id)
        else:
            listeners.append(sub)

    deliveries: list[NewDelivery] = []
    broken: set[int] = set()
    keyed = (
        None if match_key is None
        else _KeyedListeners(listeners, match_key, threads, group_gate)
    )
    for change in events:
        # Per channel, the subscription that carries the event: one whose filters match and
        # that has a mention, else the first whose filters match, else (for a release that has
        # a thread there) the channel's first subscription.
        carrier: dict[tuple[str, str], tuple[int, Subscription]] = {}
        known: dict[int, bool | Exception] = {}  # subscription id -> its filter's outcome
        candidates = listeners if keyed is None else keyed.candidates(change, matches, known)
        for sub in candidates:
            channel = (sub.team_id, sub.channel_id)
            best = carrier.get(channel, (0, sub))[0]
            if sub.id in broken or best == _MATCH_WITH_MENTION:
                continue
            if not hears(sub.events, change.kind):
                continue
            try:
                outcome = known.get(sub.id)
                if outcome is None:
                    hit = change.matches(partial(matches, sub))
                elif isinstance(outcome, Exception):
                    raise outcome
                else:
                    hit = outcome
            except Exception:
                log.warning("subscription %d: filters could not be applied", sub.id, exc_info=True)
                broken.add(sub.id)
                continue
            if hit:
                rank = _MATCH_WITH_MENTION if sub.mention else _MATCH
            else:
                rank = _THREAD if (*channel, change.release.id) in threads else 0
            if rank > best:
                carrier[channel] = (rank, sub)
        payload = payload_of(change) if carrier else {}  # one per event, shared (read-only)
        deliveries.extend(
            NewDelivery(
                subscription_id=sub.id, team_id=sub.team_id, channel_id=sub.channel_id,
                kind=change.kind, payload=payload, release_id=change.release.id,
            )
            for _, sub in carrier.values()
        )
    return PollPlan(snapshot, events, tuple(deliveries), tuple(baselined))


_THREAD, _MATCH, _MATCH_WITH_MENTION = 1, 2, 3


class _KeyedListeners:
    """The listeners grouped by match key and by channel, to route one event without
    looking at the subscriptions it cannot reach."""

    def __init__(
        self,
        listeners: Sequence[Subscription],
        key: Callable[[Subscription], Hashable],
        threads: Collection[tuple[str, str, int]],
        gate: GroupGate | None,
    ) -> None:
        self._listeners = listeners
        by_key: dict[Hashable, list[int]] = {}
        by_channel: dict[tuple[str, str], list[int]] = {}
        for index, sub in enumerate(listeners):
            by_key.setdefault(key(sub), []).append(index)
            by_channel.setdefault((sub.team_id, sub.channel_id), []).append(index)
        self._keys = list(by_key.values())  # each key's listeners, in listener order
        self._gate = gate
        self._admitting: dict[int | None, list[int]] = {}  # group id -> positions in _keys
        self._threaded: dict[int, list[int]] = {}  # release id -> listeners of its channels
        for team_id, channel_id, release_id in threads:
            self._threaded.setdefault(release_id, []).extend(
                by_channel.get((team_id, channel_id), ())
            )

    def candidates(
        self, change: ChangeEvent, matches: Matcher, known: dict[int, bool | Exception]
    ) -> list[Subscription]:
        """In listener order: the subscriptions the event matches (or whose filter failed),
        and those of channels with a thread for the release; `known` gets each outcome."""
        picked: set[int] = set(self._threaded.get(change.release.id, ()))
        for position in self._reachable(change):
            indexes = self._keys[position]
            try:
                outcome: bool | Exception = change.matches(
                    partial(matches, self._listeners[indexes[0]])
                )
            except Exception as exc:
                outcome = exc
            for index in indexes:
                known[self._listeners[index].id] = outcome
            if outcome is not False:
                picked.update(indexes)
        return [self._listeners[index] for index in sorted(picked)]

    def _reachable(self, change: ChangeEvent) -> Iterable[int]:
        """Positions of the keys whose filters admit the event's group, old or new."""
        if self._gate is None:
            return range(len(self._keys))
        groups = {change.release.group_id}
        if change.previous is not None:
            groups.add(change.previous.group_id)
        if len(groups) == 1:
            return self._admitting_group(change.release.group_id)
        return sorted({p for g in groups for p in self._admitting_group(g)})

    def _admitting_group(self, group_id: int | None) -> list[int]:
        admitting = self._admitting.get(group_id)
        if admitting is None:
            admitting = self._admitting[group_id] = [
                position for position, indexes in enumerate(self._keys)
                if _admits(self._gate, self._listeners[indexes[0]], group_id)
            ]
        return admitting


def _admits(gate: GroupGate | None, sub: Subscription, group_id: int | None) -> bool:
    if gate is None:
        return True
    try:
        return gate(sub, group_id)
    except Exception:
        return True  # its matcher fails too, and is logged and skipped there
