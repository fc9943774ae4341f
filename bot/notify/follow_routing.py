"""From one poll's changes to the direct messages its followers get; pure, like `plan`.

A follower hears every change to the release (`ChangeEvent` kinds) and, as `hotfix`, that a
new hotfix of it appeared. A release deleted in this poll sends its followers one last message
and ends their follows in the same transaction (`ended`). A follower is one user: even when
several of their follows are touched by one event (never for one release), each follow gets
its own message about its own release.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.metakraftwerk.models import Release
from bot.notify.changes import ChangeEvent, ChangeKind
from bot.notify.records import Follow, NewDelivery

HOTFIX = "hotfix"  # the outbox kind of "a new hotfix of the release you follow"

# The word `events:` uses for each change kind (see bot.query.events).
EVENT_WORDS: Mapping[ChangeKind, str] = {
    "created": "created",
    "restored": "restored",
    "reopened": "reopened",
    "renamed": "renamed",
    "dates_changed": "dates",
    "closed": "closed",
    "deleted": "deleted",
}


def hears(events: Sequence[str], kind: ChangeKind) -> bool:
    """Whether a subscription narrowed to `events` (empty: every kind) hears `kind`."""
    return not events or EVENT_WORDS[kind] in events


@dataclass(frozen=True, slots=True)
class FollowPlan:
    deliveries: tuple[NewDelivery, ...]
    ended: tuple[int, ...]  # follow ids of releases deleted in this poll


def route_follows(
    events: Iterable[ChangeEvent],
    follows: Sequence[Follow],
    snapshot: Mapping[int, Release],
    payload_of: Callable[[ChangeEvent], Mapping[str, object]] = ChangeEvent.to_payload,
) -> FollowPlan:
    """The followers' messages for these events; `snapshot` is the poll's new snapshot, and
    `payload_of(event)` the payload the channels' deliveries of an event carry."""
    by_release: dict[int, list[Follow]] = defaultdict(list)
    for follow in follows:
        by_release[follow.release_id].append(follow)
    deliveries: list[NewDelivery] = []
    ended: list[int] = []
    for event in events:
        release = event.release
        for follow in by_release.get(release.id, ()):
            deliveries.append(_message(follow, event.kind, payload_of(event)))
            if event.kind == "deleted":
                ended.append(follow.id)
        parent_id = release.hotfix_of_id
        if event.kind == "created" and parent_id is not None and parent_id != release.id:
            parent = snapshot.get(parent_id)
            payload = {
                **payload_of(event),
                "followed": {"id": parent_id, "name": parent.name if parent else None},
            }
            for follow in by_release.get(parent_id, ()):
                deliveries.append(_message(follow, HOTFIX, payload, release_id=parent_id))
    return FollowPlan(tuple(deliveries), tuple(dict.fromkeys(ended)))


def _message(
    follow: Follow, kind: str, payload: Mapping[str, object], *, release_id: int | None = None
) -> NewDelivery:
    return NewDelivery(
        subscription_id=0, team_id=follow.team_id, channel_id=follow.user_id, kind=kind,
        payload=dict(payload), release_id=follow.release_id if release_id is None else release_id,
        follow_id=follow.id,
    )
