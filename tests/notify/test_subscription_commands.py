"""The subscription commands against a real store, and users.info against the Slack fake.

Commands go through `Answers.command`, as a slash command does, so parsing errors and the
service's own answers are checked together.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from slack_sdk import WebClient

from bot.app.answers import Answers, Caller, Reply
from bot.app.finder import ReleaseFinder
from bot.cache.release_cache import ReleaseCache
from bot.config import Secret, Settings
from bot.notify.records import NewDelivery
from bot.notify.store import Store
from bot.notify.subscription_commands import SubscriptionCommands
from bot.notify.subscription_list import MAX_PER_CHANNEL
from bot.notify.user_timezone import slack_user_timezone
from bot.render import actions as act
from bot.render.message import Message
from bot.slack.webclient import make_web_client
from tests.fakes.clock import FakeClock
from tests.fakes.slack_api import FakeSlack
from tests.notify.support import pause
from tests.render.limits import all_text, assert_valid, buttons

TEAM, CHANNEL, OTHER = "T1", "C1", "C2"
ALICE = Caller(team_id=TEAM, channel_id=CHANNEL, user_id="U0ALICE", user_name="alice")
BOB = Caller(team_id=TEAM, channel_id=CHANNEL, user_id="U0BOB", user_name="bob")
ELSEWHERE = Caller(team_id=TEAM, channel_id=OTHER, user_id="U0ALICE", user_name="alice")
TEAM_MENTION = "<!subteam^S0DWH|@dwh-team>"

Build = Callable[..., Answers]


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def web_client(slack: FakeSlack) -> WebClient:
    return make_web_client(
        Settings(slack_api_url=slack.url, slack_bot_token=Secret("xoxb-test-token"))
    )


@pytest.fixture
def build(
    store: Store, clock: FakeClock, web_client: WebClient, demo_cache: ReleaseCache
) -> Build:
    """Answers with the subscription service; settings and time zones can be overridden."""

    def make(**settings: object) -> Answers:
        service = SubscriptionCommands(
            store,
            settings=Settings(**settings),  # type: ignore[arg-type]
            group_names=ReleaseFinder(demo_cache).group_names,
            user_timezone=slack_user_timezone(web_client),
            clock=clock,
        )
        return Answers(ReleaseFinder(demo_cache), clock=clock, subscriptions=service)

    return make


@pytest.fixture
def answers(build: Build) -> Answers:
    return build()


def _in_channel(reply: Reply) -> str:
    assert reply.mode == "in_channel", reply
    assert_valid(reply.message, allow=("<@U0ALICE>", "<@U0BOB>"))
    return all_text(reply.message)


def _ephemeral(reply: Reply) -> str:
    assert reply.mode == "ephemeral", reply
    assert_valid(reply.message, allow=("<@U0BOSS>", "<@U0CHIEF>"))
    return all_text(reply.message)


# ---- subscribe ----------------------------------------------------------------------------


def test_subscribe_is_confirmed_in_the_channel_and_stored(answers: Answers, store: Store) -> None:
    text = _in_channel(answers.command("subscribe group:DWH_GROUP", ALICE))
    assert "<@U0ALICE> subscribed this channel" in text
    assert "open · group DWH_GROUP" in text
    assert "closes is reported too" in text
    (sub,) = store.subscriptions.in_channel(TEAM, CHANNEL)
    assert (sub.kind, sub.filters, sub.created_by, sub.mention) == (
        "change", "open group:DWH_GROUP", "U0ALICE", None,
    )
    assert f"#{sub.id}" in text
    assert store.subscriptions.in_channel(TEAM, OTHER) == []


def test_subscribe_keeps_filters_not_paging(answers: Answers, store: Store) -> None:
    answers.command("subscribe closed name:R* page:3 format:full refresh", ALICE)
    (sub,) = store.subscriptions.in_channel(TEAM, CHANNEL)
    assert sub.filters == "closed name:R*"


def test_the_mention_is_stored_but_not_pinged_by_the_confirmation(
    answers: Answers, store: Store
) -> None:
    text = _in_channel(answers.command(f"subscribe group:DWH_GROUP mention:{TEAM_MENTION}", ALICE))
    assert "mentions @dwh-team" in text
    assert "subteam" not in text
    assert store.subscriptions.in_channel(TEAM, CHANNEL)[0].mention == TEAM_MENTION


def test_the_same_subscription_twice_is_refused(answers: Answers, store: Store) -> None:
    answers.command("subscribe group:DWH_GROUP", ALICE)
    text = _ephemeral(answers.command("subscribe group:DWH_GROUP", BOB))
    assert "already has that subscription (#" in text
    assert len(store.subscriptions.in_channel(TEAM, CHANNEL)) == 1
    _in_channel(answers.command("subscribe group:DWH_GROUP", ELSEWHERE))  # other channel: fine


def test_repeating_a_paused_subscription_resumes_it(answers: Answers, store: Store) -> None:
    answers.command("subscribe group:DWH_GROUP", ALICE)
    store.subscriptions.pause_channel(TEAM, CHANNEL, "the app is not a member of this channel")
    text = _in_channel(answers.command("subscribe group:DWH_GROUP", BOB))
    assert "<@U0BOB> resumed" in text
    assert "not a member" in text
    (sub,) = store.subscriptions.in_channel(TEAM, CHANNEL)
    assert not sub.paused


def test_a_channel_has_a_limit(answers: Answers, store: Store) -> None:
    for i in range(MAX_PER_CHANNEL):
        store.subscriptions.add_change(
            team_id=TEAM, channel_id=CHANNEL, filters=f"open name:R{i}", created_by="U0ALICE"
        )
    text = _ephemeral(answers.command("subscribe group:DWH_GROUP", ALICE))
    assert f"{MAX_PER_CHANNEL} subscriptions" in text


def test_commands_need_a_channel(answers: Answers) -> None:
    text = _ephemeral(answers.command("subscribe", Caller(team_id=TEAM, user_id="U0ALICE")))
    assert "belong to a channel" in text


# ---- digests and time zones -----------------------------------------------------------------


def test_a_digest_with_a_zone_uses_it(answers: Answers, store: Store, slack: FakeSlack) -> None:
    digest = "digest weekdays 09:00 tz:Europe/Berlin group:LAKE_GROUP"
    text = _in_channel(answers.command(digest, ALICE))
    (sub,) = store.subscriptions.in_channel(TEAM, CHANNEL)
    assert (sub.kind, sub.schedule, sub.timezone, sub.filters) == (
        "digest", "weekdays 09:00", "Europe/Berlin", "open group:LAKE_GROUP",
    )
    assert "<@U0ALICE> set up a digest" in text
    assert "weekdays at 09:00" in text
    assert "Europe/Berlin" in text
    assert "as given with `tz:`" in text
    # 2026-03-02 is a Monday; 08:00 UTC is 09:00 in Berlin, so the first one is Tuesday's
    assert "2026-03-03 08:00 UTC" in text
    assert slack.calls_to("users.info") == []


def test_a_digest_without_a_zone_uses_the_callers_slack_zone(
    answers: Answers, store: Store, slack: FakeSlack
) -> None:
    slack.script.users_tz["U0ALICE"] = "America/New_York"
    text = _in_channel(answers.command("digest mon,thu 07:30", ALICE))
    assert store.subscriptions.in_channel(TEAM, CHANNEL)[0].timezone == "America/New_York"
    assert "America/New_York" in text
    assert "Slack profile" in text
    answers.command("digest daily 07:30", ALICE)
    assert store.subscriptions.in_channel(TEAM, CHANNEL)[1].timezone == "America/New_York"
    (call,) = slack.calls_to("users.info")  # the second digest used the cached answer
    assert call.args["user"] == "U0ALICE"


def test_without_a_slack_zone_the_default_is_used_and_said(
    build: Build, store: Store, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    answers = build(default_timezone="Europe/Vienna")
    slack.script.users_errors["U0ALICE"] = "user_not_found"
    with caplog.at_level(logging.WARNING, logger="bot.notify.subscription_commands"):
        text = _in_channel(answers.command("digest daily 08:00", ALICE))
    assert store.subscriptions.in_channel(TEAM, CHANNEL)[0].timezone == "Europe/Vienna"
    assert "app's default" in text
    assert "users.info for U0ALICE failed (user_not_found)" in caplog.text
    assert "xoxb-test-token" not in caplog.text


def test_an_odd_slack_zone_falls_back_to_the_default(
    answers: Answers, store: Store, slack: FakeSlack
) -> None:
    slack.script.users_tz["U0ALICE"] = "Mars/Olympus_Mons"
    answers.command("digest daily 08:00", ALICE)
    assert store.subscriptions.in_channel(TEAM, CHANNEL)[0].timezone == "UTC"


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("digest weekdays 25:00", "not a time of day"),
        ("digest weekdays 9am", "needs a time"),
        ("digest weekdays 09:00 tz:Mars/Base", "is not a time zone"),
        ("digest someday 09:00", "not a day list"),
    ],
)
def test_bad_digests_get_a_specific_private_answer(
    answers: Answers, store: Store, command: str, says: str
) -> None:
    text = _ephemeral(answers.command(command, ALICE))
    assert says in text
    assert store.subscriptions.in_channel(TEAM, CHANNEL) == []


def test_user_zone_lookups_survive_slack_failures(
    slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    broken = WebClient(token="xoxb-x", base_url="http://127.0.0.1:9/api/", timeout=1)
    lookup = slack_user_timezone(broken)
    with caplog.at_level(logging.WARNING, logger="bot.notify.subscription_commands"):
        assert lookup("U0ALICE") is None
    assert "users.info for U0ALICE failed" in caplog.text


def test_user_zones_are_cached_briefly(slack: FakeSlack, web_client: WebClient) -> None:
    clock = FakeClock()
    lookup = slack_user_timezone(web_client, ttl_seconds=60, clock=clock)
    slack.script.users_tz["U0ALICE"] = "Europe/Paris"
    assert lookup("U0ALICE") == "Europe/Paris"
    slack.script.users_tz["U0ALICE"] = "Asia/Tokyo"
    assert lookup("U0ALICE") == "Europe/Paris"
    clock.advance(61.0)
    assert lookup("U0ALICE") == "Asia/Tokyo"
    assert len(slack.calls_to("users.info")) == 2


# ---- the list ------------------------------------------------------------------------------


def test_the_list_has_a_remove_button_per_row_and_shows_pauses(
    answers: Answers, store: Store, clock: FakeClock
) -> None:
    answers.command(f"subscribe group:DWH_GROUP mention:{TEAM_MENTION}", ALICE)
    answers.command("digest weekdays 09:00 tz:Europe/Berlin", BOB)
    store.subscriptions.add_change(
        team_id=TEAM, channel_id=OTHER, filters="open", created_by="U0ALICE"
    )
    clock.advance(timedelta(minutes=5))
    change, digest = store.subscriptions.in_channel(TEAM, CHANNEL)
    pause(
        store, change.id, "the app is not a member of this channel (not_in_channel)", clock.now()
    )

    reply = answers.command("subscriptions", BOB)
    assert reply.mode == "ephemeral"
    assert_valid(reply.message, allow=("<@U0ALICE>", "<@U0BOB>"))
    text = all_text(reply.message)
    assert "Subscriptions in this channel · 2" in text
    assert "Paused" in text
    assert "not a member of this channel (not_in_channel)" in text
    assert "mentions @dwh-team" in text
    assert "weekdays at 09:00 (Europe/Berlin)" in text
    assert "Next:" in text
    found = [act.decode(b["action_id"], b["value"]) for b in buttons(reply.message)]
    assert found == [
        act.RemoveSubscription(change.id), act.RemoveSubscription(digest.id)
    ]
    block_ids = [b.get("block_id") for b in reply.message.blocks if "accessory" in b]
    assert block_ids == [f"subscription:{change.id}", f"subscription:{digest.id}"]


def test_an_empty_list_says_how_to_start(answers: Answers) -> None:
    text = _ephemeral(answers.command("subscriptions", ALICE))
    assert "no subscriptions" in text
    assert "/releases subscribe" in text


def test_a_full_list_stays_within_limits(answers: Answers, store: Store) -> None:
    nasty = 'name:"<!channel> & <@U1> ' + "x" * 150 + '"'
    for i in range(MAX_PER_CHANNEL):
        store.subscriptions.add_change(
            team_id=TEAM, channel_id=CHANNEL, filters=f"open {nasty}{i}",
            created_by="U0ALICE", mention=TEAM_MENTION,
        )
    reply = answers.command("subscriptions", ALICE)
    assert_valid(reply.message, allow=("<@U0ALICE>",))
    assert len(buttons(reply.message)) == MAX_PER_CHANNEL


# ---- unsubscribe and the Remove button ------------------------------------------------------


def _subscribe_two(answers: Answers, store: Store) -> tuple[int, int]:
    answers.command("subscribe group:DWH_GROUP", ALICE)
    answers.command("subscribe group:LAKE_GROUP", ALICE)
    first, second = (s.id for s in store.subscriptions.in_channel(TEAM, CHANNEL))
    return first, second


def test_unsubscribe_one(answers: Answers, store: Store) -> None:
    first, second = _subscribe_two(answers, store)
    text = _in_channel(answers.command(f"unsubscribe {first}", BOB))
    assert f"<@U0BOB> removed #{first}" in text
    assert "group DWH_GROUP" in text
    assert [s.id for s in store.subscriptions.in_channel(TEAM, CHANNEL)] == [second]


def test_unknown_ids_remove_nothing(answers: Answers, store: Store) -> None:
    first, _ = _subscribe_two(answers, store)
    text = _ephemeral(answers.command(f"unsubscribe {first},9999", BOB))
    assert "no subscription #9999 in this channel" in text
    assert "removed nothing" in text
    assert len(store.subscriptions.in_channel(TEAM, CHANNEL)) == 2


def test_another_channels_id_is_not_found_here(answers: Answers, store: Store) -> None:
    answers.command("subscribe group:DWH_GROUP", ELSEWHERE)
    (theirs,) = store.subscriptions.in_channel(TEAM, OTHER)
    text = _ephemeral(answers.command(f"unsubscribe {theirs.id}", ALICE))
    assert f"no subscription #{theirs.id} in this channel" in text
    assert store.subscriptions.in_channel(TEAM, OTHER) == [theirs]
    _ephemeral(answers.button(
        act.ACTION_SUBSCRIPTION_REMOVE, act.encode_subscription_remove(theirs.id), ALICE
    ))
    assert store.subscriptions.in_channel(TEAM, OTHER) == [theirs]


def test_unsubscribe_all(answers: Answers, store: Store) -> None:
    first, second = _subscribe_two(answers, store)
    answers.command("subscribe group:DWH_GROUP", ELSEWHERE)
    text = _in_channel(answers.command("unsubscribe all", BOB))
    assert f"<@U0BOB> removed all 2 subscriptions of this channel (#{first}, #{second})" in text
    assert store.subscriptions.in_channel(TEAM, CHANNEL) == []
    assert len(store.subscriptions.in_channel(TEAM, OTHER)) == 1
    assert "no subscriptions" in _ephemeral(answers.command("unsubscribe all", BOB))


def test_the_remove_button(answers: Answers, store: Store) -> None:
    first, _ = _subscribe_two(answers, store)
    value = act.encode_subscription_remove(first)
    text = _in_channel(answers.button(f"{act.ACTION_SUBSCRIPTION_REMOVE}:{first}", value, BOB))
    assert f"<@U0BOB> removed #{first}" in text
    again = _ephemeral(answers.button(act.ACTION_SUBSCRIPTION_REMOVE, value, BOB))
    assert f"no subscription #{first}" in again


# ---- who may manage --------------------------------------------------------------------------


def test_only_managers_may_change_subscriptions(build: Build, store: Store) -> None:
    answers = build(subscription_managers=frozenset({"U0BOSS", "U0CHIEF"}))
    for command in ("subscribe group:DWH_GROUP", "digest daily 09:00 tz:UTC", "unsubscribe all"):
        text = _ephemeral(answers.command(command, ALICE))
        assert "only <@U0BOSS>, <@U0CHIEF> can add or remove" in text
    assert store.subscriptions.in_channel(TEAM, CHANNEL) == []

    boss = Caller(team_id=TEAM, channel_id=CHANNEL, user_id="U0BOSS")
    reply = answers.command("subscribe group:DWH_GROUP", boss)
    assert reply.mode == "in_channel"
    (sub,) = store.subscriptions.in_channel(TEAM, CHANNEL)
    refused = answers.button(
        act.ACTION_SUBSCRIPTION_REMOVE, act.encode_subscription_remove(sub.id), ALICE
    )
    assert "only <@U0BOSS>" in _ephemeral(refused)
    listing: Message = answers.command("subscriptions", ALICE).message
    assert "Only <@U0BOSS>, <@U0CHIEF> can add or remove them." in all_text(listing)
    assert len(store.subscriptions.in_channel(TEAM, CHANNEL)) == 1


def test_subscriptions_show_what_delivery_gave_up_on_and_why(
    answers: Answers, store: Store
) -> None:
    answers.command("subscribe group:DWH_GROUP", ALICE)
    answers.command("digest weekdays 09:00 tz:Europe/Berlin", BOB)
    change, digest = store.subscriptions.in_channel(TEAM, CHANNEL)
    rows = store.outbox.commit_poll({}, [
        NewDelivery(subscription_id=sub_id, team_id=TEAM, channel_id=CHANNEL, kind="created",
                    payload={"kind": "created"}, release_id=59)
        for sub_id in (change.id, digest.id)
    ])
    for row in rows:
        store.outbox.mark_failed(row, "URLError: connection refused")
    pause(store, digest.id, "channel_not_found")

    reply = answers.command("subscriptions", BOB)
    assert reply.mode == "ephemeral"
    assert_valid(reply.message, allow=("<@U0ALICE>", "<@U0BOB>"))
    text = all_text(reply.message)
    assert "*Notifications that could not be posted here*" in text
    assert f"release 59 (subscription #{change.id})" in text
    assert f"(subscription #{digest.id})" not in text  # paused: its own row says why
    assert "1 attempt: URLError: connection refused" in text


# ---- App Home's rows ----------------------------------------------------------------------


def test_app_home_gets_the_lists_rows_as_data(
    answers: Answers, store: Store, clock: FakeClock
) -> None:
    answers.command(f"subscribe group:DWH_GROUP mention:{TEAM_MENTION}", ALICE)
    answers.command("digest weekdays 09:00 tz:Europe/Berlin", BOB)
    change, _ = store.subscriptions.in_channel(TEAM, CHANNEL)
    pause(store, change.id, "the app was removed from the channel", clock.now())
    listing = answers.command("subscriptions", ALICE).message
    service = answers.subscriptions
    assert isinstance(service, SubscriptionCommands)

    rows = service.rows(ALICE)

    assert rows == tuple(b["text"]["text"] for b in listing.blocks if "accessory" in b)
    assert "Paused" in rows[0]
    assert "weekdays at 09:00" in rows[1]
    assert service.rows(ELSEWHERE) == ()
