"""`releases-bot check` against the demo API, with bad credentials, and against a closed port."""

from __future__ import annotations

import io
import logging
import os
import socket
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest

from bot.check import main_check, run_check
from bot.config import Secret, Settings
from bot.demo import DEMO_TOKEN, DemoApiServer
from tests.fakes.slack_api import FakeSlack

PASSWORD = "wrong-pw-5c8e1f"


_slack: list[FakeSlack] = []  # the module's Slack stand-in, for the checks of the others


@pytest.fixture(scope="module", autouse=True)
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        _slack.append(fake)
        yield fake
        _slack.clear()


def slack_env() -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "secret",
            "SLACK_API_URL": _slack[0].url}


def with_slack(settings: Settings) -> Settings:
    """Slack set up and working, unless the test sets its own token."""
    if settings.slack_bot_token is not None:
        return settings
    return replace(settings, slack_bot_token=Secret("xoxb-test"),
                   slack_signing_secret=Secret("secret"), slack_api_url=_slack[0].url)


def check(settings: Settings, http: httpx.Client | None = None) -> tuple[int, str]:
    out = io.StringIO()
    code = run_check(with_slack(settings), out, http_client=http)
    return code, out.getvalue()


def one_failure_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.startswith("check failed")]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def test_login_and_list(demo_api: DemoApiServer, demo_settings: Settings) -> None:
    code, text = check(demo_settings)
    assert code == 0
    assert f"MetaKraftwerk: {demo_api.url}" in text
    assert "Logged in as demo@example.com" in text
    visible = [r for r in demo_api.data.releases() if not r.deleted]
    opened = sum(1 for r in visible if r.is_open)
    assert f"OK: {len(visible)} releases ({opened} open, 2 deleted) in 5 groups" in text
    assert " ms." in text


def test_with_an_injected_http_client(
    demo_api: DemoApiServer, demo_settings: Settings, http_client: httpx.Client
) -> None:
    code, text = check(
        replace(demo_settings, metakraftwerk_url="http://unused.invalid"), http_client
    )
    assert code == 0
    assert f"MetaKraftwerk: {demo_api.url}\n" in text
    assert demo_api.counts.count("/api/v1/releases") == 1
    assert not http_client.is_closed  # not ours to close


def test_static_token(demo_api: DemoApiServer) -> None:
    settings = Settings(metakraftwerk_url=demo_api.url, metakraftwerk_token=Secret(DEMO_TOKEN))
    code, text = check(settings)
    assert code == 0
    assert "Authenticated with METAKRAFTWERK_TOKEN" in text


def test_bad_password(demo_settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        code, text = check(replace(demo_settings, metakraftwerk_password=Secret(PASSWORD)))
    assert code == 1
    line = one_failure_line(text)
    assert "Invalid login" in line
    assert PASSWORD not in text + caplog.text


def test_rejected_token(demo_api: DemoApiServer) -> None:
    settings = Settings(metakraftwerk_url=demo_api.url, metakraftwerk_token=Secret(PASSWORD))
    code, text = check(settings)
    assert code == 1
    line = one_failure_line(text)
    assert "rejected the bot's token" in line
    assert line.startswith("check failed (METAKRAFTWERK_TOKEN)")
    assert PASSWORD not in text


def test_closed_port() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(
        metakraftwerk_url=f"http://127.0.0.1:{port}",
        metakraftwerk_token=Secret(DEMO_TOKEN),
        api_deadline_seconds=0.5,
    )
    code, text = check(settings)
    assert code == 1
    line = one_failure_line(text)
    assert "connection refused" in line
    assert f"METAKRAFTWERK_URL http://127.0.0.1:{port}" in line


def test_bad_response(demo_api: DemoApiServer, demo_settings: Settings) -> None:
    demo_api.switches.invalid_json_next(path="/api/v1/releases")
    code, text = check(demo_settings)
    assert code == 1
    assert "not JSON" in one_failure_line(text)


def test_no_metakraftwerk_setting_checks_the_demo_and_says_so_first() -> None:
    code, text = check(Settings())
    assert code == 0
    assert text.startswith("No MetaKraftwerk setting is given")
    assert "releases-bot console" in text.splitlines()[0]
    assert "OK:" in text


def test_a_url_without_credentials_fails_instead_of_checking_the_demo(
    demo_api: DemoApiServer,
) -> None:
    code, text = check(Settings(metakraftwerk_url=demo_api.url))
    assert code == 1
    line = one_failure_line(text)
    assert "METAKRAFTWERK_TOKEN" in line
    assert "demo" not in text
    assert demo_api.counts.total == 0


def test_the_default_url_given_without_credentials_fails_too() -> None:
    code, text = check(Settings(metakraftwerk_url_set=True))
    assert code == 1
    assert "METAKRAFTWERK_URL is set but no credentials" in one_failure_line(text)


def test_main_check_reads_the_environment(
    demo_api: DemoApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"METAKRAFTWERK_URL": demo_api.url, "METAKRAFTWERK_TOKEN": DEMO_TOKEN, **slack_env()}
    assert main_check([], environ=env) == 0
    assert "OK:" in capsys.readouterr().out


def test_main_check_reports_a_bad_setting(capsys: pytest.CaptureFixture[str]) -> None:
    assert main_check([], environ={"METAKRAFTWERK_URL": "ftp://nope", **slack_env()}) == 1
    out = capsys.readouterr().out
    assert "check failed (METAKRAFTWERK_URL): METAKRAFTWERK_URL must be" in one_failure_line(out)
    assert "Slack: SLACK_BOT_TOKEN works" in out  # the other checks ran


def test_every_bad_value_is_named_and_the_rest_is_still_checked(
    demo_api: DemoApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {
        "METAKRAFTWERK_URL": demo_api.url, "METAKRAFTWERK_TOKEN": DEMO_TOKEN, **slack_env(),
        "DATABASE_URL": "mysql://db/x", "PORT": "eighty", "WEB_CONCURRENCY": "abc",
    }
    assert main_check([], environ=env) == 1
    out = capsys.readouterr().out
    failed = [line for line in out.splitlines() if line.startswith("check failed")]
    assert [line.split(")")[0] for line in failed] == [
        "check failed (DATABASE_URL", "check failed (PORT", "check failed (WEB_CONCURRENCY"
    ]
    assert "OK:" in out
    assert "Database:" not in out  # not the default database instead of the bad one
    assert "Slack: SLACK_BOT_TOKEN works" in out


def test_a_dead_redis_at_cache_url_fails_the_check(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, text = check(Settings(cache_url=f"redis://:pw-71c2@127.0.0.1:{port}/0"))
    assert code == 1
    line = one_failure_line(text)
    assert line.startswith(f"check failed (CACHE_URL redis://:***@127.0.0.1:{port}/0)")
    assert "pw-71c2" not in text


def test_a_live_redis_at_cache_url_is_said_to_answer() -> None:
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
    code, text = check(Settings(cache_url=url))
    if "Redis does not answer" in text:
        pytest.skip(f"no Redis at {url}")
    assert code == 0, text
    assert f"Cache: Redis at {url} answers." in text


def test_no_slack_token_fails_the_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main_check([], environ={}) == 1
    line = one_failure_line(capsys.readouterr().out)
    assert line.startswith("check failed (SLACK_BOT_TOKEN): is not set")


def test_a_failing_metakraftwerk_is_asked_once_not_retried(demo_api: DemoApiServer) -> None:
    demo_api.switches.fail_next(10, status=503, path="/api/v1/releases")
    settings = Settings(metakraftwerk_url=demo_api.url, metakraftwerk_token=Secret(DEMO_TOKEN))
    code, text = check(settings)
    assert code == 1
    assert "METAKRAFTWERK_URL" in one_failure_line(text)
    assert demo_api.counts.count("/api/v1/releases") == 1


def test_main_check_masks_the_configured_password_an_upstream_error_echoes(
    demo_api: DemoApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    password = "pw, with}braces-91c3"  # no shape a pattern could know
    demo_api.switches.fail_next(
        status=418, message=f"no login with {password}", path="/authentication"
    )
    env = {
        "METAKRAFTWERK_URL": demo_api.url,
        "METAKRAFTWERK_EMAIL": "demo@example.com",
        "METAKRAFTWERK_PASSWORD": password,
        **slack_env(),
    }
    assert main_check([], environ=env) == 1
    captured = capsys.readouterr()
    assert "MetaKraftwerk said: no login with ***" in captured.out
    assert password not in captured.out + captured.err
