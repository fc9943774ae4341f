"""Following releases and narrowed subscriptions through `Answers`, over a real store."""

from __future__ import annotations

import pytest

from bot.app.answers import Answers, Caller, Reply
from bot.app.finder import ReleaseFinder
from bot.app.home import Home, UserChannels
from bot.cache.release_cache import ReleaseCache
from bot.config import Settings
from bot.demo import DemoApiServer
from bot.metakraftwerk.models import Release
from bot.notify.follow_commands import FollowCommands
from bot.notify.store import Store
from bot.notify.subscription_commands import SubscriptionCommands
from bot.render import actions as act
from bot.render.message import Message
from tests.fakes.clock import FakeClock
from tests.render.limits import all_text, assert_valid, buttons

TEAM = "T1"
ALICE = Caller(team_id=TEAM, channel_id="C1", user_id="U0ALICE", user_name="alice")
BOB = Caller(team_id=TEAM, channel_id="C1", user_id="U0BOB", user_name="bob")


@pytest.fixture
def answers(store: Store, clock: FakeClock, demo_cache: ReleaseCache) -> Answers:
    finder = ReleaseFinder(demo_cache)
    return Answers(
        finder, clock=clock,
        subscriptions=SubscriptionCommands(
            store, settings=Settings(), clock=clock, group_names=finder.group_names
        ),
        follows=FollowCommands(store, finder, clock=clock),
    )


def _release(api: DemoApiServer, *, deleted: bool = False) -> Release:
    return next(
        r for r in api.data.releases()
        if r.deleted == deleted and not r.closed and r.name != "Default Release"
    )


def _private(reply: Reply) -> str:
    assert reply.mode == "ephemeral", reply
    assert_valid(reply.message, allow=("<@U0ALICE>",))
    return all_text(reply.message)


def _card_buttons(message: Message) -> list[str]:
    return [
        element["action_id"].partition(":")[0]
        for block in message.blocks if block.get("type") == "actions"
        for element in block["elements"]
    ]


def test_follow_unfollow_and_following(
    answers: Answers, store: Store, demo_api: DemoApiServer
) -> None:
    target = _release(demo_api)
    text = _private(answers.command(f"follow {target.id}", ALICE))
    assert f"You follow *{target.name}* (#{target.id}) now" in text
    assert "new hotfix" in text
    assert [f.release_id for f in store.follows.of_user(TEAM, "U0ALICE")] == [target.id]
    assert "You already follow" in _private(answers.command(f"follow #{target.id}", ALICE))
    assert store.follows.of_user(TEAM, "U0BOB") == []

    listing = answers.command("following", ALICE)
    text = _private(listing)
    assert "Releases you follow · 1" in text
    assert target.name in text
    [unfollow] = buttons(listing.message)
    assert act.decode(unfollow["action_id"], unfollow["value"]) == act.FollowRequest(
        target.id, follow=False
    )

    text = _private(answers.command(f"unfollow {target.id}", ALICE))
    assert f"You no longer follow *{target.name}*" in text
    assert store.follows.of_user(TEAM, "U0ALICE") == []
    assert "You don't follow release" in _private(answers.command(f"unfollow {target.id}", ALICE))
    assert "You follow no releases" in _private(answers.command("following", ALICE))


def test_follow_needs_a_live_release(
    answers: Answers, store: Store, demo_api: DemoApiServer
) -> None:
    assert "No release with id 999999" in _private(answers.command("follow 999999", ALICE))
    gone = demo_api.data.delete(_release(demo_api).id)
    assert "is deleted" in _private(answers.command(f"follow {gone.id}", ALICE))
    assert store.follows.all() == []


def test_the_release_card_has_follow_or_unfollow_and_the_buttons_work(
    answers: Answers, store: Store, demo_api: DemoApiServer
) -> None:
    target = _release(demo_api)
    card = answers.command(str(target.id), ALICE).message
    assert act.ACTION_FOLLOW in _card_buttons(card)
    follow = next(
        e for b in card.blocks if b.get("type") == "actions" for e in b["elements"]
        if e["action_id"].startswith(act.ACTION_FOLLOW)
    )
    reply = answers.button(follow["action_id"], follow["value"], ALICE)
    assert "You follow" in _private(reply)
    assert store.follows.is_following(TEAM, "U0ALICE", target.id)

    card = answers.command(str(target.id), ALICE).message
    assert act.ACTION_UNFOLLOW in _card_buttons(card)
    assert act.ACTION_FOLLOW not in _card_buttons(card)
    assert act.ACTION_FOLLOW in _card_buttons(answers.command(str(target.id), BOB).message)

    reply = answers.button(act.ACTION_UNFOLLOW, str(target.id), ALICE)
    assert "no longer follow" in _private(reply)
    assert not store.follows.is_following(TEAM, "U0ALICE", target.id)


def test_without_a_store_there_is_no_follow_button_and_a_clear_answer(
    demo_cache: ReleaseCache, demo_api: DemoApiServer
) -> None:
    plain = Answers(ReleaseFinder(demo_cache))
    target = _release(demo_api)
    card = plain.command(str(target.id), ALICE).message
    assert act.ACTION_FOLLOW not in _card_buttons(card)
    assert "not available" in _private(plain.command(f"follow {target.id}", ALICE)).lower()


def test_app_home_lists_the_followed_releases(
    answers: Answers, clock: FakeClock, demo_api: DemoApiServer
) -> None:
    target = _release(demo_api)
    answers.command(f"follow {target.id}", ALICE)
    home = Home(answers.finder, clock=clock, subscriptions=answers.subscriptions,
                follows=answers.follows)
    text = str(home.view(ALICE, UserChannels(("C1",)))["blocks"])
    assert "Releases you follow" in text
    assert target.name in text
    assert "Releases you follow" not in str(home.view(BOB, UserChannels(("C1",)))["blocks"])


def test_a_narrowed_subscription_is_confirmed_stored_and_listed_with_its_kinds(
    answers: Answers, store: Store
) -> None:
    reply = answers.command("subscribe group:DWH_GROUP events:closed,reopened,dates", ALICE)
    assert reply.mode == "in_channel"
    text = all_text(reply.message)
    assert "Only these kinds of change: `reopened`, `closed`, `dates`" in text
    [sub] = store.subscriptions.in_channel(TEAM, "C1")
    assert (sub.filters, sub.events) == ("open group:DWH_GROUP", ("reopened", "closed", "dates"))

    # The same filters with every kind is another subscription; the same kinds again a twin.
    assert answers.command("subscribe group:DWH_GROUP", ALICE).mode == "in_channel"
    again = answers.command("subscribe group:DWH_GROUP events:dates,closed,reopened", ALICE)
    assert "already has that subscription" in all_text(again.message)

    listing = all_text(answers.command("subscriptions", ALICE).message)
    assert "changes (`reopened`, `closed`, `dates` only) · open · group DWH_GROUP" in listing
    assert "changes · open · group DWH_GROUP" in listing


def test_a_subscription_that_leaves_out_closed_does_not_promise_closes(answers: Answers) -> None:
    text = all_text(answers.command("subscribe events:created", ALICE).message)
    assert "closes is reported too" not in text
