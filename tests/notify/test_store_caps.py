"""Caps and twins hold under concurrent commands, because the database enforces them.

Threads released at one instant run the real commands against one store, on SQLite and on
PostgreSQL: a channel never gets more than MAX_PER_CHANNEL subscriptions, never two identical
ones, and a user never more than MAX_FOLLOWS_PER_USER follows.
"""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from bot.app.answers import Answers, Caller, Reply
from bot.app.finder import ReleaseFinder
from bot.cache.release_cache import ReleaseCache
from bot.config import Settings
from bot.notify.store import Store
from bot.notify.store.follows import MAX_FOLLOWS_PER_USER, FollowLimitReached
from bot.notify.store.schema import subscriptions
from bot.notify.store.subscriptions import SubscriptionLimitReached, TwinSubscription
from bot.notify.subscription_commands import SubscriptionCommands
from bot.notify.subscription_list import MAX_PER_CHANNEL
from bot.schedule import parse_schedule
from tests.fakes.clock import FakeClock
from tests.notify.test_store import run_together

TEAM, CHANNEL = "T1", "C1"


def _caller(i: int) -> Caller:
    return Caller(team_id=TEAM, channel_id=CHANNEL, user_id=f"U0USER{i:03d}", user_name="u")


@pytest.fixture
def answers(store: Store, clock: FakeClock, demo_cache: ReleaseCache) -> Answers:
    service = SubscriptionCommands(
        store, settings=Settings(), group_names=ReleaseFinder(demo_cache).group_names,
        clock=clock,
    )
    return Answers(ReleaseFinder(demo_cache), clock=clock, subscriptions=service)


def _confirmed(replies: list[Reply]) -> int:
    return sum(reply.mode == "in_channel" for reply in replies)


def test_concurrent_subscribes_stay_within_the_channel_cap(
    answers: Answers, store: Store
) -> None:
    extra = 12
    replies = run_together(
        MAX_PER_CHANNEL + extra, lambda i: answers.command(f"subscribe name:R{i}", _caller(i))
    )
    assert len(store.subscriptions.in_channel(TEAM, CHANNEL)) == MAX_PER_CHANNEL
    assert _confirmed(replies) == MAX_PER_CHANNEL


def test_concurrent_identical_subscribes_store_one(answers: Answers, store: Store) -> None:
    replies = run_together(8, lambda i: answers.command("subscribe group:DWH_GROUP", _caller(i)))
    assert len(store.subscriptions.in_channel(TEAM, CHANNEL)) == 1
    assert _confirmed(replies) == 1


def test_concurrent_identical_digests_store_one(answers: Answers, store: Store) -> None:
    replies = run_together(
        8, lambda i: answers.command("digest weekdays 09:00 tz:UTC open", _caller(i))
    )
    assert len(store.subscriptions.in_channel(TEAM, CHANNEL)) == 1
    assert _confirmed(replies) == 1


def test_concurrent_follows_stay_within_the_user_cap(store: Store) -> None:
    def follow(i: int) -> bool:
        try:
            return store.follows.follow(TEAM, "U1", 1000 + i)[1]
        except FollowLimitReached:
            return False

    added = run_together(MAX_FOLLOWS_PER_USER + 12, follow)
    assert len(store.follows.of_user(TEAM, "U1")) == MAX_FOLLOWS_PER_USER
    assert sum(added) == MAX_FOLLOWS_PER_USER


# -- the store's own answers ---------------------------------------------------------------


def _add(
    store: Store, filters: str = "open", *, mention: str | None = None,
    events: tuple[str, ...] = (), limit: int | None = None,
) -> int:
    return store.subscriptions.add_change(
        team_id=TEAM, channel_id=CHANNEL, filters=filters, created_by="U1", mention=mention,
        events=events, limit=limit,
    ).id


def _digest(store: Store, timezone: str = "UTC") -> int:
    return store.subscriptions.add_digest(
        team_id=TEAM, channel_id=CHANNEL, filters="open",
        schedule=parse_schedule("weekdays", "09:00"), timezone=timezone, created_by="U1",
    ).id


def test_a_twin_is_refused_naming_the_one_that_exists(store: Store) -> None:
    first = _add(store, events=("closed",))
    with pytest.raises(TwinSubscription) as twin:
        _add(store, events=("closed",))
    assert twin.value.twin.id == first
    _add(store, events=("created",))  # other kinds of change: not a twin
    _add(store, mention="<!subteam^S1>", events=("closed",))  # another mention: not a twin
    digest = _digest(store)
    with pytest.raises(TwinSubscription) as twin:
        _digest(store)
    assert twin.value.twin.id == digest
    _digest(store, "Asia/Tokyo")  # another zone: not a twin


def test_the_cap_is_checked_in_the_write(store: Store) -> None:
    for i in range(3):
        _add(store, f"name:R{i}", limit=3)
    with pytest.raises(SubscriptionLimitReached):
        _add(store, "name:R9", limit=3)
    assert len(store.subscriptions.in_channel(TEAM, CHANNEL)) == 3


def test_the_database_itself_refuses_a_twin(store: Store) -> None:
    """A writer that skips the store's check (an older release, a script) meets the index."""
    _add(store)
    with store.engine.connect() as conn:
        row = conn.execute(select(subscriptions)).one()._mapping
    values = {k: v for k, v in row.items() if k != "id"}
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(insert(subscriptions).values(**values))
