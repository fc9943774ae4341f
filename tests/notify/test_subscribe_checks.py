"""What a subscription refuses before storing it: unknown groups, mentions that cannot ping,
filters that would not read back the same. A typo must not look like a quiet channel."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from bot.app.answers import Answers, Caller, Reply
from bot.app.finder import ReleaseFinder
from bot.cache.release_cache import ReleaseCache
from bot.config import Settings
from bot.notify.filters import stored_query
from bot.notify.store import Store
from bot.notify.subscription_commands import SubscriptionCommands
from bot.query import SubscribeCommand, parse_command
from tests.fakes.clock import FakeClock
from tests.render.limits import all_text

ALICE = Caller(team_id="T1", channel_id="C1", user_id="U0ALICE", user_name="alice")


def make_answers(
    store: Store, clock: FakeClock, finder: ReleaseFinder,
    group_names: Callable[[], Mapping[int, str]] | None = None,
) -> Answers:
    service = SubscriptionCommands(
        store, settings=Settings(), clock=clock,
        group_names=group_names or finder.group_names,
    )
    return Answers(finder, clock=clock, subscriptions=service)


@pytest.fixture
def answers(store: Store, clock: FakeClock, demo_cache: ReleaseCache) -> Answers:
    return make_answers(store, clock, ReleaseFinder(demo_cache))


def refused(reply: Reply) -> str:
    assert reply.mode == "ephemeral", reply
    assert reply.message.meta.get("view") == "error"
    return all_text(reply.message)


def nothing_stored(store: Store) -> bool:
    return store.subscriptions.in_channel("T1", "C1") == []


# ---- groups ---------------------------------------------------------------------------------


def test_subscribing_to_a_misspelt_group_is_refused_with_the_closest_names(
    answers: Answers, store: Store
) -> None:
    text = refused(answers.command("subscribe group:DWH_GRUOP", ALICE))
    assert "no release group `DWH_GRUOP`" in text
    assert "Did you mean `DWH_GROUP`?" in text
    assert nothing_stored(store)


def test_a_digest_of_an_unknown_group_is_refused(answers: Answers, store: Store) -> None:
    text = refused(answers.command("digest weekdays 09:00 tz:UTC group:NOPE", ALICE))
    assert "no release group `NOPE`" in text
    assert nothing_stored(store)


def test_an_unknown_group_id_is_refused(answers: Answers, store: Store) -> None:
    text = refused(answers.command("subscribe group_id:999", ALICE))
    assert "no release group with id 999" in text
    assert nothing_stored(store)


def test_a_group_in_another_case_is_accepted(answers: Answers, store: Store) -> None:
    reply = answers.command("subscribe group:dwh_group", ALICE)
    assert reply.mode == "in_channel"
    assert len(store.subscriptions.in_channel("T1", "C1")) == 1


def test_a_glob_that_matches_no_group_today_is_allowed_and_says_so(
    answers: Answers, store: Store
) -> None:
    reply = answers.command("subscribe group:ZZZ*", ALICE)
    assert reply.mode == "in_channel"
    assert "`ZZZ*` matches no release group today" in all_text(reply.message)
    assert len(store.subscriptions.in_channel("T1", "C1")) == 1


def test_a_glob_that_matches_says_nothing_more(answers: Answers) -> None:
    reply = answers.command("subscribe group:DWH*", ALICE)
    assert "matches no release group" not in all_text(reply.message)


def test_when_the_groups_cannot_be_read_it_is_stored_and_said(
    store: Store, clock: FakeClock, demo_cache: ReleaseCache
) -> None:
    answers = make_answers(store, clock, ReleaseFinder(demo_cache), group_names=dict)
    reply = answers.command("subscribe group:DWH_GROUP", ALICE)
    assert reply.mode == "in_channel"
    assert "could not check" in all_text(reply.message)


# ---- mentions -------------------------------------------------------------------------------


def test_a_mention_that_cannot_ping_is_refused(answers: Answers, store: Store) -> None:
    text = refused(answers.command("subscribe group:DWH_GROUP mention:@nobody-here", ALICE))
    assert "`@nobody-here`" in text
    assert "cannot mention" in text
    assert nothing_stored(store)


@pytest.mark.parametrize(
    "mention", ["<@U1>", "<@U0ALICE|alice>", "<!subteam^S0DWH|@" + "d" * 110 + ">"]
)
def test_mentions_slack_sends_are_stored_as_sent(
    answers: Answers, store: Store, mention: str
) -> None:
    reply = answers.command(f"subscribe group:DWH_GROUP mention:{mention}", ALICE)
    assert reply.mode == "in_channel", all_text(reply.message)
    assert store.subscriptions.in_channel("T1", "C1")[0].mention == mention


# ---- filters that would not read back ---------------------------------------------------------


def test_a_filter_too_long_to_read_back_is_refused(answers: Answers, store: Store) -> None:
    text = "subscribe name:'" + '"' * 1960 + "'"
    command = parse_command(text)
    assert isinstance(command, SubscribeCommand)  # the grammar reads it...
    stored = command.query.to_text()
    assert len(stored) > 2000  # ...but its stored form is longer than it reads

    text = refused(answers.command(text, ALICE))
    assert "too long" in text
    assert nothing_stored(store)


def test_what_is_stored_reads_back_to_the_same_query(answers: Answers, store: Store) -> None:
    answers.command("subscribe closed name:'R 59' -group:LAKE_GROUP group:DWH*", ALICE)
    (sub,) = store.subscriptions.in_channel("T1", "C1")
    command = parse_command("subscribe closed name:'R 59' -group:LAKE_GROUP group:DWH*")
    assert isinstance(command, SubscribeCommand)
    assert stored_query(sub.filters).to_text() == sub.filters
