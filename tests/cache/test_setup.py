"""CACHE_URL wires the shared cache into every process: in-process services and real processes.

These use the default key prefix, so they run on a database of their own (TEST_REDIS_URL's
server, the database after TEST_REDIS_URL's: 14 by default), emptied before and after each test.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from bot.config import Secret, Settings
from bot.demo.api_server import DEMO_TOKEN, DemoApiServer
from bot.metakraftwerk.filter import ApiFilter
from bot.wiring import build_services
from tests.e2e.conftest import VENV_BIN, clean_env

RELEASES = "/api/v1/releases"

def own_db(redis_url: str) -> int:
    """The database after the one the other Redis tests use (13 unless TEST_REDIS_URL says)."""
    return int(urlsplit(redis_url).path.strip("/") or 0) + 1


@pytest.fixture
def cache_url(redis_url: str, redis_client: redis.Redis) -> Iterator[str]:
    url = urlsplit(redis_url)._replace(path=f"/{own_db(redis_url)}").geturl()
    own = redis.Redis.from_url(url, socket_timeout=2)
    own.flushdb()
    yield url
    own.flushdb()
    own.close()


def settings_for(demo_api: DemoApiServer, cache_url: str | None) -> Settings:
    return Settings(
        metakraftwerk_url=demo_api.url,
        metakraftwerk_token=Secret(DEMO_TOKEN),
        api_deadline_seconds=2.0,
        cache_url=cache_url,
    )


def test_services_share_the_cache_named_by_cache_url(
    demo_api: DemoApiServer, cache_url: str
) -> None:
    one = build_services(settings_for(demo_api, cache_url))
    other = build_services(settings_for(demo_api, cache_url))
    try:
        assert one.shared is not None
        first = one.cache.releases(ApiFilter())
        assert other.cache.releases(ApiFilter()).value == first.value
        assert demo_api.counts.count(RELEASES, params={}) == 1
        health = other.health()["cache"]
        assert health["backend"] == "redis"
        assert health["redis"] == "ok"
        assert health["hits"] == 1
    finally:
        one.close()
        other.close()


def test_without_cache_url_the_cache_is_in_process(demo_api: DemoApiServer) -> None:
    services = build_services(settings_for(demo_api, None))
    try:
        assert services.shared is None
        assert services.health()["cache"]["backend"] == "local"
        assert "redis" not in services.health()["cache"]
    finally:
        services.close()


@pytest.mark.slow
def test_two_real_processes_make_one_upstream_call(
    demo_api: DemoApiServer, cache_url: str, tmp_path: Path
) -> None:
    env = clean_env(
        METAKRAFTWERK_URL=demo_api.url,
        METAKRAFTWERK_TOKEN=DEMO_TOKEN,
        CACHE_URL=cache_url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
    )

    def ask() -> str:
        result = subprocess.run(
            [str(VENV_BIN / "releases-bot"), "ask", "/releases group:DWH_GROUP"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    first = ask()
    asked = demo_api.counts.count(RELEASES)
    assert asked >= 1
    assert ask() == first
    assert demo_api.counts.count(RELEASES) == asked  # the second process asked Redis only
