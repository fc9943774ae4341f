"""Answers posted to response URLs: one pooled HTTP client, and only to Slack's own origin.

A response URL arrives inside a request body (or a modal's private_metadata), so it is data,
not an address to trust: it is followed only on `https://hooks.slack.com`, or, when
SLACK_API_URL points elsewhere (tests, the console), on that URL's origin. Anything else is
dropped with a warning. Keep-alive connections spare a TLS handshake per answer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.config import Settings
from bot.slack.thread_clients import ThreadClients

log = logging.getLogger(__name__)

SLACK_HOOKS = "https://hooks.slack.com"
DEFAULT_SLACK_API_URL = Settings().slack_api_url
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


@dataclass(frozen=True, slots=True)
class Origin:
    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> Origin | None:
        """The origin of an absolute http(s) URL; None for anything else."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return None
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


def make_response_http_clients() -> ThreadClients:
    """A kept-alive client for each thread that posts answers (bot/slack/thread_clients.py)."""
    return ThreadClients(lambda: make_response_http_client(max_connections=1))


class ResponseUrls:
    def __init__(self, http: httpx.Client | ThreadClients, origins: Iterable[Origin]) -> None:
        self._http = http
        self._origins = frozenset(origins)

    @classmethod
    def from_settings(
        cls, settings: Settings, http: httpx.Client | ThreadClients
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
        try:
            http = self._http.get() if isinstance(self._http, ThreadClients) else self._http
            response = http.post(url, json=body)
        except httpx.HTTPError as exc:
            log.warning("response_url post failed: %s", type(exc).__name__)
            return False
        if response.status_code != 200:
            log.warning("response_url answered HTTP %s", response.status_code)
            return False
        return True
