"""Who asked, and what goes back: the types every surface and the notification commands share.

They live apart from the answers so the answers module stays one concern (bot/app/answers.py
re-exports them, where callers have always found them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from bot.app.caller import Caller
from bot.i18n import ENGLISH, Texts
from bot.metakraftwerk.models import Release
from bot.query import (
    AllowSharedChannelCommand,
    DigestCommand,
    FollowCommand,
    FollowingCommand,
    SubscribeCommand,
    SubscriptionsCommand,
    UnfollowCommand,
    UnsubscribeCommand,
)
from bot.render.message import Message

ReplyMode = Literal["ephemeral", "in_channel", "replace", "share", "delete"]
SubscriptionCommand = (
    SubscribeCommand | DigestCommand | SubscriptionsCommand | UnsubscribeCommand
    | AllowSharedChannelCommand
)
FollowsCommand = FollowCommand | UnfollowCommand | FollowingCommand

__all__ = ["Caller", "Follows", "FollowsCommand", "Reply", "ReplyMode", "SubscriptionCommand",
           "Subscriptions"]


@dataclass(frozen=True, slots=True)
class Reply:
    """A message and how to deliver it; `view` asks the listener to open a modal instead."""

    message: Message
    mode: ReplyMode = "ephemeral"
    view: dict[str, Any] | None = field(default=None)


class Subscriptions(Protocol):
    """The notification commands; provided by `bot.notify` where a store is configured."""

    def handle(
        self, command: SubscriptionCommand, caller: Caller, t: Texts = ENGLISH
    ) -> Reply:
        """The answer in `t`, the language of the person who asked."""
        ...

    def remove(self, subscription_id: int, caller: Caller, t: Texts = ENGLISH) -> Reply: ...


class Follows(Protocol):
    """Following one release by direct message; provided by `bot.notify` beside subscriptions."""

    def handle(self, command: FollowsCommand, caller: Caller, t: Texts = ENGLISH) -> Reply:
        """The answer in `t`, the language of the person who asked."""
        ...

    def is_following(self, caller: Caller, release_id: int) -> bool | None:
        """None when it cannot be told (then the release card shows no Follow button)."""
        ...

    def followed(self, caller: Caller) -> Sequence[Release]: ...
