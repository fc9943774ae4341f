"""Settings: defaults, every variable, one-line errors that name the variable, no secret shown."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.config import (
    ConfigError,
    Secret,
    Settings,
    SettingsErrors,
    load_settings,
    metakraftwerk_source,
    read_settings,
    redact_url,
)
from bot.logs import RedactingFilter, mask_secrets


def load(env: dict[str, str], tmp_path: Path, dotenv: str | None = None) -> Settings:
    path = tmp_path / ".env"
    if dotenv is not None:
        path.write_text(dotenv)
    return load_settings(env, dotenv_path=path)


def test_defaults_follow_the_runtime_contract(tmp_path: Path) -> None:
    s = load({}, tmp_path)
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.metakraftwerk_url == "https://app.metakraftwerk.com"
    assert s.cache_ttl_seconds == 60
    assert s.database_url == "sqlite:///releases-bot.db"
    assert s.cache_url is None
    assert s.poll_interval_seconds == 60
    assert s.port == 3000
    assert s.api_deadline_seconds == 8
    assert s.digest_grace_minutes == 60
    assert s.default_timezone == "UTC"
    assert not s.has_metakraftwerk_credentials
    assert not s.uses_socket_mode


def test_every_variable_is_read(tmp_path: Path) -> None:
    s = load(
        {
            "SLACK_BOT_TOKEN": "xoxb-1-2",
            "SLACK_SIGNING_SECRET": "sig",
            "SLACK_APP_TOKEN": "xapp-1-2",
            "SLACK_API_URL": "http://127.0.0.1:9/api",
            "SLACK_TIMEOUT_SECONDS": "4",
            "SLACK_RETRY_BASE_SECONDS": "0.5",
            "METAKRAFTWERK_URL": "http://127.0.0.1:8/",
            "METAKRAFTWERK_EMAIL": "bot@example.com",
            "METAKRAFTWERK_PASSWORD": "pw",
            "CACHE_TTL_SECONDS": "2.5",
            "DATABASE_URL": "postgresql://u:p@db/x",
            "CACHE_URL": "rediss://cache.internal:6380/2",
            "POLL_INTERVAL_SECONDS": "5",
            "PORT": "8080",
            "DEFAULT_TIMEZONE": "Europe/Berlin",
            "DIGEST_GRACE_MINUTES": "15",
            "SUBSCRIPTION_MANAGERS": "U1, U2;U3",
            "LOG_LEVEL": "debug",
            "METAKRAFTWERK_WEB_URL": "https://mk.example/releases/{id}",
        },
        tmp_path,
    )
    assert s.metakraftwerk_web_url == "https://mk.example/releases/{id}"
    assert s.slack_bot_token == Secret("xoxb-1-2")
    assert s.slack_api_url == "http://127.0.0.1:9/api/"  # a trailing slash is added
    assert s.slack_timeout_seconds == 4.0
    assert s.slack_retry_base_seconds == 0.5
    assert s.uses_socket_mode
    assert s.has_metakraftwerk_credentials
    assert s.cache_ttl_seconds == 2.5
    assert s.cache_url == "rediss://cache.internal:6380/2"
    assert s.port == 8080
    assert s.default_timezone == "Europe/Berlin"
    assert s.subscription_managers == frozenset({"U1", "U2", "U3"})
    assert s.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("CACHE_TTL_SECONDS", "abc", "CACHE_TTL_SECONDS must be a number"),
        ("CACHE_TTL_SECONDS", "-1", "CACHE_TTL_SECONDS must be a positive number"),
        ("CACHE_TTL_SECONDS", "nan", "CACHE_TTL_SECONDS must be a positive number"),
        ("METAKRAFTWERK_URL", "app.metakraftwerk.com", "METAKRAFTWERK_URL must be an http"),
        ("SLACK_API_URL", "ftp://x/", "SLACK_API_URL must be an http"),
        ("PORT", "70000", "PORT must be between 1 and 65535"),
        ("PORT", "eighty", "PORT must be a whole number"),
        ("SLACK_BOT_TOKEN", "xoxp-user-token", "SLACK_BOT_TOKEN must start with 'xoxb-'"),
        ("SLACK_APP_TOKEN", "xoxb-1", "SLACK_APP_TOKEN must start with 'xapp-'"),
        ("DATABASE_URL", "mysql://x/y", "DATABASE_URL must be sqlite"),
        ("CACHE_URL", "http://cache:6379", "CACHE_URL must be redis://"),
        ("CACHE_URL", "redis:///0", "CACHE_URL must be redis://"),
        ("CACHE_URL", "redis://cache:port/0", "CACHE_URL has a malformed port"),
        ("CACHE_URL", "redis://cache/zero", "CACHE_URL must end in a database number"),
        ("CACHE_URL", "redis://cache/0?password=pw", "CACHE_URL must carry its password"),
        ("DEFAULT_TIMEZONE", "Mars/Olympus", "DEFAULT_TIMEZONE must be an IANA time zone"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL must be DEBUG"),
        ("METAKRAFTWERK_WEB_URL", "https://mk.example/r/", "METAKRAFTWERK_WEB_URL must hold"),
        ("METAKRAFTWERK_WEB_URL", "https://mk/r/{id}|x", "METAKRAFTWERK_WEB_URL must not"),
        ("METAKRAFTWERK_WEB_URL", "mk.example/{id}", "METAKRAFTWERK_WEB_URL must be an http"),
    ],
)
def test_a_bad_value_names_the_variable_in_one_line(
    tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load({variable: value}, tmp_path)
    message = str(info.value)
    assert message.startswith(expected)
    assert "\n" not in message


def test_a_secret_value_is_never_echoed_in_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load({"SLACK_BOT_TOKEN": "xoxp-very-secret"}, tmp_path)
    assert "very-secret" not in str(info.value)


def test_email_and_password_go_together(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="set together"):
        load({"METAKRAFTWERK_EMAIL": "a@b.c"}, tmp_path)


def test_dotenv_is_read_but_never_overrides_the_environment(tmp_path: Path) -> None:
    s = load(
        {"PORT": "4000"},
        tmp_path,
        dotenv="PORT=5000\nCACHE_TTL_SECONDS=7\nMETAKRAFTWERK_TOKEN=from-dotenv\n",
    )
    assert s.port == 4000
    assert s.cache_ttl_seconds == 7
    assert s.metakraftwerk_token == Secret("from-dotenv")


def test_empty_values_mean_unset(tmp_path: Path) -> None:
    s = load({"SLACK_APP_TOKEN": "", "PORT": "  "}, tmp_path)
    assert s.slack_app_token is None
    assert s.port == 3000


def test_secrets_do_not_show_in_repr_str_or_redacted(tmp_path: Path) -> None:
    s = load(
        {
            "SLACK_BOT_TOKEN": "xoxb-top-secret",
            "SLACK_SIGNING_SECRET": "signing-top-secret",
            "METAKRAFTWERK_TOKEN": "bearer-top-secret",
            "METAKRAFTWERK_EMAIL": "bot@example.com",
            "METAKRAFTWERK_PASSWORD": "password-top-secret",
            "DATABASE_URL": "postgresql://bot:db-top-secret@db/x",
            "CACHE_URL": "redis://:cache-top-secret@cache:6379/0",
        },
        tmp_path,
    )
    for text in (repr(s), str(s), repr(s.redacted()), str(s.slack_bot_token)):
        assert "top-secret" not in text
    assert s.redacted()["slack_bot_token"] == "<set>"
    assert s.redacted()["database_url"] == "postgresql://bot:***@db/x"
    assert s.redacted()["cache_url"] == "redis://:***@cache:6379/0"


def test_a_cache_url_password_is_not_echoed_in_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load({"CACHE_URL": "redis://:cache-top-secret@cache:port/0"}, tmp_path)
    assert "top-secret" not in str(info.value)


def test_redact_url_leaves_urls_without_password_alone() -> None:
    assert redact_url("sqlite:///releases-bot.db") == "sqlite:///releases-bot.db"
    assert redact_url("postgresql://u@h/d") == "postgresql://u@h/d"


@pytest.mark.parametrize(
    "text",
    [
        "token xoxb-123-456-abc leaked",
        "app token xapp-1-A0-123",
        "Authorization: Bearer eyJhbGciOi.eyJzdWIi.c2ln",
        '{"email": "a@b.c", "password": "hunter2"}',
        '{"accessToken": "eyJabc.def.ghi"}',
    ],
)
def test_log_lines_never_carry_token_shaped_strings(text: str) -> None:
    masked = mask_secrets(text)
    for secret in ("xoxb-123", "xapp-1-A0", "eyJhbGciOi", "hunter2", "eyJabc"):
        assert secret not in masked


def test_the_redacting_filter_rewrites_the_record(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("tests.redaction")
    logger.addFilter(RedactingFilter())
    try:
        with caplog.at_level(logging.INFO, logger="tests.redaction"):
            logger.info("calling with %s", "Bearer abc.def.ghi")
    finally:
        logger.filters.clear()
    assert "abc.def.ghi" not in caplog.text
    assert "Bearer ***" in caplog.text


def test_tracebacks_are_masked_too(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.logs import configure_logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("INFO")
        try:
            raise RuntimeError("Slack said no to xoxb-123-456-abc")
        except RuntimeError:
            logging.getLogger("tests.redaction").exception("posting failed")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    err = capsys.readouterr().err
    assert "posting failed" in err
    assert "RuntimeError" in err
    assert "xoxb-123" not in err


def test_one_rule_decides_between_the_api_and_the_demo() -> None:
    assert metakraftwerk_source(Settings(), demo_allowed=True) == "demo"
    with pytest.raises(ConfigError, match="METAKRAFTWERK_TOKEN"):
        metakraftwerk_source(Settings(), demo_allowed=False)
    url_only = Settings(metakraftwerk_url="http://127.0.0.1:9/", metakraftwerk_url_set=True)
    with pytest.raises(ConfigError, match=r"^METAKRAFTWERK_URL is set but no credentials"):
        metakraftwerk_source(url_only, demo_allowed=True)
    email_only = Settings(metakraftwerk_email="ops@example.com")
    with pytest.raises(ConfigError, match=r"^METAKRAFTWERK_EMAIL is set"):
        metakraftwerk_source(email_only, demo_allowed=True)
    token = Settings(metakraftwerk_token=Secret("t"))
    assert metakraftwerk_source(token, demo_allowed=False) == "api"


def test_the_slack_timeout_reaches_the_web_client() -> None:
    from bot.slack.webclient import make_web_client

    assert make_web_client(Settings(slack_timeout_seconds=4)).timeout == 4
    assert make_web_client(Settings(slack_timeout_seconds=0.2)).timeout == 1  # whole seconds


def test_every_malformed_variable_is_named_not_only_the_first() -> None:
    env = {"PORT": "eighty", "DATABASE_URL": "mysql://db/x", "WEB_CONCURRENCY": "abc",
           "LOG_LEVEL": "INFO"}
    with pytest.raises(SettingsErrors) as raised:
        load_settings(env, dotenv_path=Path("/nonexistent/.env"))
    assert [variable for variable, _ in raised.value.errors] == [
        "DATABASE_URL", "PORT", "WEB_CONCURRENCY"
    ]
    assert len(raised.value.lines()) == 3
    settings, errors = read_settings(env, dotenv_path=Path("/nonexistent/.env"))
    assert len(errors) == 3
    assert settings.port == Settings().port  # a bad value is left at its default
    assert settings.log_level == "INFO"


def test_web_concurrency_is_a_setting() -> None:
    settings = load_settings({"WEB_CONCURRENCY": "3"}, dotenv_path=Path("/nonexistent/.env"))
    assert settings.web_concurrency == 3


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("sqlite:///releases.db", "sqlite"),
        (" SQLite:///releases.db ", "sqlite"),
        ("postgresql://u@h/db", "postgresql"),
        ("postgres://u@h/db", "postgresql"),
        ("postgresql+psycopg://u@h/db", "postgresql"),
        ("mysql://u@h/db", None),
        ("sqlitex:///db", None),
        ("", None),
    ],
)
def test_the_database_kind_is_read_in_one_place(url: str, kind: str | None) -> None:
    from bot.config import database_kind, is_postgresql
    from bot.startup import needs_waiting

    assert database_kind(url) == kind
    assert is_postgresql(url) is (kind == "postgresql")
    if kind is not None:
        assert needs_waiting(url) is (kind == "postgresql")
