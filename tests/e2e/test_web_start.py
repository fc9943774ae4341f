"""Starting while PostgreSQL is not there yet: the Procfile's web process and worker say so
once, keep /healthz answering 503, and start when the database comes (default settings)."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from bot.demo.api_server import DemoApiServer
from tests.e2e.conftest import _stop, free_port, procfile_command, web_env
from tests.fakes.slack_api import FakeSlack
from tests.fakes.tcp_proxy import TcpProxy
from tests.notify.conftest import pg_url  # noqa: F401 - the fixture, with its own schema

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

PATIENCE = 60.0  # seconds for what must happen eventually (the retries back off to 15 s)


def _until(predicate: Callable[[], bool], what: str, log: Callable[[], str]) -> None:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"{what} did not happen within {PATIENCE:.0f} s\n--- log ---\n{log()}")


def _status(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return None


@contextlib.contextmanager
def _process(kind: str, env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            ["/bin/sh", "-c", f"exec {procfile_command(kind)}"], cwd=log_path.parent, env=env,
            stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        _stop(proc, int(env["PORT"]))


@pytest.fixture
def absent_database(pg_url: str) -> Iterator[tuple[TcpProxy, str]]:  # noqa: F811
    """A DATABASE_URL on a closed port; `proxy.start()` puts PostgreSQL behind it."""
    url = make_url(pg_url)
    proxy = TcpProxy(url.port or 5432, url.host or "127.0.0.1")
    proxy.port = free_port()
    database_url = url.set(host="127.0.0.1", port=proxy.port).render_as_string(
        hide_password=False
    )
    yield proxy, database_url
    proxy.close()


@pytest.mark.parametrize("kind", ["web", "worker"])
def test_a_process_started_before_postgresql_says_so_once_answers_503_and_starts_later(
    absent_database: tuple[TcpProxy, str], tmp_path: Path, kind: str
) -> None:
    proxy, database_url = absent_database
    with DemoApiServer() as demo, FakeSlack() as slack:
        port = free_port()
        env = web_env(demo, slack, tmp_path, DATABASE_URL=database_url)
        if kind == "worker":
            env["METRICS_PORT"] = str(port)
        health = f"http://127.0.0.1:{port if kind == 'worker' else env['PORT']}/healthz"
        log_path = tmp_path / f"{kind}.log"

        def log() -> str:
            return log_path.read_text(errors="replace")

        with _process(kind, env, log_path) as proc:
            _until(lambda: _status(health) == 503, "/healthz answering 503", log)
            _until(lambda: "cannot be reached" in log(), "a line on the database", log)
            time.sleep(3.0)  # a few retries
            assert proc.poll() is None, log()
            assert _status(health) == 503
            assert log().count("cannot be reached") == 1, log()
            assert "Traceback" not in log()

            proxy.start()
            _until(lambda: _status(health) == 200, "/healthz answering 200", log)
            assert "Traceback" not in log()
