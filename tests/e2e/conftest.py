"""The web process as a deployment runs it, against a demo API and a stand-in for Slack.

`web` starts the Procfile's `web:` line in a subprocess with the documented environment, waits
for GET /healthz, and stops it at the end. The demo API and FakeSlack run in the test process,
so tests can flip the demo's switches, read its request counts and see what the bot sent.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.demo.server import DEMO_TOKEN, DemoApiServer
from tests.fakes.signing import (
    SIGNING_SECRET,
    interactive_body,
    post_signed,
    slash_command_body,
)
from tests.fakes.slack_api import FakeSlack, ResponseUrlPost

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
BOT_TOKEN = "xoxb-test"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
ANSWER_TIMEOUT = 15.0

# Every variable the bot reads; the web process gets only the ones a test sets.
BOT_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "METAKRAFTWERK_URL",
    "METAKRAFTWERK_TOKEN",
    "METAKRAFTWERK_EMAIL",
    "METAKRAFTWERK_PASSWORD",
    "CACHE_TTL_SECONDS",
    "CACHE_MAX_ENTRIES",
    "API_DEADLINE_SECONDS",
    "DATABASE_URL",
    "POLL_INTERVAL_SECONDS",
    "PORT",
    "DEFAULT_TIMEZONE",
    "DIGEST_GRACE_MINUTES",
    "SUBSCRIPTION_MANAGERS",
    "LISTENER_THREADS",
    "LOG_LEVEL",
    "WEB_CONCURRENCY",
)


def clean_env(**overrides: str) -> dict[str, str]:
    """The test's environment without any bot setting, with the venv's scripts on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in BOT_VARIABLES}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def procfile_command(kind: str) -> str:
    """The command line of one process type in the Procfile."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() == kind:
            return command.strip()
    raise AssertionError(f"Procfile has no {kind}: line")


@dataclass
class WebProcess:
    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str]
    http: httpx.Client
    slack: FakeSlack
    demo: DemoApiServer

    def log(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    @property
    def events_url(self) -> str:
        return f"{self.url}/slack/events"

    # ---- requests as Slack sends them ---------------------------------------------------

    def command(
        self, text: str, key: str | None = None, **kwargs: Any
    ) -> tuple[str, httpx.Response]:
        """POST a signed `/releases <text>`; returns the response_url key and the HTTP ack."""
        key = key or new_key()
        body = slash_command_body(text, response_url=self.slack.response_url(key))
        response = post_signed(self.http, self.events_url, body, **kwargs)
        return key, response

    def interact(self, payload: dict[str, Any]) -> httpx.Response:
        return post_signed(self.http, self.events_url, interactive_body(payload))

    def answers(
        self, key: str, count: int = 1, timeout: float = ANSWER_TIMEOUT
    ) -> list[ResponseUrlPost]:
        posts = self.slack.wait_responses(key, count, timeout)
        assert len(posts) >= count, (
            f"expected {count} post(s) to response_url {key}, got {len(posts)}\n"
            f"--- web process log ---\n{self.log()}"
        )
        return posts

    def answer(self, key: str, timeout: float = ANSWER_TIMEOUT) -> dict[str, Any]:
        """The first post to response_url `key`."""
        return self.answers(key, 1, timeout)[0].body

    def ask(self, text: str) -> dict[str, Any]:
        """`/releases <text>`: the ack must be a 200, the answer is what reached response_url."""
        key, response = self.command(text)
        assert response.status_code == 200, response.text
        return self.answer(key)


def new_key() -> str:
    return uuid.uuid4().hex[:12]


@pytest.fixture(scope="session")
def e2e_demo() -> Iterator[DemoApiServer]:
    with DemoApiServer() as api:
        yield api


@pytest.fixture(scope="session")
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


@pytest.fixture(scope="session")
def web(
    e2e_demo: DemoApiServer, fake_slack: FakeSlack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebProcess]:
    """`releases-bot serve` as the Procfile runs it, until the end of the session."""
    workdir = tmp_path_factory.mktemp("web")
    port = free_port()
    env = clean_env(
        PORT=str(port),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.url,
        METAKRAFTWERK_URL=e2e_demo.url,
        METAKRAFTWERK_TOKEN=DEMO_TOKEN,
        DATABASE_URL=f"sqlite:///{workdir / 'bot.db'}",
        CACHE_TTL_SECONDS="60",
    )
    log_path = workdir / "web.log"
    command = procfile_command("web")
    with log_path.open("wb") as log_file:
        # A Procfile line is a shell command; `exec` makes the server itself our child.
        proc = subprocess.Popen(
            ["/bin/sh", "-c", f"exec {command}"],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    http = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=100))
    process = WebProcess(url, proc, log_path, env, http, fake_slack, e2e_demo)
    try:
        _wait_healthy(process)
        yield process
    finally:
        http.close()
        _stop(proc, port)
    # Whatever the tests sent, nothing may have failed unhandled inside the server.
    assert "Traceback" not in process.log(tail=1_000_000), process.log()


def _wait_healthy(process: WebProcess) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        if process.proc.poll() is not None:
            pytest.fail(
                f"`{procfile_command('web')}` exited with {process.proc.returncode} before "
                f"it was healthy\n--- its output ---\n{process.log()}"
            )
        try:
            response = process.http.get(f"{process.url}/healthz", timeout=1)
        except httpx.TransportError as exc:
            last = repr(exc)
        else:
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}: {response.text[:200]}"
        time.sleep(0.1)
    pytest.fail(
        f"GET /healthz was not 200 within {START_TIMEOUT:.0f} s ({last})\n"
        f"--- its output ---\n{process.log()}"
    )


def _stop(proc: subprocess.Popen[bytes], port: int) -> None:
    """SIGTERM (what a platform sends), then make sure the server and its workers are gone."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
            proc.wait(timeout=5)
            raise AssertionError(
                f"the web process ignored SIGTERM for {STOP_TIMEOUT:.0f} s"
            ) from None
    # Gunicorn's workers must go with their arbiter: nothing may be left in its process group.
    deadline = time.monotonic() + 5
    while _group_alive(proc.pid):
        if time.monotonic() > deadline:
            _kill_group(proc.pid)
            raise AssertionError("web workers outlived the server process")
        time.sleep(0.05)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        assert sock.connect_ex(("127.0.0.1", port)) != 0, "the web port still accepts connections"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def all_text(value: Any) -> str:
    """Every string inside a message payload, joined, for checks across text and blocks."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "\n".join(all_text(v) for v in value.values())
    if isinstance(value, list | tuple):
        return "\n".join(all_text(v) for v in value)
    return ""
