"""The policy applied to one request: which action it is, and whether this caller may take it.

A user of another organisation is told by the payload alone. Whether a member of the
workspace is a guest takes a users.info look-up, made only for the actions guests may not take;
when it fails those are refused (closed) and everything else stays open.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.app.caller import Caller
from bot.app.policy import POSTS_HERE, PRIVILEGED, Action, Audience, refusal
from bot.query import (
    AllowSharedChannelCommand,
    Command,
    DigestCommand,
    FollowCommand,
    HelpCommand,
    SubscribeCommand,
    SubscriptionsCommand,
    UnfollowCommand,
    UnsubscribeCommand,
)
from bot.render import actions as act

log = logging.getLogger(__name__)

# A caller's audience from Slack (bot/slack/user_standing.py); None when it cannot be told.
AudienceLookup = Callable[[Caller], Audience | None]
# The refusal for posting into the caller's channel (shared with other organisations), or None.
ChannelCheck = Callable[[Caller], str | None]


class Gate:
    """Refuses what the caller may not do; without a look-up, workspace users are members."""

    def __init__(
        self, lookup: AudienceLookup | None = None, channel: ChannelCheck | None = None
    ) -> None:
        self._lookup = lookup
        self._channel = channel

    def refusal(self, action: Action, caller: Caller) -> str | None:
        """The one line refusing `action` to `caller`, or None when it may go ahead."""
        refused = self._who(action, caller)
        if refused is None and action in POSTS_HERE and self._channel is not None:
            return self._channel(caller)
        return refused

    def _who(self, action: Action, caller: Caller) -> str | None:
        if caller.is_external:
            audience: Audience | None = "external"
        elif action not in PRIVILEGED or self._lookup is None:
            return None
        else:
            try:
                audience = self._lookup(caller)
            except Exception:
                log.warning("could not tell who %s is", caller.user_id or "?", exc_info=True)
                audience = None
        refused = refusal(action, audience)
        if refused is not None:
            log.info("%s refused to %s (%s)", action, caller.user_id or "?", audience or "unknown")
        return refused


def command_action(command: Command) -> Action:
    """What a parsed `/releases` command does, in the policy's words."""
    if isinstance(command, HelpCommand):
        return "help"
    if isinstance(command, SubscribeCommand | DigestCommand):
        return "subscribe"
    if isinstance(command, UnsubscribeCommand):
        return "unsubscribe"
    if isinstance(command, AllowSharedChannelCommand):
        return "admin"
    if isinstance(command, SubscriptionsCommand):
        return "list_subscriptions"
    if isinstance(command, FollowCommand | UnfollowCommand):
        return "follow"
    return "lookup"  # lists, cards, standup, groups, the caller's own `following`


def button_action(action: act.ButtonAction) -> Action:
    """What a click on one of the app's buttons does."""
    if isinstance(action, act.PageRequest):
        return "page"
    if isinstance(action, act.ReleaseRef):
        return "detail"
    if isinstance(action, act.FollowRequest):
        return "follow"
    if isinstance(action, act.ShareRequest):
        return "share"
    if isinstance(action, act.OpenSearch):
        return "search"
    return "unsubscribe"  # the Remove button of the subscription list
