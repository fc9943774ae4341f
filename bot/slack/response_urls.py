"""Answers posted to response URLs: kept-alive connections, and only to Slack's own origin.

A response URL arrives inside a request body, so it is data, not an address to trust: it is
followed only on `https://hooks.slack.com`, or, when SLACK_API_URL points elsewhere (tests,
the console), on that URL's origin. Anything else is
dropped with a warning. Keep-alive connections spare a TLS handshake per answer.

Answers go through one urllib3 pool per process (bot/slack/http_pool.py: which failures are
sent again, and why), asked for the very origin the allow-list checked (no second URL
parser), and never follow a redirect. When the environment names an HTTP proxy, an httpx
client posts instead, which honours it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeAlias
from urllib.parse import SplitResult, quote, urlsplit

import httpx
from urllib3.exceptions import HTTPError as PoolError

import bot
from bot.config import Settings
from bot.slack.http_pool import (
    CONNECT_SECONDS,
    READ_SECONDS,
    Pools,
    describe,
    make_pool_manager,
    proxy_in_environment,
)

log = logging.getLogger(__name__)

SLACK_HOOKS = "https://hooks.slack.com"
DEFAULT_SLACK_API_URL = Settings().slack_api_url
# The same limits on both ways of posting: the pool's, and httpx's.
TIMEOUT = httpx.Timeout(READ_SECONDS, connect=CONNECT_SECONDS)
_HEADERS = {
    "Content-Type": "application/json",
    "User-Agent": f"releases-bot/{bot.__version__}",
}
# Characters a request target keeps as they are; anything else (non-ASCII, spaces) is %-encoded.
_TARGET_SAFE = "/?&=%:@!$'()*+,;~"

Poster: TypeAlias = httpx.Client | Pools


@dataclass(frozen=True, slots=True)
class Origin:
    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> Origin | None:
        """The origin of an absolute http(s) URL; None for anything else."""
        try:
            return cls.of_parts(urlsplit(url))
        except ValueError:
            return None

    @classmethod
    def of_parts(cls, parts: SplitResult) -> Origin | None:
        """As `of`, for a URL already split; raises ValueError for a port out of range."""
        port = parts.port
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            return None
        if parts.username is not None or parts.password is not None:
            return None
        return cls(scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80))

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def allowed_origins(slack_api_url: str) -> frozenset[Origin]:
    """Slack's hooks origin, plus SLACK_API_URL's own when it is overridden."""
    origins = {Origin.of(SLACK_HOOKS)}
    if slack_api_url != DEFAULT_SLACK_API_URL:
        origins.add(Origin.of(slack_api_url))
    return frozenset(o for o in origins if o is not None)


def make_response_http_client(max_connections: int = 32) -> httpx.Client:
    """The one client that carries every response_url answer of a process."""
    return httpx.Client(
        timeout=TIMEOUT,
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        follow_redirects=False,
    )


def make_response_http() -> Poster:
    """What carries every response_url answer of a process: urllib3's pool, or an httpx
    client when the environment names a proxy (httpx reads the same variables)."""
    if proxy_in_environment():
        return make_response_http_client()
    # SSL_CERT_FILE / SSL_CERT_DIR, else certifi: what httpx trusts.
    return make_pool_manager(httpx.create_ssl_context())


class ResponseUrls:
    def __init__(self, http: Poster, origins: Iterable[Origin]) -> None:
        self._http = http
        self._origins = frozenset(origins)

    @classmethod
    def from_settings(cls, settings: Settings, http: Poster) -> ResponseUrls:
        return cls(http, allowed_origins(settings.slack_api_url))

    def allowed(self, url: str) -> bool:
        return Origin.of(url) in self._origins

    def usable(self, url: str | None) -> bool:
        """True when answers may go to `url`; otherwise False and one warning line."""
        return self._checked(url) is not None

    def _checked(self, url: str | None) -> tuple[SplitResult, Origin] | None:
        """`url` split, and its origin, when answers may go there; otherwise None and one
        warning line. The pool is asked for this very origin (no second URL parser)."""
        if not url:
            log.warning("an answer had no response_url; dropped")
            return None
        try:
            parts = urlsplit(url)
            origin = Origin.of_parts(parts)
        except ValueError:
            origin = None
        if origin is None or origin not in self._origins:
            # The URL itself may carry a token: log only where it pointed.
            log.warning(
                "response_url outside Slack's origin (%s); answer dropped",
                origin if origin is not None else "not an http(s) URL",
            )
            return None
        return parts, origin

    def post(self, url: str | None, body: dict[str, Any]) -> bool:
        """Post `body` as JSON; False (and one log line) when it was not delivered."""
        checked = self._checked(url)
        if checked is None:
            return False
        assert url is not None
        # As httpx encodes `json=`: compact, UTF-8, no NaN.
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        try:
            if isinstance(self._http, Pools):
                status = _post_pooled(self._http, *checked, data.encode())
            else:
                content = data.encode()
                status = self._http.post(url, content=content, headers=_HEADERS).status_code
        except (PoolError, httpx.HTTPError, OSError, ValueError) as exc:
            log.warning("response_url post failed: %s", describe(exc))
            return False
        if status != 200:
            log.warning("response_url answered HTTP %s", status)
            return False
        return True


def _post_pooled(pools: Pools, parts: SplitResult, origin: Origin, data: bytes) -> int:
    """POST to the origin the allow-list checked, split by the same function; the status."""
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    pool = pools.pool_for(origin.scheme, origin.host, origin.port)
    response = pool.urlopen(
        "POST", quote(target, safe=_TARGET_SAFE), body=data, headers=_HEADERS,
        redirect=False, assert_same_host=False, preload_content=True,
    )
    return int(response.status)
