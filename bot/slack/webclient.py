"""The Slack Web API client every part of the bot shares, pointed at SLACK_API_URL.

slack_sdk's WebClient opens a new connection (and over HTTPS a new TLS handshake) for every
call: it sends each one through urllib's `urlopen`. This one sends them through one urllib3
pool (bot/slack/http_pool.py: kept-alive connections any thread uses, and which failures it
sends again), and leaves everything else to slack_sdk: arguments, retries, rate limits and
errors. A reply that is not 2xx is raised as urlopen raises it (`HTTPError`), and a request
that failed as a `URLError`, so slack_sdk's own handling (a 429's Retry-After, retrying a
dropped connection) is unchanged. With a proxy (the client's or the environment's), urllib
does the sending, as before.
"""

from __future__ import annotations

import io
import math
import ssl
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request

from slack_sdk import WebClient
from slack_sdk.errors import SlackRequestError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from urllib3.exceptions import HTTPError as PoolError

from bot.config import Settings
from bot.slack.http_pool import headers_of, make_pool_manager, proxy_in_environment
from bot.slack.tenant_token import with_tenant_token


class KeptAliveWebClient(WebClient):
    """A WebClient whose calls reuse connections; `close()` closes the idle ones."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        context = self.ssl if isinstance(self.ssl, ssl.SSLContext) else (
            ssl.create_default_context()  # what urlopen trusts without a context
        )
        self._pools = make_pool_manager(
            context, connect_seconds=self.timeout, read_seconds=self.timeout
        )

    def close(self) -> None:
        self._pools.close()

    def api_call(self, api_method: str, **kwargs: Any) -> Any:
        """A client without a token of its own (distributed mode) sends a call that names none
        with the token of the installation answering the current request, if there is one
        (bot/slack/tenant_token.py); otherwise with none, and Slack refuses it."""
        return super().api_call(api_method, **with_tenant_token(self.token, kwargs))

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        if self.proxy is not None or proxy_in_environment():
            return super()._perform_urllib_http_request_internal(url, req)
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise SlackRequestError(f"Invalid URL detected: {url}")
        pool = self._pools.pool_for(
            scheme, parts.hostname, parts.port or (443 if scheme == "https" else 80)
        )
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        body = req.data if isinstance(req.data, bytes) else None
        headers = {name: str(value) for name, value in req.header_items()}
        try:
            reply = pool.urlopen(
                req.get_method(), target, body=body, headers=headers, redirect=False,
                assert_same_host=False, preload_content=True,
                decode_content=False,  # as urlopen: no decoding
            )
        except (PoolError, OSError) as exc:
            raise URLError(exc) from exc
        message = headers_of(reply)
        if not 200 <= reply.status < 300:
            raise HTTPError(url, reply.status, reply.reason or "", message, io.BytesIO(reply.data))
        if message.get_content_type() == "application/gzip":
            return {"status": reply.status, "headers": message, "body": reply.data}
        charset = message.get_content_charset() or "utf-8"
        return {"status": reply.status, "headers": message, "body": reply.data.decode(charset)}


def make_web_client(
    settings: Settings, *, max_rate_limit_retries: int = 3
) -> KeptAliveWebClient:
    """A WebClient that waits out 429s (Retry-After) and retries dropped connections."""
    token = settings.slack_bot_token.value if settings.slack_bot_token else None
    return KeptAliveWebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=max(1, math.ceil(settings.slack_timeout_seconds)),
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=max_rate_limit_retries),
        ],
    )
