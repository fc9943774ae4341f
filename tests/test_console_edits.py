"""The console's demo edits and worker output read as the help describes them."""

from __future__ import annotations

import io
import logging

import pytest

from bot.app.answers import Answers
from bot.app.finder import ReleaseFinder
from bot.cache.release_cache import ReleaseCache
from bot.console.fake_slack import ConsoleSlack
from bot.console.repl import Console
from bot.demo import DemoApiServer


@pytest.fixture
def console(demo_api: DemoApiServer, demo_cache: ReleaseCache) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    answers = Answers(ReleaseFinder(demo_cache))
    return Console(answers, out, demo=demo_api, on_demo_change=demo_cache.clear), out


def say(console: tuple[Console, io.StringIO], line: str) -> str:
    shell, out = console
    start = len(out.getvalue())
    shell.handle(line)
    return out.getvalue()[start:]


def test_add_takes_the_group_then_the_name_as_the_help_shows(
    console: tuple[Console, io.StringIO], demo_api: DemoApiServer
) -> None:
    text = say(console, ":add DWH_GROUP R99")
    assert "R99" in text
    assert "*R99*" in say(console, "/releases group:DWH_GROUP")
    assert "Status*: Open" in say(console, "/releases group:DWH_GROUP name:R99")  # its card


def test_dates_confirms_the_new_dates(console: tuple[Console, io.StringIO]) -> None:
    text = say(console, ":dates R60 2026-12-01 2026-12-24")
    assert "is now open" not in text
    assert "2026-12-01" in text
    assert "2026-12-24" in text


def test_a_typo_logs_no_warning(
    console: tuple[Console, io.StringIO], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        say(console, "/releases group:NOPE")
        say(console, "/releases #99999")
    assert caplog.records == [], caplog.text


def test_worker_posts_show_a_message_number_not_a_float() -> None:
    printed: list[str] = []
    slack = ConsoleSlack(printed.append)
    slack.answer("chat.update", {"channel": "console", "ts": "3.000000", "text": "x"})
    assert "3.000000" not in printed[0]
    assert "message 3" in printed[0]
