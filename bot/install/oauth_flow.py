"""Install from a link: Bolt's OAuth flow over our stores, served outside the signed front.

`GET /slack/install` sets the state cookie and sends the browser to Slack; `GET
/slack/oauth_redirect` checks cookie and state (single-use, bot/install/states.py), exchanges
the code at SLACK_API_URL's oauth.v2.access, saves the installation, writes the installer a
direct message that leads to App Home and sends the browser back to Slack. These are no Slack
requests (nothing signs them), so they never reach the request front; each client address gets
RATE_PER_MINUTE of them, and a body is refused unread. Failures show a short fixed text.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from cachetools import TTLCache
from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from slack_bolt.oauth import OAuthFlow
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.install.authorize import TenantAuthorize
from bot.install.states import STATE_SECONDS, TenantStateStore
from bot.install.store import TenantInstallationStore
from bot.tenant import Tenant

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
# The bot scopes of manifest.yml (tests/install compares them); no user scopes: no user tokens.
BOT_SCOPES = ("commands", "chat:write", "chat:write.public", "users:read", "channels:read",
              "groups:read", "im:write")
RATE_PER_MINUTE = 20
MAX_BODY_BYTES = 0  # both routes are GETs: no body
MAX_ADDRESSES = 10_000

FAILED_TEXT = "The installation did not complete. Please start again from the install link."
EXPIRED_TEXT = ("This install link has expired or was already used. "
                "Please start again from the install link.")
CANCELLED_TEXT = "The installation was cancelled. Nothing was installed."
WELCOME_TEXT = ("Thanks for installing releases-bot! Open its Home tab to get started: "
                "<{home}|App Home>. Type `/releases help` in any channel to see what it can do.")


def app_home_link(team_id: str, app_id: str) -> str:
    return f"slack://app?{urlencode({'team': team_id, 'id': app_id, 'tab': 'home'})}"


def back_to_slack(tenant: Tenant, app_id: str) -> str:
    """Where the browser goes after an install: the app in Slack, or for an org-wide install
    the page where the admin adds it to the org's workspaces."""
    if tenant.is_enterprise_install:
        return (f"https://app.slack.com/manage/{tenant.enterprise_id}/integrations/profile/"
                f"{app_id}/workspaces/add")
    return f"https://slack.com/app_redirect?{urlencode({'app': app_id, 'team': tenant.team_id})}"


def build_oauth_flow(
    *,
    client_id: str,
    client_secret: str,
    public_url: str,
    store: TenantInstallationStore,
    states: TenantStateStore,
    authorize: TenantAuthorize,
    client: WebClient,
) -> OAuthFlow:
    """Bolt's flow with our stores; `client` (SLACK_API_URL, no token) makes the exchange."""

    def success(args: SuccessArgs) -> BoltResponse:
        installation = args.installation
        tenant = Tenant.of(installation.enterprise_id, installation.team_id,
                           bool(installation.is_enterprise_install))
        authorize.evict(tenant)
        app_id = installation.app_id or ""
        team_for_link = installation.team_id or installation.enterprise_id or ""
        if installation.bot_token and installation.user_id:
            try:
                client.chat_postMessage(
                    token=installation.bot_token, channel=installation.user_id,
                    text=WELCOME_TEXT.format(home=app_home_link(team_for_link, app_id)),
                )
            except SlackApiError as exc:
                log.warning("install of %s: the welcome message failed: %s",
                            tenant.key(), exc.response.get("error"))
        log.info("installed in %s", tenant.key())
        return BoltResponse(status=302, body="", headers={
            "Location": back_to_slack(tenant, app_id), "Cache-Control": "no-store",
        })

    def failure(args: FailureArgs) -> BoltResponse:
        log.warning("an install failed: %s", args.reason)
        if args.reason in ("invalid_browser", "invalid_state"):
            text, status = EXPIRED_TEXT, 400
        elif args.reason == "access_denied":
            text, status = CANCELLED_TEXT, 200
        else:
            text, status = FAILED_TEXT, 400 if args.suggested_status_code < 500 else 500
        return _text(status, text)

    settings = OAuthSettings(
        client_id=client_id,
        client_secret=client_secret,
        scopes=list(BOT_SCOPES),
        user_scopes=[],
        redirect_uri=public_url.rstrip("/") + REDIRECT_PATH,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        install_page_rendering_enabled=False,
        callback_options=CallbackOptions(success=success, failure=failure),
        installation_store=store,
        installation_store_bot_only=True,
        state_store=states,
        state_expiration_seconds=STATE_SECONDS,
    )
    return OAuthFlow(client=client, logger=log, settings=settings)


class RateLimit:
    """At most `per_minute` requests per client address; an address that keeps going past it
    stays refused until it has been quiet for a minute (each request renews its entry)."""

    def __init__(self, per_minute: int = RATE_PER_MINUTE,
                 timer: Callable[[], float] = time.monotonic) -> None:
        self._per_minute = per_minute
        self._seen: TTLCache[str, int] = TTLCache(MAX_ADDRESSES, 60.0, timer=timer)
        self._lock = threading.Lock()

    def allow(self, address: str) -> bool:
        with self._lock:
            count = self._seen.get(address, 0) + 1
            self._seen[address] = count
            return count <= self._per_minute


class InstallRoutes:
    """The WSGI app in front of everything: the two OAuth routes here, the rest to `inner`."""

    def __init__(self, flow: OAuthFlow, inner: WSGIApplication,
                 rate_limit: RateLimit | None = None) -> None:
        self._flow = flow
        self._inner = inner
        self._rate = rate_limit or RateLimit()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path not in (INSTALL_PATH, REDIRECT_PATH):
            return self._inner(environ, start_response)
        response = self._handle(path, environ)
        wsgi = WsgiHttpResponse(
            status=response.status, headers=response.headers, body=response.body
        )
        start_response(wsgi.status, wsgi.get_headers())
        return wsgi.get_body()

    def _handle(self, path: str, environ: WSGIEnvironment) -> BoltResponse:
        if environ.get("REQUEST_METHOD") != "GET":
            return BoltResponse(status=405, body="", headers={"Allow": "GET"})
        length = str(environ.get("CONTENT_LENGTH") or "0").strip()
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            return _text(413, "Request body not allowed.")
        if not self._rate.allow(str(environ.get("REMOTE_ADDR", ""))):
            return _text(429, "Too many requests. Please wait a minute and try again.")
        headers: dict[str, str | Sequence[str]] = {"cookie": str(environ.get("HTTP_COOKIE", ""))}
        request = BoltRequest(body="", query=str(environ.get("QUERY_STRING", "")),
                              headers=headers)
        try:
            if path == INSTALL_PATH:
                return self._flow.handle_installation(request)
            return self._flow.handle_callback(request)
        except Exception:
            log.exception("the install route %s failed", path)
            return _text(500, FAILED_TEXT)


def _text(status: int, text: str) -> BoltResponse:
    return BoltResponse(status=status, body=text, headers={
        "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store",
    })
