"""The processes refuse a setting of the wrong mode, or distributed mode without keys, before
they start: one line per problem, exit 2, no traceback. Socket Mode is refused in distributed
mode with the reason."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.secret_box import new_key
from tests.e2e.conftest import free_port
from tests.e2e.test_cli import releases_bot

pytestmark = pytest.mark.slow

PROCESSES = ("serve", "worker", "socket")
KEY = new_key()


def distributed(**changes: str) -> dict[str, str]:
    env = {
        "RELEASES_BOT_MODE": "distributed",
        "SLACK_CLIENT_ID": "1234.5678",
        "SLACK_CLIENT_SECRET": "client-secret-8c1d",
        "SLACK_SIGNING_SECRET": "signing-secret-3f9a",
        "PUBLIC_URL": "https://releases.example.com",
        "SECRET_KEYS": KEY,
        "DATABASE_URL": "postgresql://bot@127.0.0.1:9/bot",
        "PORT": str(free_port()),
    }
    env.update(changes)
    return {k: v for k, v in env.items() if v}


def refusal(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The lines of a start refused before anything ran."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert all(line.startswith("releases-bot: ") for line in lines), result.stderr
    return lines


@pytest.mark.parametrize("command", PROCESSES)
def test_distributed_mode_without_keys_does_not_start(tmp_path: Path, command: str) -> None:
    (line,) = refusal(releases_bot(command, cwd=tmp_path, **distributed(SECRET_KEYS="")))
    assert line == "releases-bot: RELEASES_BOT_MODE=distributed needs SECRET_KEYS"


@pytest.mark.parametrize("command", PROCESSES)
def test_a_key_that_is_not_one_does_not_start(tmp_path: Path, command: str) -> None:
    result = releases_bot(command, cwd=tmp_path, **distributed(SECRET_KEYS=f"{KEY},short"))
    (line,) = refusal(result)
    assert "SECRET_KEYS key 2 is not a Fernet key" in line
    assert "releases-bot keys new" in line
    assert KEY not in result.stderr


@pytest.mark.parametrize("command", PROCESSES)
def test_a_mix_of_modes_names_each_setting_in_a_line_of_its_own(
    tmp_path: Path, command: str
) -> None:
    result = releases_bot(command, cwd=tmp_path, **distributed(
        SLACK_BOT_TOKEN="xoxb-1", METAKRAFTWERK_TOKEN="mk-token-77", SECRET_KEYS=""))
    lines = refusal(result)
    assert len(lines) == 3, lines
    assert "SLACK_BOT_TOKEN is set but RELEASES_BOT_MODE is distributed" in lines[0]
    assert "METAKRAFTWERK_TOKEN is set but RELEASES_BOT_MODE is distributed" in lines[1]
    assert "needs SECRET_KEYS" in lines[2]
    assert "mk-token-77" not in result.stderr


@pytest.mark.parametrize("command", PROCESSES)
def test_single_mode_refuses_a_client_id_beside_the_bot_token(
    tmp_path: Path, command: str
) -> None:
    result = releases_bot(command, cwd=tmp_path, SLACK_BOT_TOKEN="xoxb-1",
                          SLACK_SIGNING_SECRET="s", SLACK_CLIENT_ID="1.2", SECRET_KEYS=KEY)
    (line,) = refusal(result)
    assert "SLACK_CLIENT_ID, SECRET_KEYS are set but RELEASES_BOT_MODE is single" in line
    assert KEY not in result.stderr


def test_socket_mode_is_refused_in_distributed_mode_with_the_reason(tmp_path: Path) -> None:
    (line,) = refusal(releases_bot("socket", cwd=tmp_path, **distributed()))
    assert "`releases-bot socket` cannot run with RELEASES_BOT_MODE=distributed" in line
    assert "installed from a link" in line
    (named,) = refusal(releases_bot("socket", cwd=tmp_path,
                                    **distributed(SLACK_APP_TOKEN="xapp-1")))
    assert "SLACK_APP_TOKEN is set but RELEASES_BOT_MODE is distributed: Socket Mode" in named
