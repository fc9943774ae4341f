"""The Slack Web API client every part of the bot shares, pointed at SLACK_API_URL."""

from __future__ import annotations

import math

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.config import Settings


def make_web_client(settings: Settings, *, max_rate_limit_retries: int = 3) -> WebClient:
    """A WebClient that waits out 429s (Retry-After) and retries dropped connections."""
    token = settings.slack_bot_token.value if settings.slack_bot_token else None
    return WebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=max(1, math.ceil(settings.slack_timeout_seconds)),
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=max_rate_limit_retries),
        ],
    )
