"""Answers posted to response URLs: kept-alive connections, and only to Slack's own origin.

A response URL arrives inside a request body (or a modal's private_metadata), so it is data,
not an address to trust: it is followed only on `https://hooks.slack.com`, or, when
SLACK_API_URL points elsewhere (tests, the console), on that URL's origin. Anything else is
dropped with a warning. Keep-alive connections spare a TLS handshake per answer.

Each posting thread has its own httpcore pool of one connection (bot/slack/thread_clients.py),
and the request goes to the very origin the allow-list checked (no second URL parser). httpx's
client around it (request and response models, cookies, auth, redirects, hooks) cost as much
CPU as the HTTP exchange itself and none of it is needed here. When the environment names an
HTTP proxy, each thread gets an httpx client instead, which honours it.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeAlias
from urllib.parse import SplitResult, quote, urlsplit
from urllib.request import getproxies

import httpcore
import httpx

import bot
from bot.config import Settings
from bot.slack.thread_clients import ThreadClients

log = logging.getLogger(__name__)

SLACK_HOOKS = "https://hooks.slack.com"
DEFAULT_SLACK_API_URL = Settings().slack_api_url
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
KEEPALIVE_SECONDS = 5.0  # as httpx keeps an idle connection
_TIMEOUTS = {"connect": TIMEOUT.connect, "read": TIMEOUT.read, "write": TIMEOUT.write,
             "pool": TIMEOUT.pool}
_HEADERS = [
    (b"Content-Type", b"application/json"),
    (b"User-Agent", f"releases-bot/{bot.__version__}".encode()),
]
# What httpcore raises for a connection or exchange that failed (httpx raises the same names).
_DIRECT_ERRORS: tuple[type[Exception], ...] = (
    httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError,
    httpcore.UnsupportedProtocol, httpcore.ProxyError,
)
_POST_ERRORS: tuple[type[Exception], ...] = (httpx.HTTPError, *_DIRECT_ERRORS)
# Characters a request target keeps as they are; anything else (non-ASCII, spaces) is %-encoded.
_TARGET_SAFE = "/?&=%:@!$'()*+,;~"

Poster: TypeAlias = httpx.Client | httpcore.ConnectionPool


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


def make_response_pool(ssl_context: ssl.SSLContext) -> httpcore.ConnectionPool:
    """One thread's kept-alive connection, trusting what httpx would trust."""
    return httpcore.ConnectionPool(
        ssl_context=ssl_context,
        max_connections=1,
        max_keepalive_connections=1,
        keepalive_expiry=KEEPALIVE_SECONDS,
    )


def make_response_http_clients() -> ThreadClients[Poster]:
    """A kept-alive connection for each thread that posts answers; httpx clients when the
    environment names a proxy (httpx reads the same variables)."""
    if {"http", "https", "all"} & set(getproxies()):
        return ThreadClients(lambda: make_response_http_client(max_connections=1))
    ssl_context = httpx.create_ssl_context()  # SSL_CERT_FILE / SSL_CERT_DIR, else certifi
    return ThreadClients(lambda: make_response_pool(ssl_context))


class ResponseUrls:
    def __init__(
        self, http: httpx.Client | ThreadClients[Poster], origins: Iterable[Origin]
    ) -> None:
        self._http = http
        self._origins = frozenset(origins)

    @classmethod
    def from_settings(
        cls, settings: Settings, http: httpx.Client | ThreadClients[Poster]
    ) -> ResponseUrls:
        return cls(http, allowed_origins(settings.slack_api_url))

    def allowed(self, url: str) -> bool:
        return Origin.of(url) in self._origins

    def usable(self, url: str | None) -> bool:
        """True when answers may go to `url`; otherwise False and one warning line."""
        if not url:
            log.warning("an answer had no response_url; dropped")
            return False
        if not self.allowed(url):
            # The URL itself may carry a token: log only where it pointed.
            origin = Origin.of(url)
            log.warning(
                "response_url outside Slack's origin (%s); answer dropped",
                origin if origin is not None else "not an http(s) URL",
            )
            return False
        return True

    def post(self, url: str | None, body: dict[str, Any]) -> bool:
        """Post `body` as JSON; False (and one log line) when it was not delivered."""
        if not self.usable(url):
            return False
        assert url is not None
        # As httpx encodes `json=`: compact, UTF-8, no NaN.
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        try:
            http = self._http.get() if isinstance(self._http, ThreadClients) else self._http
            if isinstance(http, httpcore.ConnectionPool):
                status = _post_direct(http, url, data.encode())
            else:
                status = http.post(url, content=data.encode(), headers=dict(_HEADERS)).status_code
        except _POST_ERRORS as exc:
            log.warning("response_url post failed: %s", type(exc).__name__)
            return False
        if status != 200:
            log.warning("response_url answered HTTP %s", status)
            return False
        return True


def _post_direct(pool: httpcore.ConnectionPool, url: str, data: bytes) -> int:
    """POST to the origin the allow-list checked, parsed by the same function; the status."""
    parts = urlsplit(url)
    origin = Origin.of_parts(parts)
    assert origin is not None  # `usable` let only an allowed origin through
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    response = pool.request(
        "POST",
        httpcore.URL(
            scheme=origin.scheme, host=origin.host, port=origin.port,
            target=quote(target, safe=_TARGET_SAFE),
        ),
        headers=_HEADERS,
        content=data,
        extensions={"timeout": _TIMEOUTS},
    )
    return response.status
