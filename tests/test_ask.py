"""`releases-bot ask`: every command the help advertises, and a quiet exit."""

from __future__ import annotations

import io
import logging
import threading
from pathlib import Path

import pytest

from bot.config import Settings
from bot.console import ask
from bot.demo import DemoApiServer
from bot.metakraftwerk.client import GROUPS_PATH
from bot.metakraftwerk.errors import ReleaseNotFound
from bot.query import Query
from bot.wiring import build_services


def test_ask_lists_the_subscriptions(tmp_path: Path) -> None:
    out = io.StringIO()
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'bot.db'}")
    assert ask(settings, "/releases subscriptions", out=out) == 0
    assert "not available" not in out.getvalue()
    assert "subscriptions" in out.getvalue().lower()


def test_ask_subscribes(tmp_path: Path) -> None:
    out = io.StringIO()
    assert ask(Settings(), "/releases subscribe group:DWH_GROUP", out=out) == 0
    assert "subscribed this channel" in out.getvalue()


def test_closing_waits_for_a_group_name_fetch_still_on_its_way(
    demo_api: DemoApiServer, demo_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    services = build_services(demo_settings)
    demo_api.switches.hang(path=GROUPS_PATH)
    with pytest.raises(ReleaseNotFound):
        services.finder.find(Query(release_id=99999))  # answers before the names arrive
    answered = threading.Timer(1.0, demo_api.switches.release_hang)
    answered.start()
    with caplog.at_level(logging.WARNING):
        services.close()
        # close() returned only after the fetch got its answer, over a client still open.
        assert not answered.is_alive()
    assert caplog.records == [], caplog.text


def test_the_demo_api_says_nothing_when_a_client_hangs_up(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with DemoApiServer() as api:
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except ConnectionResetError:
            api.handle_client_error(("127.0.0.1", 1))
    assert capsys.readouterr().err == ""


def test_ask_refuses_a_slash_command_that_is_not_ours(tmp_path: Path) -> None:
    out = io.StringIO()
    assert ask(Settings(), "/deploy now", out=out) == 1
    assert "/deploy" in out.getvalue()
    assert "No release named" not in out.getvalue()
    assert "Only /releases is known here" in out.getvalue()


def test_ask_suggests_the_command_for_a_typo_in_it(tmp_path: Path) -> None:
    out = io.StringIO()
    assert ask(Settings(), "/releasse open", out=out) == 1
    assert "Did you mean `/releases open`?" in out.getvalue()


def test_ask_prints_no_buttons_that_cannot_be_pressed() -> None:
    out = io.StringIO()
    assert ask(Settings(), "/releases group:DWH_GROUP", out=out) == 0
    assert "R59" in out.getvalue()
    assert "[1]" not in out.getvalue()
    assert "Share in channel" not in out.getvalue()
    as_json = io.StringIO()
    assert ask(Settings(), "/releases group:DWH_GROUP", as_json=True, out=as_json) == 0
    assert "Share in channel" in as_json.getvalue()  # the JSON keeps every block
