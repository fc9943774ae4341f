"""Redis fixtures: a real Redis from TEST_REDIS_URL (default: the local server, database 13).

When it cannot be reached the tests are skipped with the reason, except under CI=true, where
they fail. Each test gets its own key prefix, deleted afterwards, so tests never see each
other's keys and the database is left as it was.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import redis

from bot.cache.redis.link import RedisLink
from bot.config import redact_url
from tests.fakes.tcp_proxy import TcpProxy

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")

LinkFactory = Callable[..., RedisLink]


def _unreachable(reason: str) -> None:
    message = f"Redis not reachable at {redact_url(REDIS_URL)}: {reason}"
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def redis_url() -> str:
    return REDIS_URL


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A plain client on the test database, to look at or tamper with what the bot stored."""
    client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        _unreachable(str(exc))
    yield client
    client.close()


@pytest.fixture
def prefix(redis_client: redis.Redis) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    name = f"test-{uuid.uuid4().hex[:12]}:"
    yield name
    keys = list(redis_client.scan_iter(match=name + "*"))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture
def make_link(redis_url: str, redis_client: redis.Redis) -> Iterator[LinkFactory]:
    """Links to the test Redis (or another URL), each one "process", closed afterwards."""
    opened: list[RedisLink] = []

    def make(url: str | None = None, **options: object) -> RedisLink:
        options.setdefault("retry_after", 0.05)
        link = RedisLink.from_url(url or redis_url, **options)  # type: ignore[arg-type]
        opened.append(link)
        return link

    yield make
    for link in opened:
        link.close()


@dataclass(frozen=True, slots=True)
class ProxiedRedis:
    """The test Redis behind a loopback proxy: `proxy.close()` takes it away, `start()` back."""

    proxy: TcpProxy
    url: str


@pytest.fixture
def proxied_redis(redis_url: str, redis_client: redis.Redis) -> Iterator[ProxiedRedis]:
    target = redis_client.connection_pool.connection_kwargs
    proxy = TcpProxy(int(target.get("port", 6379)), str(target.get("host", "127.0.0.1"))).start()
    try:
        yield ProxiedRedis(proxy, f"redis://{proxy.url_netloc}/{target.get('db', 0)}")
    finally:
        proxy.close()
