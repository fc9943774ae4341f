"""The message shortcut: the freshness it reports covers every lookup it made."""

from __future__ import annotations

from bot.app.answers import Answers, Caller
from bot.app.finder import ReleaseFinder
from bot.cache.release_cache import ReleaseCache
from bot.demo import DemoApiServer
from bot.query import Query
from bot.render.text import render_text
from tests.conftest import ClientFactory
from tests.fakes.clock import FakeClock

CALLER = Caller(team_id="T1", channel_id="C1", user_id="U1")
MESSAGE = "Is R59 on track? It follows #21."


def test_a_stale_name_lookup_makes_the_whole_answer_stale(
    demo_api: DemoApiServer, make_client: ClientFactory
) -> None:
    clock = FakeClock()
    finder = ReleaseFinder(
        ReleaseCache(make_client(deadline_seconds=0.3), ttl_seconds=60, clock=clock), clock=clock
    )
    answers = Answers(finder, clock=clock)
    answers.message_shortcut(MESSAGE, CALLER)  # everything held
    clock.advance(600)
    # The id lookup is fresh again; then MetaKraftwerk fails, so the name lookup is old data.
    finder.find(Query(release_id=21, status="all", deleted="yes", refresh=True))
    demo_api.switches.fail_next(1000, 503)

    text = render_text(answers.message_shortcut(MESSAGE, CALLER).message).text

    assert "R59" in text
    assert "*R1*" in text
    assert "MetaKraftwerk is unavailable (HTTP 503)" in text
    assert "data from just now" not in text


def test_releases_named_in_a_message_are_the_answer_not_everything_its_filter_matches(
    demo_api: DemoApiServer, make_client: ClientFactory
) -> None:
    clock = FakeClock()
    answers = Answers(ReleaseFinder(ReleaseCache(make_client(), clock=clock), clock=clock))
    text = "Can #21, R60 and release 59 ship together? All in group:DWH_GROUP."

    reply = answers.message_shortcut(text, CALLER)
    shown = render_text(reply.message).text

    assert "Releases in this message · 3" in shown
    details = [b for b in render_text(reply.message).buttons if b.label == "Details"]
    assert len(details) == 3


def test_a_message_with_only_filters_still_lists_what_they_match(
    demo_api: DemoApiServer, make_client: ClientFactory
) -> None:
    clock = FakeClock()
    answers = Answers(ReleaseFinder(ReleaseCache(make_client(), clock=clock), clock=clock))

    shown = render_text(answers.message_shortcut("all of group:DWH_GROUP", CALLER).message).text

    assert "Releases in this message · 10" in shown
