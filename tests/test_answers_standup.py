"""`/releases standup`: closing times the worker saw, and days counted in the caller's zone."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from bot.app.answers import Answers, Caller
from bot.app.finder import ReleaseFinder
from bot.cache.release_cache import ReleaseCache
from bot.demo import DemoApiServer
from bot.render.text import render_text
from tests.fakes.clock import FakeClock

CALLER = Caller(team_id="T1", channel_id="C1", user_id="U0NZ")


def _closed_section(answers: Answers, text: str = "standup group:DWH_GROUP") -> str:
    shown = render_text(answers.command(text, CALLER).message).text
    return shown.partition("Closed ")[2]


def test_a_release_closed_early_is_in_closed_since(
    demo_api: DemoApiServer, demo_cache: ReleaseCache
) -> None:
    demo_api.data.close("R59")  # its end date is days away
    seen = datetime.now(UTC) - timedelta(hours=1)
    asked: list[list[int]] = []

    def closed_times(ids: Iterable[int]) -> dict[int, datetime]:
        asked.append(sorted(ids))
        return {59: seen}

    without = Answers(ReleaseFinder(demo_cache))
    assert "R59" not in _closed_section(without)
    answers = Answers(ReleaseFinder(demo_cache), closed_times=closed_times)
    assert "R59" in _closed_section(answers)
    assert 59 in asked[0]
    assert all(r.closed for r in demo_api.data.releases() if r.id in asked[0])


def test_closing_times_that_cannot_be_read_fall_back_to_the_end_date(
    demo_api: DemoApiServer, demo_cache: ReleaseCache
) -> None:
    def broken(ids: Iterable[int]) -> dict[int, datetime]:
        raise OSError("database is down")

    reply = Answers(ReleaseFinder(demo_cache), closed_times=broken).command("standup", CALLER)
    assert reply.message.meta.get("view") == "standup"


def test_days_are_counted_in_the_callers_time_zone(
    demo_api: DemoApiServer, demo_cache: ReleaseCache
) -> None:
    # Monday 20:00 UTC is Tuesday 09:00 in Auckland: "since yesterday" there, "since Friday" in UTC.
    monday = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
    demo_api.data.update("R9", end_date=datetime(2026, 2, 27, 12, 0, tzinfo=UTC))  # Friday
    demo_api.data.update("R9.HF1", end_date=datetime(2026, 3, 2, 12, 0, tzinfo=UTC))  # Monday
    zones = {"U0NZ": "Pacific/Auckland", "U0BAD": "Not/AZone"}
    answers = Answers(
        ReleaseFinder(demo_cache), clock=FakeClock(monday), user_timezone=zones.get
    )
    in_auckland = _closed_section(answers)
    assert in_auckland.startswith("since yesterday")
    assert "R9.HF1" in in_auckland
    assert "*R9* #29" not in in_auckland
    utc_caller = Caller(team_id="T1", channel_id="C1", user_id="U0BAD")  # unknown zone: UTC
    shown = render_text(answers.command("standup group:DWH_GROUP", utc_caller).message).text
    assert "Closed since Friday" in shown
    assert "*R9* #29" in shown.partition("Closed ")[2]


def test_the_help_says_what_stands_in_without_a_worker() -> None:
    from bot.render.help import render_help

    text = render_text(render_help("standup")).text
    assert "the end date stands in" in text
    assert "Slack time zone" in text
