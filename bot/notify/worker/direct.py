"""A follower's direct message: the channel `conversations.open` gives for the user."""

from __future__ import annotations

import logging

from slack_sdk import WebClient

from bot.clock import Clock
from bot.i18n import Texts
from bot.notify.follow_messages import render_followed
from bot.notify.records import Delivery
from bot.render.message import Message

log = logging.getLogger(__name__)


def direct_channel(slack: WebClient, user_id: str) -> str:
    """The app's DM channel with the user (Slack opens it if need be; needs `im:write`).

    SlackApiError passes through to the delivery's error policy; an answer without a channel
    id is a ValueError, so the row is dropped rather than retried forever.
    """
    response = slack.conversations_open(users=user_id)
    channel = response.get("channel")
    channel_id = channel.get("id") if isinstance(channel, dict) else None
    if not isinstance(channel_id, str) or not channel_id:
        raise ValueError(f"conversations.open gave no channel for user {user_id}")
    return channel_id


def tell_paused_follower(slack: WebClient, row: Delivery, reason: str, t: Texts) -> bool:
    """Once, when a follow is paused: say why, posted to the user's id (the app's Messages
    tab, which needs only `chat:write`, not the `im:write` a DM channel needs). Best effort:
    when Slack refuses this too, `/releases following` still shows the reason. `reason` is
    Slack's words (the error code and what it means), which stay as Slack gave them."""
    release = (t._("release #{id}", id=row.release_id) if row.release_id is not None
               else t._("a release"))
    text = t._(
        "I could not send you a direct message about {release}: {reason}. I paused that "
        "follow; once whoever runs this app has fixed its installation, "
        "`/releases follow {id}` resumes it.", release=release, reason=reason, id=row.release_id,
    )
    try:
        slack.chat_postMessage(channel=row.channel_id, text=text)
    except Exception as exc:
        log.info("could not tell user %s that a follow is paused (%s)", row.channel_id,
                 type(exc).__name__)
        return False
    return True


def direct_message(row: Delivery, clock: Clock, t: Texts) -> Message:
    """The follower's message, in `t`: the language of the user it goes to."""
    return render_followed(
        row.kind, row.payload, now=clock.now(), changed_at=row.created_at, t=t
    )
