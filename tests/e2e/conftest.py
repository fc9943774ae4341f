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

from bot.demo.api_server import DEMO_TOKEN, DemoApiServer
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
    "SLACK_TIMEOUT_SECONDS",
    "SLACK_RETRY_BASE_SECONDS",
    "METAKRAFTWERK_URL",
    "METAKRAFTWERK_TOKEN",
    "METAKRAFTWERK_EMAIL",
    "METAKRAFTWERK_PASSWORD",
    "CACHE_TTL_SECONDS",
    "CACHE_MAX_ENTRIES",
    "CACHE_URL",
    "API_DEADLINE_SECONDS",
    "DATABASE_URL",
    "POLL_INTERVAL_SECONDS",
    "PORT",
    "METRICS_PORT",
    "DEFAULT_TIMEZONE",
    "DIGEST_GRACE_MINUTES",
    "SUBSCRIPTION_MANAGERS",
    "LISTENER_THREADS",
    "WORK_QUEUE_LIMIT",
    "LOG_LEVEL",
    "WEB_CONCURRENCY",
    "RELEASES_BOT_MODE",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "PUBLIC_URL",
    "SECRET_KEYS",
    "METAKRAFTWERK_ALLOWED_URLS",
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
    with running_web(e2e_demo, fake_slack, workdir, CACHE_TTL_SECONDS="60") as process:
        yield process


def web_env(
    demo: DemoApiServer, slack: FakeSlack, workdir: Path, **overrides: str
) -> dict[str, str]:
    """The documented environment of a deployment against `demo` and `slack`, with its
    database in `workdir`; `overrides` set or replace variables."""
    return clean_env(
        **{
            "PORT": str(free_port()),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.url,
            "METAKRAFTWERK_URL": demo.url,
            "METAKRAFTWERK_TOKEN": DEMO_TOKEN,
            "DATABASE_URL": f"sqlite:///{workdir / 'bot.db'}",
            **overrides,
        }
    )


@contextlib.contextmanager
def running_web(
    demo: DemoApiServer, slack: FakeSlack, workdir: Path, **overrides: str
) -> Iterator[WebProcess]:
    """The Procfile's `web:` process, healthy, until the block ends; then it must stop on
    SIGTERM and its log must hold no traceback. `overrides` go into its environment."""
    env = web_env(demo, slack, workdir, **overrides)
    port = int(env["PORT"])
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
    process = WebProcess(url, proc, log_path, env, http, slack, demo)
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
    # Forked web processes must go with their parent: nothing may be left in its process group.
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


# ---- the notification worker ------------------------------------------------------------

RELEASES_PATH = "/api/v1/releases"
POLL_INTERVAL = "1"  # seconds, so that a scenario of many rounds stays short
ROUND_TIMEOUT = 30.0


@dataclass
class WorkerProcess:
    """One `releases-bot worker`, started from the Procfile's `worker:` line."""

    proc: subprocess.Popen[bytes]
    out_path: Path
    err_path: Path

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def stderr(self, tail: int = 6000) -> str:
        try:
            return self.err_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM, as a platform stops a process: it must exit 0 within STOP_TIMEOUT and
        leave no traceback in its stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                _kill_group(self.proc.pid)
                self.proc.wait(timeout=5)
                raise AssertionError(
                    f"the worker ignored SIGTERM for {STOP_TIMEOUT:.0f} s\n{self.stderr()}"
                ) from None
        assert self.proc.returncode == 0, (
            f"the worker exited with {self.proc.returncode}\n--- its stderr ---\n{self.stderr()}"
        )
        assert "Traceback" not in self.stderr(tail=1_000_000), self.stderr()


class Workers:
    """Starts worker processes with one environment; `stop_all` at the end stops the rest."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.workdir = workdir
        self.started: list[WorkerProcess] = []

    def start(self) -> WorkerProcess:
        n = len(self.started) + 1
        out_path = self.workdir / f"worker-{n}.out"
        err_path = self.workdir / f"worker-{n}.err"
        command = procfile_command("worker")
        with out_path.open("wb") as out, err_path.open("wb") as err:
            proc = subprocess.Popen(
                ["/bin/sh", "-c", f"exec {command}"],
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        worker = WorkerProcess(proc, out_path, err_path)
        self.started.append(worker)
        return worker

    def logs(self, tail: int = 6000) -> str:
        """The end of each worker's stderr, for failure messages and log checks."""
        return "\n".join(
            f"--- worker {i} stderr ---\n{w.stderr(tail)}" for i, w in enumerate(self.started, 1)
        )

    def stop_all(self) -> None:
        """Stop every worker still running; each must have exited 0 (on SIGTERM, not on its
        own accord with an error) and none may have logged a traceback."""
        failures: list[str] = []
        for worker in self.started:
            try:
                worker.stop()
            except AssertionError as exc:
                failures.append(str(exc))
        assert not failures, "\n".join(failures)


@dataclass(frozen=True)
class Answered:
    """One Web API call and what the Slack fake answered to it."""

    method: str
    args: dict[str, Any]
    status: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.body.get("ok"))

    @property
    def error(self) -> str | None:
        return None if self.ok else str(self.body.get("error"))


class RecordingSlack(FakeSlack):
    """FakeSlack that also keeps its answers, so tests can tell a post Slack accepted from one
    it refused (`calls` records both alike)."""

    def __init__(self) -> None:
        super().__init__()
        self.answered: list[Answered] = []

    def answer(
        self, method: str, args: dict[str, Any], token: str | None = None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        status, body, headers = super().answer(method, args, token)
        with self._lock:
            self.answered.append(Answered(method, args, status, body))
            self._lock.notify_all()
        return status, body, headers

    def _answers(self, method: str, channel: str | None) -> list[Answered]:
        with self._lock:
            return [
                a
                for a in self.answered
                if a.method == method and (channel is None or a.args.get("channel") == channel)
            ]

    def accepted(self, method: str, channel: str | None = None) -> list[Answered]:
        """The calls to `method` (in `channel`) that Slack accepted, in order."""
        return [a for a in self._answers(method, channel) if a.ok]

    def refused(self, method: str, channel: str | None = None) -> list[tuple[int, str | None]]:
        """(HTTP status, error) of each call to `method` (in `channel`) that did not go through."""
        return [(a.status, a.error) for a in self._answers(method, channel) if not a.ok]


@dataclass
class Notifier:
    """A deployment's two process types on one SQLite file, with the demo API and the Slack
    fake of this test only."""

    web: WebProcess
    workers: Workers
    demo: DemoApiServer
    slack: RecordingSlack
    database_url: str

    def polls(self) -> int:
        """How many complete release lists the demo API has served (one per worker round)."""
        return self.demo.counts.count(path=RELEASES_PATH, method="GET", params={})

    def wait_rounds(self, rounds: int = 1, timeout: float = ROUND_TIMEOUT) -> None:
        """Wait until `rounds` whole worker rounds ran after this call: a round that has
        fetched is finished once the next one fetches, hence the one extra fetch."""
        target = self.polls() + rounds + 1
        deadline = time.monotonic() + timeout
        while self.polls() < target:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no {rounds} worker round(s) within {timeout:.0f} s\n{self.workers.logs()}"
                )
            time.sleep(0.05)


@pytest.fixture
def notifier(tmp_path: Path) -> Iterator[Notifier]:
    """The Procfile's `web` and one `worker` on a fresh SQLite file, polling every second,
    against a fresh demo API and Slack fake; more workers start with `workers.start()`."""
    slack = RecordingSlack()
    with (
        DemoApiServer() as demo,
        slack,
        running_web(
            demo, slack, tmp_path, POLL_INTERVAL_SECONDS=POLL_INTERVAL, CACHE_TTL_SECONDS="1"
        ) as web_process,
    ):
        workers = Workers(web_process.env, tmp_path)
        try:
            workers.start()
            yield Notifier(web_process, workers, demo, slack, web_process.env["DATABASE_URL"])
        finally:
            workers.stop_all()
