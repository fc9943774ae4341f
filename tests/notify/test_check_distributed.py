"""`releases-bot check` in distributed mode, against a real PostgreSQL and Redis: it names the
mode, checks no single-workspace setting, and counts the sealed secrets by key."""

from __future__ import annotations

import io
import os

import pytest
from sqlalchemy import Engine

from bot.check import check_environment
from bot.check.distributed import run_distributed_check
from bot.config import read_settings
from bot.notify.store import Store
from bot.notify.store.engine import create_store_engine
from bot.secret_box import SecretBox, new_key
from tests.notify.test_key_rotation import TOKENS, metadata, seal_tokens

OLD, NEW, STRAY = new_key(), new_key(), new_key()
REDIS_URL = os.environ.get("TEST_REDIS_URL_4", "redis://127.0.0.1:6379/4")


def environment(pg_url: str, **changes: str) -> dict[str, str]:
    env = {
        "RELEASES_BOT_MODE": "distributed",
        "SLACK_CLIENT_ID": "1234.5678",
        "SLACK_CLIENT_SECRET": "client-secret-8c1d",
        "SLACK_SIGNING_SECRET": "signing-secret-3f9a",
        "PUBLIC_URL": "https://releases.example.com",
        "SECRET_KEYS": f"{NEW},{OLD}",
        "DATABASE_URL": pg_url,
    }
    env.update(changes)
    return {k: v for k, v in env.items() if v}


def check(env: dict[str, str]) -> tuple[int, str]:
    settings, errors = read_settings(env, dotenv_path=None)
    out = io.StringIO()
    code = run_distributed_check(settings, out, errors=errors, fields=[TOKENS])
    return code, out.getvalue()


def failures(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("check failed")]


@pytest.fixture
def migrated(pg_url: str) -> str:
    Store.from_url(pg_url).close()
    engine = create_store_engine(pg_url)
    metadata.create_all(engine)
    engine.dispose()
    return pg_url


def engine_of(url: str) -> Engine:
    return create_store_engine(url)


@pytest.mark.postgres
def test_the_mode_is_the_first_line(pg_url: str) -> None:
    out = io.StringIO()
    check_environment(out, environ=environment(pg_url))
    assert out.getvalue().splitlines()[0] == "mode: distributed"
    single = io.StringIO()
    check_environment(single, environ={})  # the built-in demo, no Slack token
    assert single.getvalue().splitlines()[0] == "mode: single workspace"
    assert single.getvalue().splitlines()[1].startswith("No MetaKraftwerk setting is given")


def test_a_mix_in_single_mode_names_the_distributed_settings() -> None:
    out = io.StringIO()
    code = check_environment(out, environ={
        "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_CLIENT_ID": "1.2", "SECRET_KEYS": NEW,
        "SLACK_API_URL": "http://127.0.0.1:9/api/",
    })
    assert code == 1
    text = out.getvalue()
    assert text.splitlines()[0] == "mode: single workspace"
    (mixed,) = [line for line in failures(text) if "RELEASES_BOT_MODE" in line]
    assert mixed.startswith("check failed (SLACK_CLIENT_ID): SLACK_CLIENT_ID, SECRET_KEYS are "
                            "set but RELEASES_BOT_MODE is single")
    assert NEW not in text


@pytest.mark.postgres
def test_a_complete_setting_passes_without_any_single_workspace_check(migrated: str) -> None:
    code, text = check(environment(migrated))
    assert code == 0, text
    assert failures(text) == []
    assert "Slack: installs through OAuth as client 1234.5678" in text
    assert f"new secrets are sealed with key {SecretBox([NEW]).current_key_id}, 1 older" in text
    assert "https://releases.example.com/slack/oauth_redirect" in text
    assert "schema version" in text
    assert "(current)" in text
    assert "Sealed secrets: none stored yet." in text
    assert "Cache: CACHE_URL is not set" in text
    for single in ("SLACK_BOT_TOKEN", "METAKRAFTWERK", "demo"):
        assert single not in text
    for secret in ("client-secret-8c1d", "signing-secret-3f9a", NEW, OLD):
        assert secret not in text


@pytest.mark.postgres
def test_rows_on_an_old_key_are_counted_with_the_hint_to_rotate(migrated: str) -> None:
    engine = engine_of(migrated)
    try:
        seal_tokens(engine, SecretBox([OLD]), range(1, 4))
        seal_tokens(engine, SecretBox([NEW]), range(4, 6))
    finally:
        engine.dispose()
    code, text = check(environment(migrated))
    assert code == 0, text
    assert ("warning (SECRET_KEYS): test_tokens.token: 3 value(s) still on an older key; run "
            "`releases-bot keys rotate`") in text
    assert "Sealed secrets: all" not in text


@pytest.mark.postgres
def test_rows_on_no_configured_key_fail_the_check(migrated: str) -> None:
    engine = engine_of(migrated)
    try:
        seal_tokens(engine, SecretBox([STRAY]), range(1, 3))
        seal_tokens(engine, SecretBox([NEW]), range(3, 4))
    finally:
        engine.dispose()
    code, text = check(environment(migrated))
    assert code == 1
    assert failures(text) == [
        "check failed (SECRET_KEYS): test_tokens.token: 2 value(s) sealed with no key of "
        "SECRET_KEYS (they cannot be opened); put back the key that sealed them"
    ]


@pytest.mark.postgres
def test_all_on_the_first_key_is_said(migrated: str) -> None:
    engine = engine_of(migrated)
    try:
        seal_tokens(engine, SecretBox([NEW]), range(1, 3))
    finally:
        engine.dispose()
    code, text = check(environment(migrated))
    assert code == 0
    assert f"Sealed secrets: all 2 on key {SecretBox([NEW]).current_key_id}." in text


@pytest.mark.postgres
def test_a_database_not_migrated_yet_fails(pg_url: str) -> None:
    code, text = check(environment(pg_url))
    assert code == 1
    (line,) = failures(text)
    assert line.startswith("check failed (DATABASE_URL ")
    assert "has no tables yet" in line
    assert "migrates" in line


@pytest.mark.postgres
def test_a_mix_of_modes_names_every_setting_and_fails(pg_url: str) -> None:
    code, text = check(environment(
        pg_url, SLACK_BOT_TOKEN="xoxb-1", METAKRAFTWERK_TOKEN="t", SLACK_APP_TOKEN="xapp-1"))
    assert code == 1
    named = [line.split(")")[0] for line in failures(text)]
    assert named[:3] == ["check failed (SLACK_BOT_TOKEN", "check failed (SLACK_APP_TOKEN",
                         "check failed (METAKRAFTWERK_TOKEN"]
    assert "Socket Mode" in text


@pytest.mark.postgres
def test_missing_and_malformed_settings_are_each_named_once(pg_url: str) -> None:
    code, text = check(environment(
        pg_url, SECRET_KEYS="not-a-key", SLACK_SIGNING_SECRET="", PUBLIC_URL="http://x.example"))
    assert code == 1
    lines = failures(text)
    assert sum("SECRET_KEYS" in line for line in lines) == 1
    assert sum("SLACK_SIGNING_SECRET" in line for line in lines) == 1
    assert any(line.startswith("check failed (PUBLIC_URL)") for line in lines)
    assert "Public URL:" not in text
    assert "Keys:" not in text


@pytest.mark.postgres
def test_a_live_redis_at_cache_url_is_checked(migrated: str) -> None:
    code, text = check(environment(migrated, CACHE_URL=REDIS_URL))
    if "Redis does not answer" in text:
        pytest.skip(f"no Redis at {REDIS_URL}")
    assert code == 0, text
    assert f"Cache: Redis at {REDIS_URL} answers." in text
