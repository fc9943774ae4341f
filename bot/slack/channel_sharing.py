"""Whether a channel is shared with other organisations (`is_ext_shared` of
conversations.info), cached per (team, channel) for 10 minutes, one short try per look-up.

A channel that Slack marked in the payload (`is_ext_shared_channel`) needs no look-up. When
Slack cannot say, the channel counts as not shared: the refusal is about where the bot posts,
not about who asks, and a post the channel refuses pauses the subscription anyway.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from cachetools import TTLCache
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.app.caller import Caller
from bot.app.gate import ChannelCheck
from bot.app.policy import SHARED_CHANNEL_REFUSAL
from bot.clock import Clock, SystemClock

log = logging.getLogger(__name__)

TTL_SECONDS = 600.0
Allowed = Callable[[str, str], bool]  # (team, channel) -> an admin allowed it


def shared_channel_check(
    web_client: WebClient,
    allowed: Allowed,
    *,
    ttl_seconds: float = TTL_SECONDS,
    clock: Clock | None = None,
) -> ChannelCheck:
    """The refusal for posting into the caller's channel, or None."""
    timer = (clock or SystemClock()).monotonic
    cache: TTLCache[tuple[str, str], bool] = TTLCache(4096, ttl_seconds, timer=timer)
    lock = threading.Lock()

    def ext_shared(caller: Caller) -> bool:
        key = (caller.team_id, caller.channel_id)
        with lock:
            if key in cache:
                return cache[key]
        try:
            channel = web_client.conversations_info(channel=caller.channel_id).get("channel")
        except SlackApiError as exc:
            log.info("conversations.info for %s failed (%s)", caller.channel_id,
                     str(exc.response.get("error", "unknown error"))[:60])
            return False
        except Exception as exc:
            log.info("conversations.info for %s failed (%s)", caller.channel_id,
                     type(exc).__name__)
            return False
        shared = isinstance(channel, dict) and channel.get("is_ext_shared") is True
        with lock:
            cache[key] = shared
        return shared

    def check(caller: Caller) -> str | None:
        if not caller.channel_id or caller.channel_id.startswith("D"):
            return None
        if not (caller.ext_shared_channel or ext_shared(caller)):
            return None
        if allowed(caller.team_id, caller.channel_id):
            return None
        log.info("channel %s is shared with other organisations: refused", caller.channel_id)
        return SHARED_CHANNEL_REFUSAL

    return check
