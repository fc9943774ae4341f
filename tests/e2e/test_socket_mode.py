"""`releases-bot socket` as a process, against loopback stand-ins for Slack.

FakeSlack answers apps.connections.open with the URL of a FakeSocketMode server; that server
greets the bot with `hello`, sends a `/releases` envelope and records the ack. The answer itself
goes to a response_url on FakeSlack, as it does from real Slack.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from tests.e2e.conftest import (
    ANSWER_TIMEOUT,
    START_TIMEOUT,
    STOP_TIMEOUT,
    VENV_BIN,
    _kill_group,
    all_text,
    clean_env,
    new_key,
)
from tests.e2e.test_cli import assert_one_line_error, releases_bot
from tests.fakes.signing import event_body, slash_command_body
from tests.fakes.slack_api import Call, FakeSlack
from tests.fakes.socket_mode import FakeSocketMode

pytestmark = pytest.mark.slow

APP_TOKEN = "xapp-test"
BOT_TOKEN = "xoxb-test"


@dataclass
class SocketProcess:
    proc: subprocess.Popen[bytes]
    stderr_path: Path

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def socket_server(slack: FakeSlack) -> Iterator[FakeSocketMode]:
    with FakeSocketMode() as server:
        slack.socket_url = server.url
        yield server


@contextlib.contextmanager
def socket_process(slack: FakeSlack, workdir: Path) -> Iterator[SocketProcess]:
    """`releases-bot socket --demo`; killed at the end if a test left it running."""
    env = clean_env(
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=slack.url,
        DATABASE_URL=f"sqlite:///{workdir / 'bot.db'}",
    )
    stderr_path = workdir / "socket.stderr"
    with stderr_path.open("wb") as stderr_file:
        proc = subprocess.Popen(
            [str(VENV_BIN / "releases-bot"), "socket", "--demo"],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr_file,
            start_new_session=True,
        )
    try:
        yield SocketProcess(proc, stderr_path)
    finally:
        if proc.poll() is None:
            _kill_group(proc.pid)
            proc.wait(timeout=5)


def wait_connected(server: FakeSocketMode, process: SocketProcess) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not server.wait_connected(timeout=0.2):
        if process.proc.poll() is not None:
            pytest.fail(
                f"`releases-bot socket` exited with {process.proc.returncode} before it "
                f"connected\n--- its stderr ---\n{process.stderr()}"
            )
        if time.monotonic() > deadline:
            pytest.fail(
                f"no Socket Mode connection within {START_TIMEOUT:.0f} s\n"
                f"--- its stderr ---\n{process.stderr()}"
            )


def stop(process: SocketProcess, signum: signal.Signals) -> int:
    process.proc.send_signal(signum)
    try:
        return process.proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        _kill_group(process.proc.pid)
        process.proc.wait(timeout=5)
        raise AssertionError(
            f"`releases-bot socket` ignored {signum.name} for {STOP_TIMEOUT:.0f} s\n"
            f"--- its stderr ---\n{process.stderr()}"
        ) from None


def slash_command_envelope(text: str, response_url: str) -> dict[str, object]:
    """A slash command as Socket Mode delivers it: the form fields as a JSON object."""
    payload = dict(parse_qsl(slash_command_body(text, response_url=response_url)))
    return {
        "envelope_id": str(uuid.uuid4()),
        "type": "slash_commands",
        "payload": payload,
        "accepts_response_payload": True,
    }


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_slash_command_over_socket_mode(
    slack: FakeSlack, socket_server: FakeSocketMode, tmp_path: Path, signum: signal.Signals
) -> None:
    with socket_process(slack, tmp_path) as process:
        wait_connected(socket_server, process)

        # The WebSocket URL was asked for with the app-level token, never the bot token.
        opens = slack.calls_to("apps.connections.open")
        assert opens, process.stderr()
        assert {call.token for call in opens} == {APP_TOKEN}
        assert socket_server.paths[0].startswith("/link/?ticket=test-ticket")

        key = new_key()
        envelope = slash_command_envelope("#21", slack.response_url(key))
        socket_server.send(envelope)

        ack = socket_server.wait_received(str(envelope["envelope_id"]), timeout=ANSWER_TIMEOUT)
        assert ack == {"envelope_id": envelope["envelope_id"]}, process.stderr()

        posts = slack.wait_responses(key, timeout=ANSWER_TIMEOUT)
        assert len(posts) == 1, f"no answer at the response_url\n{process.stderr()}"
        answer = posts[0].body
        assert answer["response_type"] == "ephemeral"
        assert answer["replace_original"] is False
        assert "R1" in answer["text"]
        assert "R1" in all_text(answer["blocks"])

        returncode = stop(process, signum)

    stderr = process.stderr()
    assert returncode == 0, stderr
    assert "Traceback" not in stderr, stderr
    assert " ERROR " not in stderr, stderr
    assert "xoxb-test" not in stderr
    assert APP_TOKEN not in stderr
    # Nothing but the one connection: no reconnect loop while running or stopping.
    assert len(slack.calls_to("apps.connections.open")) == 1, stderr


def app_home_opened_envelope(user: str) -> dict[str, object]:
    """An App Home opening as Socket Mode delivers it: the Events API body as the payload."""
    event = {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home",
             "event_ts": "1700000000.000200"}
    return {
        "envelope_id": str(uuid.uuid4()),
        "type": "events_api",
        "payload": json.loads(event_body(event, event_id=f"Ev{uuid.uuid4().hex[:10]}")),
        "accepts_response_payload": False,
    }


def _publishes(slack: FakeSlack, user: str) -> list[Call]:
    return [c for c in slack.calls_to("views.publish") if c.args.get("user_id") == user]


def test_socket_mode_sleeps_out_no_rate_limit(
    slack: FakeSlack, socket_server: FakeSocketMode, tmp_path: Path
) -> None:
    """As in the web process: a 429 fails at once, a refused view is published again later."""
    slack.script.retry_after = 1
    with socket_process(slack, tmp_path) as process:
        wait_connected(socket_server, process)

        # users.conversations is rate-limited: the Home is published without the channels,
        # after one call, not after the client slept out Retry-After and asked again.
        slack.script.rate_limited.add("users.conversations")
        first = f"U{uuid.uuid4().hex[:8].upper()}"
        socket_server.send(app_home_opened_envelope(first))
        assert slack.wait_for(lambda s: _publishes(s, first), timeout=ANSWER_TIMEOUT), (
            process.stderr()
        )
        assert len(slack.calls_to("users.conversations")) == 1, process.stderr()
        assert "rate-limit" in json.dumps(_publishes(slack, first)[0].args["view"])
        slack.script.rate_limited.discard("users.conversations")

        # views.publish is rate-limited: offered to the queue again once Retry-After is over.
        slack.script.rate_limited.add("views.publish")
        second = f"U{uuid.uuid4().hex[:8].upper()}"
        socket_server.send(app_home_opened_envelope(second))
        assert slack.wait_for(lambda s: _publishes(s, second), timeout=ANSWER_TIMEOUT), (
            process.stderr()
        )
        slack.script.rate_limited.discard("views.publish")  # the limit is over
        assert slack.wait_for(
            lambda s: len(_publishes(s, second)) >= 2, timeout=ANSWER_TIMEOUT
        ), process.stderr()
        assert "rate-limited by Slack; trying again" in process.stderr()

        assert stop(process, signal.SIGTERM) == 0
    assert "Traceback" not in process.stderr()


def test_socket_without_the_app_token(tmp_path: Path) -> None:
    result = releases_bot("socket", "--demo", cwd=tmp_path, SLACK_BOT_TOKEN=BOT_TOKEN)
    assert_one_line_error(result, "SLACK_APP_TOKEN")
