"""The `releases-bot` command as an operator runs it: exit codes, output, one-line errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import VENV_BIN, clean_env, free_port
from tests.fakes.slack_api import FakeSlack

pytestmark = pytest.mark.slow

CLI_TIMEOUT = 30


def releases_bot(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the installed command with only the given bot settings in its environment."""
    return subprocess.run(
        [str(VENV_BIN / "releases-bot"), *args],
        cwd=cwd,  # a directory without a .env file
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], variable: str) -> None:
    assert result.returncode != 0, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert lines[0].startswith("releases-bot: ")
    assert "Traceback" not in result.stderr + result.stdout


def test_ask_json_on_the_demo(tmp_path: Path) -> None:
    result = releases_bot("ask", "/releases open", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    message = json.loads(result.stdout)
    assert message["text"].startswith("Open releases")
    assert message["blocks"][0]["type"] == "header"
    assert any(b["type"] == "section" for b in message["blocks"])


def test_ask_with_a_bad_filter_exits_1_with_a_friendly_line(tmp_path: Path) -> None:
    result = releases_bot("ask", "/releases bogus:1", cwd=tmp_path)
    assert result.returncode == 1
    assert "I don't know the filter `bogus:`" in result.stdout
    assert "Valid keys" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_check_without_credentials_checks_the_demo(tmp_path: Path) -> None:
    result = releases_bot("check", cwd=tmp_path)
    assert "demo" in result.stdout
    assert "OK:" in result.stdout
    # Only Slack is at fault: `serve`, `socket` and `worker` need a bot token.
    assert result.returncode == 1, result.stdout + result.stderr
    failed = [line for line in result.stdout.splitlines() if line.startswith("check failed")]
    assert len(failed) == 1, result.stdout
    assert failed[0].startswith("check failed (SLACK_BOT_TOKEN)")


def test_serve_without_the_signing_secret(tmp_path: Path) -> None:
    result = releases_bot(
        "serve",
        cwd=tmp_path,
        PORT=str(free_port()),
        SLACK_BOT_TOKEN="xoxb-test",
        METAKRAFTWERK_TOKEN="some-token",
    )
    assert_one_line_error(result, "SLACK_SIGNING_SECRET")


def test_a_malformed_setting_is_named(tmp_path: Path) -> None:
    result = releases_bot("serve", cwd=tmp_path, CACHE_TTL_SECONDS="abc")
    assert_one_line_error(result, "CACHE_TTL_SECONDS")
    assert "abc" in result.stderr
    checked = releases_bot("check", cwd=tmp_path, CACHE_TTL_SECONDS="abc")
    assert checked.returncode == 1
    assert "check failed (CACHE_TTL_SECONDS): CACHE_TTL_SECONDS must be a number of seconds, " \
        "got 'abc'" in checked.stdout


@pytest.mark.parametrize(
    ("command", "extra"),
    [
        ("serve", {"SLACK_SIGNING_SECRET": "test-signing-secret"}),
        ("socket", {"SLACK_APP_TOKEN": "xapp-test"}),
    ],
)
def test_a_bot_token_slack_refuses_stops_the_start_in_one_line(
    tmp_path: Path, command: str, extra: dict[str, str]
) -> None:
    with FakeSlack() as slack:
        slack.script.rejected_tokens.add("xoxb-revoked")
        result = releases_bot(
            command,
            "--demo",
            cwd=tmp_path,
            PORT=str(free_port()),
            SLACK_BOT_TOKEN="xoxb-revoked",
            SLACK_API_URL=slack.url,
            **extra,
        )
    assert_one_line_error(result, "SLACK_BOT_TOKEN")
    assert "invalid_auth" in result.stderr
    assert "xoxb-revoked" not in result.stderr


def test_an_unreachable_slack_stops_the_start_in_one_line(tmp_path: Path) -> None:
    result = releases_bot(
        "serve",
        "--demo",
        cwd=tmp_path,
        PORT=str(free_port()),
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET="test-signing-secret",
        SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api/",
    )
    assert_one_line_error(result, "SLACK_API_URL")


@pytest.mark.parametrize("command", [("ask", "/releases open"), ("console",)])
def test_a_url_without_credentials_stops_instead_of_using_the_demo(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    result = releases_bot(
        *command, cwd=tmp_path, METAKRAFTWERK_URL="http://127.0.0.1:9/api/"
    )
    assert_one_line_error(result, "METAKRAFTWERK_URL")
    assert "METAKRAFTWERK_TOKEN" in result.stderr
    assert "demo" not in result.stdout.lower()


def test_ask_with_lang_de_answers_in_german(tmp_path: Path) -> None:
    german = releases_bot("ask", "--lang", "de", "/releases help", cwd=tmp_path)
    english = releases_bot("ask", "/releases help", cwd=tmp_path)
    assert german.returncode == 0, german.stderr
    assert "MetaKraftwerk-Releases in Slack" in german.stdout
    assert "Releases nachschlagen" in german.stdout
    assert "MetaKraftwerk releases in Slack" in english.stdout
