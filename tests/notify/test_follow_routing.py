"""Routing by kind of change: narrowed subscriptions, and followers' direct messages."""

from __future__ import annotations

from dataclasses import replace

from bot.notify.change_routing import plan_poll
from bot.notify.changes import ChangeEvent, diff
from bot.notify.follow_routing import HOTFIX, hears, route_follows
from bot.notify.records import Follow, Snapshot
from tests.notify.support import T0, release, snapshot_of
from tests.notify.test_change_routing import group_filter, sub

PREVIOUS = Snapshot(snapshot_of(release(1), release(2), release(3, closed=True)), taken_at=T0)
# Release 1 closes and changes dates, 2 is renamed, 3 reopens, 4 appears.
POLLED = [
    release(1, closed=True, end_date=T0.replace(day=28)),
    release(2, name="R2-renamed"),
    release(3),
    release(4),
]


def routed(*subscriptions: object) -> list[tuple[int, int, str]]:
    plan = plan_poll(PREVIOUS, POLLED, list(subscriptions), group_filter)  # type: ignore[arg-type]
    return [(d.subscription_id, d.release_id or 0, d.kind) for d in plan.deliveries]


def test_a_narrowed_subscription_carries_only_its_kinds() -> None:
    assert routed(sub(1, events=("closed", "reopened", "dates"))) == [
        (1, 1, "dates_changed"), (1, 1, "closed"), (1, 3, "reopened"),
    ]
    assert routed(sub(1, events=("created",))) == [(1, 4, "created")]


def test_the_default_is_every_kind() -> None:
    assert [kind for _, _, kind in routed(sub(1))] == [
        "dates_changed", "closed", "renamed", "reopened", "created",
    ]


def test_another_subscription_of_the_channel_carries_what_one_leaves_out() -> None:
    narrowed = sub(1, events=("closed",), mention="@ops")
    everything = sub(2)
    assert routed(narrowed, everything) == [
        (2, 1, "dates_changed"), (1, 1, "closed"), (2, 2, "renamed"), (2, 3, "reopened"),
        (2, 4, "created"),
    ]


def test_a_thread_does_not_bring_back_kinds_left_out() -> None:
    plan = plan_poll(
        PREVIOUS, POLLED, [sub(1, filters="9", events=("closed",))], group_filter,
        threads={("T1", "C1", 1), ("T1", "C1", 2)},
    )
    assert [(d.release_id, d.kind) for d in plan.deliveries] == [(1, "closed")]


def test_every_change_kind_has_an_events_word() -> None:
    for kind in ("created", "restored", "reopened", "renamed", "dates_changed", "closed",
                 "deleted"):
        assert hears((), kind)
    assert hears(("dates",), "dates_changed")
    assert not hears(("dates",), "closed")


def follow(follow_id: int, release_id: int, user: str = "U1") -> Follow:
    return Follow(follow_id, "T1", user, release_id, T0)


def test_followers_hear_every_change_of_their_release_and_only_that() -> None:
    events = diff(PREVIOUS.releases, {r.id: r for r in POLLED})
    plan = route_follows(events, [follow(7, 1), follow(8, 1, "U2"), follow(9, 3)],
                         snapshot_of(*POLLED))
    assert [(d.follow_id, d.channel_id, d.release_id, d.kind) for d in plan.deliveries] == [
        (7, "U1", 1, "dates_changed"), (8, "U2", 1, "dates_changed"),
        (7, "U1", 1, "closed"), (8, "U2", 1, "closed"),
        (9, "U1", 3, "reopened"),
    ]
    assert all(d.subscription_id == 0 for d in plan.deliveries)
    assert ChangeEvent.from_payload(plan.deliveries[0].payload).kind == "dates_changed"
    assert plan.ended == ()


def test_a_new_hotfix_is_news_for_the_followers_of_its_release() -> None:
    hotfix = release(5, name="R1-HF1", hotfix_of_id=1)
    unrelated = release(6, name="R6")
    new = {**PREVIOUS.releases, 5: hotfix, 6: unrelated}
    plan = route_follows(diff(PREVIOUS.releases, new), [follow(7, 1), follow(9, 2)], new)
    assert [(d.follow_id, d.release_id, d.kind) for d in plan.deliveries] == [(7, 1, HOTFIX)]
    payload = plan.deliveries[0].payload
    assert payload["followed"] == {"id": 1, "name": "R1"}
    assert ChangeEvent.from_payload(payload).release.id == 5


def test_a_deleted_release_sends_one_last_message_and_ends_the_follow() -> None:
    gone = {2: release(2), 3: release(3, closed=True)}  # release 1 vanished
    plan = route_follows(diff(PREVIOUS.releases, gone), [follow(7, 1), follow(8, 2)], gone)
    assert [(d.follow_id, d.kind) for d in plan.deliveries] == [(7, "deleted")]
    assert plan.ended == (7,)
    flagged = {1: replace(release(1), deleted=True)}
    plan = route_follows(diff({1: release(1)}, flagged), [follow(7, 1)], flagged)
    assert plan.ended == (7,)
