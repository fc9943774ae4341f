"""The database in /healthz: a quick ping with a deadline; a stuck database never piles up."""

from __future__ import annotations

import contextlib
import json
import socket
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


class GarbageRedis:
    """A "Redis" on loopback that answers anything with raw bytes naming an internal host."""

    REPLY = b"\xff\xfe\x00 10.31.7.2:6379 internal-cache.corp\r\n"

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn, contextlib.suppress(OSError):
                conn.recv(4096)
                conn.sendall(self.REPLY)

    def close(self) -> None:
        self._sock.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("redis_kind", ["closed port", "garbage replies"])
def test_healthz_names_a_redis_fault_in_fixed_words_never_its_error_text(
    tmp_path: Path, redis_kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    garbage = GarbageRedis() if redis_kind == "garbage replies" else None
    port = garbage.port if garbage is not None else _closed_port()
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'bot.db'}", cache_url=f"redis://127.0.0.1:{port}/0"
    )
    made = build_services(settings, demo=True)
    try:
        answer = call(WebApp(lambda e, s: [], made.health), "GET", "/healthz")
    finally:
        made.close()
        if garbage is not None:
            garbage.close()
    cache = json.loads(answer.body)["cache"]
    assert cache["backend"] == "local"
    assert cache["redis"] in REDIS_FAULTS
    for leak in (str(port), "127.0.0.1", "10.31.7.2", "internal-cache", "\\x", "Error"):
        assert leak not in answer.body.decode(), leak
    assert str(port) in caplog.text  # the detail is in the log, for the operator


REDIS_FAULTS = {"unreachable: no connection", "unreachable: no answer in time",
                "unreachable: an error reply", "unreachable: credentials refused"}
