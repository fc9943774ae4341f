"""`releases-bot check` end to end: every setting the processes need, one line per fault."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.demo import DEMO_TOKEN, DemoApiServer
from tests.e2e.conftest import free_port
from tests.e2e.test_cli import releases_bot
from tests.fakes.slack_api import FakeSlack

pytestmark = pytest.mark.slow


def failure_line(result: subprocess.CompletedProcess[str], setting: str) -> str:
    assert result.returncode != 0, result.stdout
    lines = [line for line in result.stdout.splitlines() if line.startswith("check failed")]
    assert len(lines) == 1, result.stdout
    assert setting in lines[0]
    assert "Traceback" not in result.stdout + result.stderr
    return lines[0]


@pytest.fixture
def api() -> Iterator[DemoApiServer]:
    with DemoApiServer() as server:
        yield server


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def good(api: DemoApiServer, slack: FakeSlack, tmp_path: Path) -> dict[str, str]:
    return {
        "METAKRAFTWERK_URL": api.url,
        "METAKRAFTWERK_TOKEN": DEMO_TOKEN,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "test-signing-secret",
        "SLACK_API_URL": slack.url,
    }


def test_everything_set_up(api: DemoApiServer, slack: FakeSlack, tmp_path: Path) -> None:
    result = releases_bot("check", cwd=tmp_path, **good(api, slack, tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK:" in result.stdout
    assert "Database:" in result.stdout
    assert "SLACK_BOT_TOKEN works" in result.stdout
    assert any(c.method == "auth.test" for c in slack.calls)
    assert not (tmp_path / "bot.db").exists()  # checking creates nothing


def test_a_broken_url(api: DemoApiServer, slack: FakeSlack, tmp_path: Path) -> None:
    env = good(api, slack, tmp_path) | {"METAKRAFTWERK_URL": f"http://127.0.0.1:{free_port()}"}
    result = releases_bot("check", cwd=tmp_path, **env)
    assert "connection refused" in failure_line(result, "METAKRAFTWERK_URL")


def test_a_url_without_credentials(api: DemoApiServer, slack: FakeSlack, tmp_path: Path) -> None:
    env = good(api, slack, tmp_path)
    del env["METAKRAFTWERK_TOKEN"]
    result = releases_bot("check", cwd=tmp_path, **env)
    failure_line(result, "METAKRAFTWERK_TOKEN")
    assert "demo" not in result.stdout
    assert api.counts.total == 0


def test_a_bad_token(api: DemoApiServer, slack: FakeSlack, tmp_path: Path) -> None:
    env = good(api, slack, tmp_path) | {"METAKRAFTWERK_TOKEN": "not-the-token-4d1f"}
    result = releases_bot("check", cwd=tmp_path, **env)
    failure_line(result, "METAKRAFTWERK_TOKEN")
    assert "not-the-token-4d1f" not in result.stdout + result.stderr
    assert result.stderr == ""  # said once, in the report; not logged as well


def test_an_unreachable_database(api: DemoApiServer, slack: FakeSlack, tmp_path: Path) -> None:
    url = f"postgresql://postgres:pw-9c1e@127.0.0.1:{free_port()}/releases"
    env = good(api, slack, tmp_path) | {"DATABASE_URL": url}
    result = releases_bot("check", cwd=tmp_path, **env)
    assert "cannot connect" in failure_line(result, "DATABASE_URL")
    assert "pw-9c1e" not in result.stdout + result.stderr
    assert "OK:" in result.stdout  # the other checks still ran


def test_a_sqlite_file_in_a_missing_directory(
    api: DemoApiServer, slack: FakeSlack, tmp_path: Path
) -> None:
    env = good(api, slack, tmp_path) | {"DATABASE_URL": f"sqlite:///{tmp_path / 'no' / 'x.db'}"}
    result = releases_bot("check", cwd=tmp_path, **env)
    assert "does not exist" in failure_line(result, "DATABASE_URL")


def test_a_refused_slack_token(api: DemoApiServer, slack: FakeSlack, tmp_path: Path) -> None:
    slack.script.rejected_tokens.add("xoxb-revoked")
    env = good(api, slack, tmp_path) | {"SLACK_BOT_TOKEN": "xoxb-revoked"}
    result = releases_bot("check", cwd=tmp_path, **env)
    assert "invalid_auth" in failure_line(result, "SLACK_BOT_TOKEN")
    assert "xoxb-revoked" not in result.stdout + result.stderr


def test_http_mode_without_the_signing_secret(
    api: DemoApiServer, slack: FakeSlack, tmp_path: Path
) -> None:
    env = good(api, slack, tmp_path)
    del env["SLACK_SIGNING_SECRET"]
    result = releases_bot("check", cwd=tmp_path, **env)
    failure_line(result, "SLACK_SIGNING_SECRET")


def test_bad_values_are_each_named_and_the_rest_checked(
    api: DemoApiServer, slack: FakeSlack, tmp_path: Path
) -> None:
    env = good(api, slack, tmp_path) | {"DATABASE_URL": "mysql://db/x", "WEB_CONCURRENCY": "abc"}
    result = releases_bot("check", cwd=tmp_path, **env)
    assert result.returncode == 1, result.stdout + result.stderr
    failed = [line for line in result.stdout.splitlines() if line.startswith("check failed")]
    assert len(failed) == 2, result.stdout
    assert failed[0].startswith("check failed (DATABASE_URL)")
    assert failed[1].startswith("check failed (WEB_CONCURRENCY)")
    assert "OK:" in result.stdout
    assert "SLACK_BOT_TOKEN works" in result.stdout


def test_serve_names_every_bad_value_in_a_line_each(tmp_path: Path) -> None:
    result = releases_bot(
        "serve", cwd=tmp_path, WEB_CONCURRENCY="abc", PORT="eighty", SLACK_BOT_TOKEN="xoxb-t"
    )
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert "PORT" in lines[0]
    assert "WEB_CONCURRENCY" in lines[1]
    assert "Traceback" not in result.stdout + result.stderr


def test_a_dead_redis_fails_the_check(api: DemoApiServer, slack: FakeSlack, tmp_path: Path) -> None:
    env = good(api, slack, tmp_path) | {"CACHE_URL": f"redis://127.0.0.1:{free_port()}/0"}
    result = releases_bot("check", cwd=tmp_path, **env)
    failure_line(result, "CACHE_URL")


def test_no_slack_token_fails_the_check(
    api: DemoApiServer, slack: FakeSlack, tmp_path: Path
) -> None:
    env = good(api, slack, tmp_path)
    del env["SLACK_BOT_TOKEN"], env["SLACK_SIGNING_SECRET"]  # no Slack setting at all
    result = releases_bot("check", cwd=tmp_path, **env)
    assert result.returncode == 1
    failure_line(result, "SLACK_BOT_TOKEN")


def test_sqlite_on_a_platform_of_containers_is_warned_of(
    api: DemoApiServer, slack: FakeSlack, tmp_path: Path
) -> None:
    result = releases_bot("check", cwd=tmp_path, DYNO="web.1", **good(api, slack, tmp_path))
    assert result.returncode == 0, result.stdout
    warning = [line for line in result.stdout.splitlines() if line.startswith("warning")]
    assert len(warning) == 1, result.stdout
    assert "DATABASE_URL" in warning[0]
    assert "a Heroku dyno" in warning[0]
    assert "PostgreSQL" in warning[0]
