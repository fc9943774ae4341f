"""Follows and kinds of change in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.notify.records import NewDelivery
from bot.notify.store import Store
from bot.notify.store.follows import MAX_FOLLOWS_PER_USER, FollowLimitReached
from tests.fakes.clock import FakeClock
from tests.notify.support import delivery_state, release, snapshot_of

TEAM = "T1"


def dm(follow_id: int, user: str = "U1", release_id: int = 21) -> NewDelivery:
    return NewDelivery(
        subscription_id=0, team_id=TEAM, channel_id=user, kind="closed",
        payload={"kind": "closed"}, release_id=release_id, follow_id=follow_id,
    )


def test_follow_is_per_user_and_release_and_idempotent(store: Store) -> None:
    first, new = store.follows.follow(TEAM, "U1", 21)
    again, new_again = store.follows.follow(TEAM, "U1", 21)
    assert new
    assert not new_again
    assert again == first
    store.follows.follow(TEAM, "U1", 22)
    store.follows.follow(TEAM, "U2", 21)
    assert [f.release_id for f in store.follows.of_user(TEAM, "U1")] == [21, 22]
    assert store.follows.is_following(TEAM, "U2", 21)
    assert not store.follows.is_following(TEAM, "U2", 22)
    assert not store.follows.is_following("T2", "U1", 21)
    assert len(store.follows.all()) == 3

    assert store.follows.unfollow(TEAM, "U1", 21)
    assert not store.follows.unfollow(TEAM, "U1", 21)
    assert [f.release_id for f in store.follows.of_user(TEAM, "U1")] == [22]


def test_a_user_follows_at_most_the_limit(store: Store) -> None:
    for release_id in range(1, MAX_FOLLOWS_PER_USER + 1):
        store.follows.follow(TEAM, "U1", release_id)
    with pytest.raises(FollowLimitReached):
        store.follows.follow(TEAM, "U1", 999)
    store.follows.follow(TEAM, "U1", 1)  # following one again is no new follow
    store.follows.follow(TEAM, "U2", 999)


def test_direct_messages_queue_beside_channel_posts_and_an_unfollow_drops_them(
    store: Store,
) -> None:
    follow, _ = store.follows.follow(TEAM, "U1", 21)
    [row_id] = store.outbox.commit_poll(snapshot_of(release(21)), [dm(follow.id)])
    [pending] = store.outbox.pending_deliveries()
    assert (pending.id, pending.follow_id, pending.channel_id, pending.mention) == (
        row_id, follow.id, "U1", None,
    )
    assert store.follows.unfollow(TEAM, "U1", 21)
    assert store.outbox.pending_deliveries() == []
    assert delivery_state(store, row_id) is None


def test_a_message_for_a_follow_ended_meanwhile_is_not_queued(store: Store) -> None:
    follow, _ = store.follows.follow(TEAM, "U1", 21)
    store.follows.unfollow(TEAM, "U1", 21)
    assert store.outbox.commit_poll(snapshot_of(release(21)), [dm(follow.id)]) == []


def test_a_deleted_release_ends_the_follow_after_queueing_its_last_message(
    store: Store, clock: FakeClock
) -> None:
    follow, _ = store.follows.follow(TEAM, "U1", 21)
    [row_id] = store.outbox.commit_poll(
        snapshot_of(release(21, deleted=True)), [dm(follow.id)], ended_follows=[follow.id]
    )
    assert store.follows.of_user(TEAM, "U1") == []
    [pending] = store.outbox.pending_deliveries()
    assert pending.id == row_id
    # Purging keeps it: it is still owed, though no subscription (nor follow) names it.
    clock.advance(timedelta(days=30))
    store.outbox.purge(timedelta(days=1))
    assert [d.id for d in store.outbox.pending_deliveries()] == [row_id]
    # A claim that a worker never finished is recovered like a channel's.
    assert store.outbox.claim_delivery(row_id)
    assert [d.id for d in store.outbox.recover_in_flight()] == [row_id]
    store.outbox.mark_sent(row_id, "1.1")
    assert delivery_state(store, row_id) == "sent"


def test_kinds_of_change_are_stored_with_the_subscription(store: Store) -> None:
    narrowed = store.subscriptions.add_change(
        team_id=TEAM, channel_id="C1", filters="group:X", created_by="U1",
        events=("closed", "dates"),
    )
    everything = store.subscriptions.add_change(
        team_id=TEAM, channel_id="C1", filters="group:X", created_by="U1"
    )
    assert narrowed.events == ("closed", "dates")
    assert everything.events == ()
    listed = {s.id: s.events for s in store.subscriptions.in_channel(TEAM, "C1")}
    assert listed == {narrowed.id: ("closed", "dates"), everything.id: ()}
