"""A Slack user's time zone, from `users.info`, for digests that name no `tz:`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from cachetools import TTLCache
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.clock import Clock, SystemClock

log = logging.getLogger(__name__)

UserTimezone = Callable[[str], str | None]


def slack_user_timezone(
    web_client: WebClient,
    *,
    ttl_seconds: float = 600.0,
    max_entries: int = 1024,
    clock: Clock | None = None,
) -> UserTimezone:
    """A user's IANA time zone from `users.info` (needs `users:read`), cached for a while.

    Any failure is logged in one line and answers None, so the caller falls back to the
    default zone instead of failing the command.
    """
    timer = (clock or SystemClock()).monotonic
    cache: TTLCache[str, str | None] = TTLCache(maxsize=max_entries, ttl=ttl_seconds, timer=timer)
    lock = threading.Lock()

    def lookup(user_id: str) -> str | None:
        if not user_id:
            return None
        with lock:
            if user_id in cache:
                return cache[user_id]
        try:
            response = web_client.users_info(user=user_id)
        except SlackApiError as exc:
            log.warning(
                "users.info for %s failed (%s); using the default time zone",
                user_id, exc.response.get("error", "unknown error"),
            )
            return None
        except Exception as exc:
            log.warning(
                "users.info for %s failed (%s); using the default time zone",
                user_id, type(exc).__name__,
            )
            return None
        user = response.get("user")
        tz = user.get("tz") if isinstance(user, dict) else None
        zone = tz if isinstance(tz, str) and tz.strip() else None
        with lock:
            cache[user_id] = zone
        return zone

    return lookup
