"""A slow Redis (it answers, 0.4 s a reply) under a burst of commands to the real web process.

The replay check runs in the request threads before the ack; when it waited for each reply,
100 commands at once were acked after 2.8 s at the median and the log never said why.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from bot.demo.api_server import DemoApiServer
from tests.cache.conftest import ProxiedRedis
from tests.e2e.conftest import running_web
from tests.fakes.slack_api import FakeSlack

pytestmark = pytest.mark.slow

ACK_WITHIN = 3.0  # Slack's deadline for the HTTP acknowledgement
SLOW_REPLY = 0.4  # seconds a Redis reply takes: slow, yet within the link's own timeout
COMMANDS = 100


def test_a_slow_redis_holds_no_ack_and_is_logged_once(
    proxied_redis: ProxiedRedis, tmp_path: Path
) -> None:
    with (
        DemoApiServer() as demo,
        FakeSlack() as slack,
        running_web(demo, slack, tmp_path, CACHE_URL=proxied_redis.url) as web,
    ):
        assert web.ask("help")  # the process has been on Redis at least once
        proxied_redis.proxy.latency = SLOW_REPLY

        def ack(n: int) -> tuple[int, float]:
            began = time.monotonic()
            _, response = web.command("help")
            return response.status_code, time.monotonic() - began

        with ThreadPoolExecutor(COMMANDS) as pool:
            acks = list(pool.map(ack, range(COMMANDS)))
        health = httpx.get(f"{web.url}/healthz", timeout=10).json()
        proxied_redis.proxy.latency = 0.0
        log = web.log(tail=1_000_000)

    assert [status for status, _ in acks] == [200] * COMMANDS
    late = sorted(round(seconds, 2) for _, seconds in acks if seconds >= ACK_WITHIN)
    assert not late, f"{len(late)} of {COMMANDS} acks took {ACK_WITHIN} s or more: {late}"
    assert log.count("is slow: a replay check") == 1, log[-3000:]
    # The cache itself stays shared: slow replay checks do not take the process off Redis.
    assert health["cache"]["backend"] == "redis", health
