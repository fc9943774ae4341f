"""Builds the Bolt App: verified requests, our Web API client, acks in the request's thread."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.authorization.authorize import Authorize
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.middleware import Middleware
from slack_bolt.oauth import OAuthFlow
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.app.answers import Answers
from bot.cache.replay import ReplayGuard
from bot.config import ConfigError, Settings
from bot.slack import listeners
from bot.slack.reply_delivery import Delivery
from bot.slack.surfaces import Surfaces, register_surfaces
from bot.slack.tenant_token import BindTenantToken

log = logging.getLogger(__name__)


def build_app(
    settings: Settings,
    answers: Answers,
    delivery: Delivery,
    *,
    replay: ReplayGuard,
    surfaces: Surfaces | None = None,
    require_signing_secret: bool = True,
    authorize: Authorize | None = None,
    oauth_flow: OAuthFlow | None = None,
) -> App:
    """A Bolt App for HTTP mode (signing secret required) or Socket Mode (not needed there).

    `process_before_response` runs each listener in the request's own thread, so its ack never
    waits for a free listener thread; the listeners hand the slow part to `delivery.work`
    (`LISTENER_THREADS` threads, `WORK_QUEUE_LIMIT` waiting). In place of Bolt's own signature
    check, which would compute the request front's HMAC a second time, `FrontVerified` lets
    through only what the front (bot/slack/front.py) verified. `replay` drops Slack's retries
    of an event already handled, by any process that shares it. `surfaces` (built by
    bot/wiring) adds App Home, the search form and the Workflow Builder step; without them
    the app answers `/releases`, its buttons and the message shortcut only. In distributed
    mode `authorize` finds each request's installation and `oauth_flow` installs from a link
    (bot/install); there is no token of the app's own.
    """
    check_slack_settings(settings, http_mode=require_signing_secret)
    signing_secret = (
        settings.slack_signing_secret.value if settings.slack_signing_secret else "socket-mode"
    )
    if settings.is_distributed and (authorize is None or oauth_flow is None):
        raise ConfigError("distributed mode needs the installations' authorize and OAuth flow")
    token = settings.slack_bot_token.value if settings.slack_bot_token else None
    logger = logging.getLogger("bot.slack.bolt")
    if not any(isinstance(f, _SkipTokenWarning) for f in logger.filters):
        logger.addFilter(_SkipTokenWarning())
    app = App(
        token=None if settings.is_distributed else token,
        # An Authorize instance (not a plain function) may stand beside the OAuth flow.
        authorize=authorize if settings.is_distributed else None,  # type: ignore[arg-type]
        oauth_flow=oauth_flow if settings.is_distributed else None,
        signing_secret=signing_secret,
        client=delivery.client,
        logger=logger,
        process_before_response=True,
        request_verification_enabled=False,
        before_authorize=FrontVerified(),
    )
    if settings.is_distributed:
        app.use(BindTenantToken())  # first: every listener's calls carry their team's token
    listeners.register(app, answers, delivery)
    if surfaces is not None:
        register_surfaces(app, surfaces, delivery, replay)
    return app


class FrontVerified(Middleware):
    """Where Bolt checks a request's signature: an HTTP request goes on only when the request
    front verified its signature and marked it so; unmarked, it is refused (401) and nothing
    acts on it, so this app served without the front answers no one. Socket Mode's envelopes
    come over the app-token socket and carry no signature: they go on."""

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        if req.mode == "socket_mode" or req.context.get(listeners.SIGNATURE_VERIFIED) is True:
            return next()
        log.warning("refused a request the request front did not verify")
        return BoltResponse(status=401, body="")


class _SkipTokenWarning(logging.Filter):
    """Bolt warns that `token` is unused when a client is given; the client carries that token."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


def check_slack_settings(settings: Settings, *, http_mode: bool) -> None:
    """Fail fast, with one line, when a Slack setting the chosen mode needs is missing."""
    if settings.slack_bot_token is None and not settings.is_distributed:
        raise ConfigError("SLACK_BOT_TOKEN is required to talk to Slack (xoxb-...)")
    if http_mode and settings.slack_signing_secret is None:
        raise ConfigError("SLACK_SIGNING_SECRET is required in HTTP mode")
    if not http_mode and settings.slack_app_token is None:
        raise ConfigError("SLACK_APP_TOKEN (xapp-...) is required for Socket Mode")


def verify_bot_token(settings: Settings) -> None:
    """Ask Slack once, before serving, whether the bot token works: one line if it does not."""
    quiet = logging.getLogger("bot.slack.verify")
    quiet.setLevel(logging.CRITICAL)  # the failure is reported below, once, in one line
    client = WebClient(
        token=settings.slack_bot_token.value if settings.slack_bot_token else None,
        base_url=settings.slack_api_url,
        timeout=15,
        logger=quiet,
    )
    try:
        client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else "unknown"
        raise ConfigError(f"Slack did not accept SLACK_BOT_TOKEN ({error})") from None
    except OSError as exc:
        raise ConfigError(
            f"cannot reach Slack at {settings.slack_api_url} (SLACK_API_URL): {exc}"
        ) from None
