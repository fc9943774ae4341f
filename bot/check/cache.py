"""The cache check: CACHE_URL's Redis answers a PING within a short timeout."""

from __future__ import annotations

import redis

from bot.check.report import Report
from bot.config import Settings, redact_url

TIMEOUT_SECONDS = 2.0


def check_cache(settings: Settings, report: Report) -> None:
    if settings.cache_url is None:
        report.line(
            "Cache: CACHE_URL is not set; each web process keeps its own cache and replay guard."
        )
        return
    shown = redact_url(settings.cache_url)
    client = redis.Redis.from_url(
        settings.cache_url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
    )
    try:
        client.ping()
    except redis.RedisError as exc:
        # The operator's own terminal: what the client said helps here (no password in it).
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        report.fail(f"CACHE_URL {shown}", f"Redis does not answer ({detail})")
        return
    finally:
        client.close()
    report.line(f"Cache: Redis at {shown} answers.")
