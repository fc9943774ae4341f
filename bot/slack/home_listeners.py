"""Bolt wiring of App Home: `app_home_opened` and the Refresh button publish the Home tab.

Both ack in the request's thread and publish on `delivery.work`: the view needs the API (or
the cache), users.conversations and views.publish. When the queue is full the opening is
skipped with one log line; the event is answered 503 so that Slack delivers it again later,
and a Refresh click is skipped (the user can press it again). A 429 is never slept out here:
the tab shows what it has, and a rate-limited publish is tried again once Slack allows it
(bot/slack/rate_limits.py).

Slack retries an event it thinks was not delivered (`X-Slack-Retry-Num`) with the same
`event_id`; the injected ReplayGuard (shared on Redis when CACHE_URL is set) drops the retry,
in this process or another, so one opening publishes once.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from slack_bolt import Ack, App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.app.answers import Caller
from bot.app.home import Home, UserChannels
from bot.cache.replay import ReplayGuard
from bot.i18n import N_
from bot.render.home_view import ACTION_HOME_REFRESH
from bot.slack import payload
from bot.slack.connect_listeners import ConnectHome, register_connect, tenant_of
from bot.slack.rate_limits import RETRIES, again_later, retry_after
from bot.slack.reply_delivery import Delivery
from bot.tenant import Tenant

log = logging.getLogger(__name__)

MAX_CHANNEL_PAGES = 5  # users.conversations pages of 200: the first 1000 channels
# Shown for the channels when Slack answers 429: the web process never waits a rate limit out.
RATE_LIMITED = N_("rate-limited by Slack just now; press Refresh in a minute")
SEEN_TTL_SECONDS = 15 * 60.0  # Slack retries within minutes
BUSY_STATUS = 503  # Slack retries an event answered with anything but 2xx


def register_home(
    app: App, home: Home, delivery: Delivery, seen: ReplayGuard,
    connect: ConnectHome | None = None,
) -> None:
    """With `connect` (distributed mode) the tab shows the MetaKraftwerk connection too."""
    def opened(body: dict[str, Any], event: dict[str, Any]) -> BoltResponse | None:
        return on_app_home_opened(home, delivery, seen, body, event, connect=connect)

    def refreshed(ack: Ack, body: dict[str, Any]) -> None:
        on_home_refresh(home, delivery, ack, body, connect=connect)

    app.event("app_home_opened")(opened)
    app.action(ACTION_HOME_REFRESH)(refreshed)
    if connect is not None:
        def republish(body: dict[str, Any]) -> None:
            user = payload.obj(body, "user")
            tenant = tenant_of(body)
            caller = Caller(team_id=tenant.team_id, user_id=payload.text(user, "id"),
                            enterprise_id=tenant.enterprise_id)
            publish_home(home, delivery, caller, connect=connect, tenant=tenant)

        register_connect(app, connect, delivery.client, delivery.work.submit, republish)


def on_app_home_opened(
    home: Home, delivery: Delivery, seen: ReplayGuard, body: dict[str, Any],
    event: dict[str, Any], connect: ConnectHome | None = None,
) -> BoltResponse | None:
    """Publish the Home tab once per opening, on a work thread; the Messages tab needs nothing."""
    if payload.text(event, "tab") not in ("", "home"):
        return None
    event_id = payload.text(body, "event_id")
    # The org too: a workspace of an org reads the org's connection when it has none of its own.
    caller = Caller(team_id=payload.text(body, "team_id"), user_id=payload.text(event, "user"),
                    enterprise_id=tenant_of(body).enterprise_id)
    if not caller.user_id:
        log.warning("App Home event without a user; nothing published")
        return None

    def publish() -> None:
        if event_id and not seen.first_time(f"app_home_opened:{event_id}", SEEN_TTL_SECONDS):
            log.info("app_home_opened %s seen before (a retry); not published again", event_id)
            return
        publish_home(home, delivery, caller, connect=connect, tenant=tenant_of(body))

    if delivery.work.submit(publish):
        return None
    log.warning("busy: App Home for %s not published; Slack will send the event again",
                caller.user_id)
    return BoltResponse(status=BUSY_STATUS, body="")


def on_home_refresh(
    home: Home, delivery: Delivery, ack: Ack, body: dict[str, Any],
    connect: ConnectHome | None = None,
) -> None:
    """The Refresh button: ask MetaKraftwerk again, not the cache."""
    user, team = payload.obj(body, "user"), payload.obj(body, "team")
    tenant = tenant_of(body)
    caller = Caller(
        team_id=payload.text(team, "id") or payload.text(user, "team_id"),
        user_id=payload.text(user, "id"),
        enterprise_id=tenant.enterprise_id,
    )
    ack()
    if not delivery.work.submit(lambda: publish_home(
        home, delivery, caller, refresh=True, connect=connect, tenant=tenant
    )):
        log.warning("busy: App Home refresh for %s skipped", caller.user_id)


def publish_home(
    home: Home,
    delivery: Delivery,
    caller: Caller,
    *,
    refresh: bool = False,
    retries_left: int = RETRIES,
    connect: ConnectHome | None = None,
    tenant: Tenant | None = None,
) -> None:
    """Publish the Home tab; when Slack rate-limits that, again (from the cache) once it allows."""
    if not caller.user_id:
        log.warning("App Home event without a user; nothing published")
        return
    client = delivery.client
    panel = None
    if connect is not None:
        try:
            panel = connect.panel(client, tenant or Tenant("", caller.team_id), caller.user_id)
        except Exception:
            log.exception("App Home without the MetaKraftwerk connection for %s", caller.user_id)
    view = home.view(caller, user_channels(client, caller.user_id), refresh=refresh,
                     connection=panel)
    try:
        client.views_publish(user_id=caller.user_id, view=view)
    except SlackApiError as exc:
        again = partial(_publish_again, home, delivery, caller, connect, tenant)
        what = f"views.publish for {caller.user_id}"
        if not again_later(delivery.work, exc, again, what=what, retries_left=retries_left):
            log.warning("%s failed: %s", what, exc.response.get("error"))
    except OSError as exc:
        log.warning("views.publish for %s failed: %s", caller.user_id, exc)


def _publish_again(
    home: Home, delivery: Delivery, caller: Caller, connect: ConnectHome | None,
    tenant: Tenant | None, retries_left: int,
) -> None:
    publish_home(home, delivery, caller, retries_left=retries_left, connect=connect,
                 tenant=tenant)


def user_channels(client: WebClient, user_id: str) -> UserChannels:
    """The channels `user_id` is in (needs channels:read, groups:read), or why not."""
    ids: list[str] = []
    cursor: str | None = None
    try:
        for _ in range(MAX_CHANNEL_PAGES):
            response = client.users_conversations(
                user=user_id,
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=200,
                cursor=cursor,
            )
            found = response.get("channels") or []
            ids.extend(str(c["id"]) for c in found if isinstance(c, dict) and c.get("id"))
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
    except SlackApiError as exc:
        if retry_after(exc) is not None:
            log.info("users.conversations for %s rate-limited; the Home shows the rest", user_id)
            return UserChannels(tuple(ids), RATE_LIMITED)
        error = str(exc.response.get("error") or "unknown error")
        log.warning("users.conversations for %s failed: %s", user_id, error)
        return UserChannels(tuple(ids), error)
    except OSError as exc:
        log.warning("users.conversations for %s failed: %s", user_id, exc)
        return UserChannels(tuple(ids), N_("Slack did not answer"))
    return UserChannels(tuple(ids))

