"""A permission error (missing_scope and the like) fails one delivery: its channel or follow
is paused with the reason, and every other channel and follower still gets its posts. Only a
dead token stops the round."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.app.answers import Caller
from bot.app.finder import ReleaseFinder
from bot.cache.release_cache import ReleaseCache
from bot.demo import DemoApiServer
from bot.i18n import texts_for
from bot.notify.follow_commands import FollowCommands
from bot.notify.store import Store
from bot.notify.worker import Worker
from bot.query import FollowCommand, FollowingCommand
from bot.render.message import Message
from tests.e2e.conftest import all_text
from tests.fakes.clock import FakeClock
from tests.fakes.slack_api import Call, FakeSlack
from tests.notify.test_worker import SETTINGS, _open_release, _subscribe, _web_client

TEAM, ALICE, BOB = "T1", "U0ALICE", "U0BOB"
C1, C2 = "C1", "C2"
PERMISSION_ERRORS = ("missing_scope", "no_permission", "access_denied",
                     "team_access_not_granted", "ekm_access_denied")


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def worker(store: Store, demo_cache: ReleaseCache, slack: FakeSlack, clock: FakeClock) -> Worker:
    return Worker(
        store, ReleaseFinder(demo_cache), _web_client(slack), settings=SETTINGS, clock=clock,
        holder_id="w1",
    )


def _posted(slack: FakeSlack, channel: str) -> list[Call]:
    return [c for c in slack.calls_to("chat.postMessage") if c.args.get("channel") == channel]


def _releases(api: DemoApiServer, count: int) -> list[int]:
    ids = [r.id for r in api.data.releases()
           if not r.closed and not r.deleted and r.name != "Default Release"]
    return ids[:count]


def _following(store: Store, demo_cache: ReleaseCache, user: str) -> Message:
    commands = FollowCommands(store, ReleaseFinder(demo_cache))
    return commands.handle(FollowingCommand(), Caller(team_id=TEAM, user_id=user)).message


@pytest.mark.parametrize("error", PERMISSION_ERRORS)
def test_a_followers_refused_direct_message_stops_neither_channels_nor_other_followers(
    error: str, worker: Worker, store: Store, slack: FakeSlack, demo_api: DemoApiServer,
    clock: FakeClock, demo_cache: ReleaseCache,
) -> None:
    followed = _open_release(demo_api)
    others = [i for i in _releases(demo_api, 4) if i != followed.id][:3]
    store.follows.follow(TEAM, ALICE, followed.id)  # an install without im:write: refused
    store.follows.follow(TEAM, ALICE, others[0])  # her second follow: she is told once only
    store.follows.follow(TEAM, BOB, followed.id)
    _subscribe(store, C1)
    _subscribe(store, C2)
    worker.poll_once()
    slack.script.dm_errors[ALICE] = error
    for release_id in [followed.id, *others]:  # the follower's message comes first
        demo_api.data.close(release_id)
    clock.advance(timedelta(minutes=1))
    worker.poll_once()
    for channel in (C1, C2):
        assert len(_posted(slack, channel)) == 4, (channel, slack.calls)
    assert len(_posted(slack, f"D{BOB}")) == 1  # the other follower's DM went out
    assert store.worker_status.token_refused() is None
    # Alice is told once, in the app's Messages tab (her user id: chat:write is enough),
    # though both her follows were paused.
    assert len(store.outbox.paused_follows.reasons()) == 2
    [notice] = _posted(slack, ALICE)
    assert error in notice.args["text"]
    assert f"/releases follow {followed.id}" in notice.args["text"]
    listed = all_text(_following(store, demo_cache, ALICE).blocks)
    assert "Paused" in listed
    assert error in listed

    # The paused follow is not tried again, and nobody is told twice.
    demo_api.data.open(followed.id)
    clock.advance(timedelta(minutes=1))
    worker.poll_once()
    assert len(slack.calls_to("conversations.open")) == 4  # Alice twice, Bob twice
    assert len(_posted(slack, ALICE)) == 1
    assert len(_posted(slack, f"D{BOB}")) == 2

    # Following again resumes it.
    del slack.script.dm_errors[ALICE]
    commands = FollowCommands(store, ReleaseFinder(demo_cache))
    answer = commands.handle(FollowCommand(release_id=followed.id),
                             Caller(team_id=TEAM, user_id=ALICE)).message
    assert "again" in answer.text
    assert all_text(_following(store, demo_cache, ALICE).blocks).count("Paused") == 1
    demo_api.data.close(followed.id)
    clock.advance(timedelta(minutes=1))
    worker.poll_once()
    assert len(_posted(slack, f"D{ALICE}")) == 1


def test_a_refused_post_in_the_direct_message_itself_pauses_only_that_follow(
    worker: Worker, store: Store, slack: FakeSlack, demo_api: DemoApiServer, clock: FakeClock,
) -> None:
    followed = _open_release(demo_api)
    store.follows.follow(TEAM, ALICE, followed.id)
    _subscribe(store, C1)
    worker.poll_once()
    slack.script.channel_errors[f"D{ALICE}"] = "missing_scope"
    demo_api.data.close(followed.id)
    clock.advance(timedelta(minutes=1))
    worker.poll_once()
    assert len(_posted(slack, C1)) == 1
    assert store.outbox.paused_follows.reasons().values()
    assert store.worker_status.token_refused() is None


@pytest.mark.parametrize("error", PERMISSION_ERRORS)
def test_a_channels_refused_post_pauses_that_channel_alone_and_says_why(
    error: str, worker: Worker, store: Store, slack: FakeSlack, demo_api: DemoApiServer,
    clock: FakeClock,
) -> None:
    first = _subscribe(store, C1)
    _subscribe(store, C2)
    worker.poll_once()
    slack.script.channel_errors[C1] = error
    for release_id in _releases(demo_api, 3):
        demo_api.data.close(release_id)
    clock.advance(timedelta(minutes=1))
    report = worker.poll_once()
    assert len(_posted(slack, C1)) == 1  # tried once, then paused
    assert len(_posted(slack, C2)) == 3
    assert report.paused_channels == (C1,)
    paused = store.subscriptions.get(TEAM, C1, first)
    assert paused is not None
    assert paused.paused_reason is not None
    assert error in paused.paused_reason
    assert store.worker_status.token_refused() is None


@pytest.mark.parametrize("error", ["invalid_auth", "token_revoked", "account_inactive"])
def test_a_dead_token_still_stops_the_round(
    error: str, worker: Worker, store: Store, slack: FakeSlack, demo_api: DemoApiServer,
    clock: FakeClock,
) -> None:
    _subscribe(store, C1)
    _subscribe(store, C2)
    worker.poll_once()
    slack.script.chat_error = error
    for release_id in _releases(demo_api, 3):
        demo_api.data.close(release_id)
    clock.advance(timedelta(minutes=1))
    worker.poll_once()
    assert len(slack.calls_to("chat.postMessage")) == 1
    refusal = store.worker_status.token_refused()
    assert refusal is not None
    assert refusal.error == error


def test_the_pause_of_an_ended_follow_is_purged(store: Store) -> None:
    kept, _ = store.follows.follow(TEAM, ALICE, 1)
    ended, _ = store.follows.follow(TEAM, ALICE, 2)
    pauses = store.outbox.paused_follows
    assert pauses.pause(kept.id, "missing_scope", user_id=ALICE)
    assert not pauses.pause(kept.id, "missing_scope", user_id=ALICE)  # said once
    assert pauses.pause(ended.id, "missing_scope", user_id=ALICE)
    assert store.follows.unfollow(TEAM, ALICE, 2)
    assert pauses.purge() == 1
    assert set(pauses.reasons()) == {kept.id}
    assert pauses.users() == {ALICE}
    assert pauses.resume(kept.id)
    assert not pauses.resume(kept.id)
    assert pauses.reasons() == {}
    assert pauses.purge() == 0


def test_a_german_follower_is_told_in_german_and_a_german_channel_reads_german(
    worker: Worker, store: Store, slack: FakeSlack, demo_api: DemoApiServer, clock: FakeClock,
    demo_cache: ReleaseCache,
) -> None:
    followed = _open_release(demo_api)
    store.languages.choose_language(TEAM, ALICE, "de")  # `/releases language de`
    store.follows.follow(TEAM, ALICE, followed.id)
    store.follows.follow(TEAM, BOB, followed.id)
    _subscribe(store, C1, language="de")
    _subscribe(store, C2)
    worker.poll_once()
    slack.script.dm_errors[ALICE] = "missing_scope"
    demo_api.data.close(followed.id)
    clock.advance(timedelta(minutes=1))
    worker.poll_once()
    [notice] = _posted(slack, ALICE)
    assert notice.args["text"].startswith(
        "Ich konnte dir keine Direktnachricht zu Release #"
    ), notice.args["text"]
    assert "der Installation der App fehlt eine Berechtigung" in notice.args["text"]
    assert "(missing_scope)" in notice.args["text"]
    [english_dm] = _posted(slack, f"D{BOB}")
    assert english_dm.args["text"] == f"{followed.name} closed"
    [german_post] = _posted(slack, C1)
    assert german_post.args["text"].startswith(f"{followed.name} geschlossen")
    [english_post] = _posted(slack, C2)
    assert english_post.args["text"].startswith(f"{followed.name} closed")
    commands = FollowCommands(store, ReleaseFinder(demo_cache))
    listed = commands.handle(FollowingCommand(), Caller(team_id=TEAM, user_id=ALICE),
                             texts_for("de")).message
    assert "Pausiert: der Installation der App fehlt eine Berechtigung" in all_text(listed.blocks)
