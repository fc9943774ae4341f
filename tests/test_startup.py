"""Waiting for the database at start, and telling a database no other process can share."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from bot.config import ConfigError
from bot.notify.store.probe import ProbeFailed
from bot.startup import database_reachable_now, private_database, wait_for_database

PG = "postgresql://bot:pw@db.internal:5432/bot"


def test_an_absent_database_is_named_once_retried_and_then_used(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[str] = []

    def probe(url: str) -> None:
        calls.append(url)
        if len(calls) < 4:
            raise ProbeFailed("cannot connect: OperationalError: connection refused")

    with caplog.at_level(logging.DEBUG, logger="bot.startup"):
        assert wait_for_database(PG, threading.Event(), probe=probe, first=0.01, cap=0.02)
    assert len(calls) == 4
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 2, warnings  # what is wrong, once; then that it answers
    assert "cannot be reached" in warnings[0]
    assert "connection refused" in warnings[0]
    assert "pw" not in caplog.text
    assert not any(r.exc_info for r in caplog.records)


def test_a_stop_ends_the_wait() -> None:
    stop = threading.Event()

    def probe(url: str) -> None:
        stop.set()
        raise ProbeFailed("cannot connect")

    assert wait_for_database(PG, stop, probe=probe, first=0.01) is False


def test_sqlite_is_never_waited_for() -> None:
    def probe(url: str) -> None:
        raise AssertionError("probed")

    assert wait_for_database("sqlite:///bot.db", threading.Event(), probe=probe)


@pytest.mark.parametrize(
    ("environ", "mark", "where"),
    [
        ({"DYNO": "worker.1"}, None, "a Heroku dyno"),
        ({"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, None, "a Kubernetes pod"),
        ({}, ".dockerenv", "a container"),
    ],
)
def test_sqlite_in_a_container_cannot_be_shared(
    tmp_path: Path, environ: dict[str, str], mark: str | None, where: str
) -> None:
    if mark is not None:
        (tmp_path / mark).touch()
    warning = private_database("sqlite:///releases-bot.db", environ, root=tmp_path)
    assert warning is not None
    assert where in warning
    assert "PostgreSQL" in warning


def test_postgresql_or_one_machine_is_no_warning(tmp_path: Path) -> None:
    assert private_database(PG, {"DYNO": "web.1"}, root=tmp_path) is None
    assert private_database("sqlite:///releases-bot.db", {}, root=tmp_path) is None


def test_a_one_off_run_is_told_at_once_in_one_line() -> None:
    def probe(url: str) -> None:
        raise ProbeFailed("cannot connect: OperationalError: connection refused")

    with pytest.raises(ConfigError, match="cannot be reached") as raised:
        database_reachable_now(PG, probe=probe)
    assert "pw" not in str(raised.value)
    assert "\n" not in str(raised.value)
