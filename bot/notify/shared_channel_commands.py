"""`/releases allow-shared-channel` and `disallow-shared-channel`: whether a channel shared
with other organisations may get subscriptions, digests and Share. Refused to guests and
users of other organisations before it gets here (bot/app/policy.py), and limited to
`SUBSCRIPTION_MANAGERS` where they are set, like every change to the channel's subscriptions.
"""

from __future__ import annotations

import logging

from bot.app.answers import Caller, Reply
from bot.i18n import ENGLISH, Texts
from bot.notify.replies import confirm, refuse
from bot.notify.store.shared_channels import SharedChannelRepository
from bot.query import USER_ID, AllowSharedChannelCommand

log = logging.getLogger(__name__)


def allow_shared(
    channels: SharedChannelRepository,
    command: AllowSharedChannelCommand,
    caller: Caller,
    t: Texts = ENGLISH,
) -> Reply:
    """The change, confirmed in the channel in `t` (the language of whoever made it)."""
    who = f"<@{caller.user_id}>" if USER_ID.fullmatch(caller.user_id) else t._("Someone")
    log.info("%s %s shared channel %s", caller.user_id or "?",
             "allowed" if command.allow else "disallowed", caller.channel_id)
    if command.allow:
        channels.allow(caller.team_id, caller.channel_id, caller.user_id)
        return confirm(
            t._("{who} allowed subscriptions, digests and Share in this channel, although it "
                "is shared with other organisations: what is posted here is visible to them.",
                who=who),
            t._("`/releases disallow-shared-channel` takes it back."),
        )
    if not channels.disallow(caller.team_id, caller.channel_id):
        return refuse(t._("This channel was not allowed; nothing changed."))
    return confirm(
        t._("{who} took back subscriptions, digests and Share in this shared channel; the "
            "existing subscriptions stay until they are removed.", who=who),
    )
