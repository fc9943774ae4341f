"""Whether a workspace user is a member, a guest or a user of another organisation, from
`users.info`, cached per (team, user) for a few minutes.

Asked only for the actions guests may not take (bot/app/policy.py), on an answer thread, with
a client of its own that gives up within seconds and never sleeps out a 429: a slow Slack
costs one refusal ("try again in a minute"), never a held thread. A failure is not cached for
long, so the next try asks again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from cachetools import TTLCache
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.app.caller import Caller
from bot.app.gate import AudienceLookup
from bot.app.policy import Audience
from bot.clock import Clock, SystemClock
from bot.slack.tenant_token import TenantWebClient

log = logging.getLogger(__name__)

LOOKUP_TIMEOUT_SECONDS = 2  # the whole look-up, one try: an answer thread waits no longer
TTL_SECONDS = 300.0  # a user made a guest (or a member) is seen as such within 5 minutes


def audience_of(user: Mapping[str, Any], caller: Caller) -> Audience:
    """A users.info `user` object, judged against the installation that answers."""
    enterprise = user.get("enterprise_user")
    org = enterprise.get("enterprise_id") if isinstance(enterprise, Mapping) else None
    team = user.get("team_id")
    if user.get("is_stranger") is True:
        return "external"
    same_org = bool(caller.enterprise_id) and caller.enterprise_id in (org, team)
    other_team = isinstance(team, str) and bool(team) and bool(caller.team_id)
    if other_team and team != caller.team_id and not same_org:
        return "external"
    if user.get("is_restricted") is True or user.get("is_ultra_restricted") is True:
        return "guest"
    return "member"


def slack_audience(
    web_client: WebClient,
    *,
    ttl_seconds: float = TTL_SECONDS,
    failure_ttl_seconds: float = 20.0,
    max_entries: int = 4096,
    clock: Clock | None = None,
) -> AudienceLookup:
    """The caller's audience; None (logged in one line) when Slack cannot say just now."""
    timer = (clock or SystemClock()).monotonic
    known: TTLCache[tuple[str, str], Audience] = TTLCache(max_entries, ttl_seconds, timer=timer)
    failed: TTLCache[tuple[str, str], bool] = TTLCache(max_entries, failure_ttl_seconds,
                                                       timer=timer)
    lock = threading.Lock()

    def lookup(caller: Caller) -> Audience | None:
        key = (caller.team_id, caller.user_id)
        if not caller.user_id:
            return None
        with lock:
            if key in known:
                return known[key]
            if key in failed:
                return None
        try:
            response = web_client.users_info(user=caller.user_id)
            user = response.get("user")
        except SlackApiError as exc:
            reason = str(exc.response.get("error", "unknown error"))[:60]
            user = None
        except Exception as exc:
            reason = type(exc).__name__
            user = None
        else:
            reason = "no user in the answer"
        if not isinstance(user, Mapping):
            log.warning("users.info for %s failed (%s); privileged actions refused for now",
                        caller.user_id, reason)
            with lock:
                failed[key] = True
            return None
        audience = audience_of(user, caller)
        with lock:
            known[key] = audience
        return audience

    return lookup


def lookup_client(token: str | None, base_url: str) -> WebClient:
    """A client for the look-up alone: one try, a short timeout, a 429 fails at once."""
    return TenantWebClient(token=token, base_url=base_url, timeout=LOOKUP_TIMEOUT_SECONDS,
                           retry_handlers=[])
