"""Fixtures shared across the test suite: a running demo MetaKraftwerk API and clients for it.

`demo_api` is a real HTTP server on a loopback port with fresh sample data per test; use its
`data` to change releases, `switches` to make it misbehave and `counts` to see what it was asked.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from bot.cache.release_cache import ReleaseCache
from bot.config import Secret, Settings
from bot.demo import DEMO_EMAIL, DEMO_PASSWORD, DemoApiServer
from bot.metakraftwerk.client import MetaKraftwerkClient, make_http_client
from bot.metakraftwerk.retry import RetryPolicy
from tests.fakes.clock import FakeClock

# Small, so that tests of timeouts and retries stay fast.
TEST_DEADLINE = 1.5
FAST_RETRY = RetryPolicy(initial=0.01, maximum=0.05, connect_timeout=0.5)

ClientFactory = Callable[..., MetaKraftwerkClient]


@functools.cache
def shared_tls_context() -> ssl.SSLContext:
    """One TLS context for every test client: building one costs ~50 ms, per httpx.Client."""
    return ssl.create_default_context()


@pytest.fixture
def manual_clock() -> FakeClock:
    """A clock that only moves when told to; its `sleep` advances it instantly."""
    return FakeClock()


@pytest.fixture
def demo_api() -> Iterator[DemoApiServer]:
    """A running demo API on 127.0.0.1 with the sample data (dated around the real now)."""
    with DemoApiServer() as api:
        yield api


@pytest.fixture
def demo_settings(demo_api: DemoApiServer) -> Settings:
    """Settings that log in to `demo_api` with the demo user, with a short deadline."""
    return Settings(
        metakraftwerk_url=demo_api.url,
        metakraftwerk_email=DEMO_EMAIL,
        metakraftwerk_password=Secret(DEMO_PASSWORD),
        api_deadline_seconds=TEST_DEADLINE,
        cache_ttl_seconds=60.0,
    )


@pytest.fixture
def http_client(demo_settings: Settings) -> Iterator[httpx.Client]:
    """The pooled httpx client for `demo_api`, closed after the test."""
    with make_http_client(demo_settings, verify=shared_tls_context()) as http:
        yield http


@pytest.fixture
def make_client(http_client: httpx.Client) -> ClientFactory:
    """Build a client for `demo_api`: demo login, short deadline, fast retries; override any."""

    def build(**overrides: Any) -> MetaKraftwerkClient:
        options: dict[str, Any] = {
            "email": DEMO_EMAIL,
            "password": Secret(DEMO_PASSWORD),
            "deadline_seconds": TEST_DEADLINE,
            "retry": FAST_RETRY,
        }
        options.update(overrides)
        return MetaKraftwerkClient(http_client, **options)

    return build


@pytest.fixture
def demo_client(make_client: ClientFactory) -> MetaKraftwerkClient:
    """A client logged in (lazily) to `demo_api` as the demo user."""
    return make_client()


@pytest.fixture
def demo_cache(demo_client: MetaKraftwerkClient) -> ReleaseCache:
    """A cache in front of `demo_client` (60 s TTL, real clock)."""
    return ReleaseCache(demo_client, ttl_seconds=60.0, wait_timeout=TEST_DEADLINE + 2)
