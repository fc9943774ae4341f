"""The database in /healthz: a quick ping with a deadline; a stuck database never piles up."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.health import OK, DatabaseProbe
from bot.web import WebApp
from bot.wiring import Services, build_services, build_subscriptions
from tests.slack.support import call


def test_a_ping_that_answers_is_ok() -> None:
    assert DatabaseProbe(lambda: None).check() == OK


def test_a_ping_that_fails_says_down_with_the_kind_of_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def refused() -> None:
        raise ConnectionRefusedError("connection to 127.0.0.1:5432 refused")

    assert DatabaseProbe(refused).check() == "down: ConnectionRefusedError"
    assert "refused" in caplog.text  # the detail is in the log


@pytest.fixture
def stuck() -> Iterator[threading.Event]:
    released = threading.Event()
    yield released
    released.set()


def test_a_ping_that_hangs_is_down_after_the_timeout_and_the_next_check_is_immediate(
    stuck: threading.Event,
) -> None:
    calls: list[float] = []

    def hang() -> None:
        calls.append(time.monotonic())
        stuck.wait(30)

    probe = DatabaseProbe(hang, timeout=0.2)
    assert probe.check() == "down: no answer within 0.2 s"
    assert probe.check() == "down: an earlier check still waits for an answer"
    assert len(calls) == 1  # no second ping while the first is stuck
    stuck.set()
    time.sleep(0.1)
    probe.close()


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'bot.db'}")
    made = build_services(settings, demo=True)
    build_subscriptions(made, None)
    yield made
    made.close()


def test_the_web_process_health_reports_its_database(services: Services) -> None:
    status = services.health()
    assert status["database"] == OK
    assert "status" not in status

    def down() -> None:
        raise OSError("gone")

    services.database = DatabaseProbe(down)
    app = WebApp(lambda e, s: [], services.health)
    answer = call(app, "GET", "/healthz")
    assert answer.status.startswith("503")
    assert b'"database": "down: OSError"' in answer.body
