"""Bolt wiring of App Home: `app_home_opened` and the Refresh button publish the Home tab.

Slack retries an event it thinks was not delivered (`X-Slack-Retry-Num`), with the same
`event_id`; a small TTL set of seen ids drops the retry, so one opening publishes once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from cachetools import TTLCache
from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.answers import Caller
from bot.home import Home, UserChannels
from bot.render.home import ACTION_HOME_REFRESH

log = logging.getLogger(__name__)

MAX_CHANNEL_PAGES = 5  # users.conversations pages of 200: the first 1000 channels
SEEN_TTL_SECONDS = 15 * 60.0  # Slack retries within minutes


class SeenEvents:
    """Event ids seen lately, thread-safe; `first_time` is False for a retry of one."""

    def __init__(
        self,
        ttl_seconds: float = SEEN_TTL_SECONDS,
        maxsize: int = 10_000,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._seen: TTLCache[str, bool] = TTLCache(maxsize=maxsize, ttl=ttl_seconds, timer=timer)
        self._lock = threading.Lock()

    def first_time(self, event_id: str) -> bool:
        with self._lock:
            if event_id in self._seen:
                return False
            self._seen[event_id] = True
            return True


def register_home(app: App, home: Home, seen: SeenEvents) -> None:
    def on_app_home_opened(body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        app_home_opened(home, seen, body, event, client)

    def on_refresh(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        home_refresh(home, ack, body, client)

    app.event("app_home_opened")(on_app_home_opened)
    app.action(ACTION_HOME_REFRESH)(on_refresh)


def app_home_opened(
    home: Home, seen: SeenEvents, body: dict[str, Any], event: dict[str, Any], client: WebClient
) -> None:
    """Publish the Home tab once per opening; the Messages tab needs nothing."""
    if event.get("tab", "home") != "home":
        return
    event_id = body.get("event_id")
    if isinstance(event_id, str) and event_id and not seen.first_time(event_id):
        log.info("app_home_opened %s seen before (a retry); not published again", event_id)
        return
    user_id = str(event.get("user") or "")
    team_id = str(body.get("team_id") or "")
    publish_home(home, client, Caller(team_id=team_id, user_id=user_id))


def home_refresh(home: Home, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    """The Refresh button: ask MetaKraftwerk again, not the cache."""
    ack()
    user = body.get("user") or {}
    team = body.get("team") or {}
    caller = Caller(team_id=team.get("id") or user.get("team_id", ""), user_id=user.get("id", ""))
    publish_home(home, client, caller, refresh=True)


def publish_home(home: Home, client: WebClient, caller: Caller, *, refresh: bool = False) -> None:
    if not caller.user_id:
        log.warning("App Home event without a user; nothing published")
        return
    view = home.view(caller, user_channels(client, caller.user_id), refresh=refresh)
    try:
        client.views_publish(user_id=caller.user_id, view=view)
    except SlackApiError as exc:
        log.warning("views.publish for %s failed: %s", caller.user_id, exc.response.get("error"))
    except OSError as exc:
        log.warning("views.publish for %s failed: %s", caller.user_id, exc)


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
        error = str(exc.response.get("error") or "unknown error")
        log.warning("users.conversations for %s failed: %s", user_id, error)
        return UserChannels(tuple(ids), error)
    except OSError as exc:
        log.warning("users.conversations for %s failed: %s", user_id, exc)
        return UserChannels(tuple(ids), "Slack did not answer")
    return UserChannels(tuple(ids))
