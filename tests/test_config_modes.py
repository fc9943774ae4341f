"""The two modes: each refuses the other's settings, and distributed mode names what it lacks."""

from __future__ import annotations

import pytest

from bot.config import SettingsErrors, load_settings, read_settings
from bot.secret_box import new_key

KEY = new_key()
DISTRIBUTED = {
    "RELEASES_BOT_MODE": "distributed",
    "SLACK_CLIENT_ID": "1234.5678",
    "SLACK_CLIENT_SECRET": "client-secret-value",
    "SLACK_SIGNING_SECRET": "signing-secret-value",
    "PUBLIC_URL": "https://releases.example.com/",
    "SECRET_KEYS": KEY,
    "DATABASE_URL": "postgresql+psycopg://bot@db.example.com/bot",
}


def errors_of(environ: dict[str, str]) -> dict[str, str]:
    _, errors = read_settings(environ, dotenv_path=None)
    return dict(errors)


def test_single_is_the_default_and_reads_as_before(tmp_path: object) -> None:
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-1"}, dotenv_path=None)
    assert settings.mode == "single"
    assert not settings.is_distributed


def test_a_complete_distributed_setting_loads() -> None:
    settings = load_settings(DISTRIBUTED, dotenv_path=None)
    assert settings.is_distributed
    assert settings.public_url == "https://releases.example.com"
    assert [key.value for key in settings.secret_keys] == [KEY]
    assert settings.metakraftwerk_allowed_urls == ("https://app.metakraftwerk.com",)
    assert KEY in settings.secret_values()
    assert "client-secret-value" in settings.secret_values()
    assert KEY not in repr(settings)
    assert "client-secret-value" not in repr(settings)


@pytest.mark.parametrize("variable", ["SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SECRET_KEYS"])
def test_single_mode_refuses_a_distributed_setting(variable: str) -> None:
    errors = errors_of({"SLACK_BOT_TOKEN": "xoxb-1", variable: DISTRIBUTED[variable]})
    assert variable in errors
    assert "RELEASES_BOT_MODE is single" in errors[variable]


def test_a_client_id_beside_a_bot_token_stops_the_start() -> None:
    with pytest.raises(SettingsErrors) as caught:
        load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_CLIENT_ID": "1.2"}, dotenv_path=None)
    assert "SLACK_CLIENT_ID" in str(caught.value)


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("SLACK_BOT_TOKEN", "xoxb-1", "OAuth install"),
        ("SLACK_APP_TOKEN", "xapp-1", "Socket Mode"),
        ("METAKRAFTWERK_TOKEN", "t", "connects its own MetaKraftwerk"),
    ],
)
def test_distributed_mode_refuses_a_single_setting(variable: str, value: str, reason: str) -> None:
    errors = errors_of({**DISTRIBUTED, variable: value})
    assert reason in errors[variable]


def test_distributed_mode_refuses_sqlite_with_the_reason() -> None:
    errors = errors_of({**DISTRIBUTED, "DATABASE_URL": "sqlite:///bot.db"})
    assert "PostgreSQL" in errors["DATABASE_URL"]
    assert "SQLite" in errors["DATABASE_URL"]


def test_distributed_mode_names_every_missing_setting() -> None:
    errors = errors_of({"RELEASES_BOT_MODE": "distributed"})
    message = " ".join(errors.values())
    for name in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_SIGNING_SECRET", "PUBLIC_URL",
                 "SECRET_KEYS", "DATABASE_URL"):
        assert name in message


def test_a_malformed_setting_is_not_also_reported_missing() -> None:
    errors = errors_of({**DISTRIBUTED, "SECRET_KEYS": "not-a-key"})
    assert list(errors) == ["SECRET_KEYS"]
    assert "Fernet" in errors["SECRET_KEYS"]
    assert "not-a-key" not in errors["SECRET_KEYS"]


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("https://bot.example.com", True),
        ("http://127.0.0.1:3000", True),
        ("http://localhost:3000/", True),
        ("http://bot.example.com", False),
        ("https://bot.example.com/?next=x", False),
        ("ftp://bot.example.com", False),
    ],
)
def test_public_url_is_https_except_on_loopback(value: str, ok: bool) -> None:
    errors = errors_of({**DISTRIBUTED, "PUBLIC_URL": value})
    assert ("PUBLIC_URL" not in errors) is ok


def test_allowed_urls_are_base_urls() -> None:
    settings = load_settings(
        {**DISTRIBUTED, "METAKRAFTWERK_ALLOWED_URLS": "https://a.example.com/, https://b.example.com"},
        dotenv_path=None,
    )
    assert settings.metakraftwerk_allowed_urls == ("https://a.example.com", "https://b.example.com")
    errors = errors_of({**DISTRIBUTED, "METAKRAFTWERK_ALLOWED_URLS": "https://a.example.com/api"})
    assert "without a path" in errors["METAKRAFTWERK_ALLOWED_URLS"]
    errors = errors_of({**DISTRIBUTED, "METAKRAFTWERK_ALLOWED_URLS": "http://mkw.example.com"})
    assert "METAKRAFTWERK_ALLOWED_URLS" in errors


def test_an_unknown_mode_is_named() -> None:
    errors = errors_of({"RELEASES_BOT_MODE": "cluster"})
    assert "single or distributed" in errors["RELEASES_BOT_MODE"]
