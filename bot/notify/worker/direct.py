"""A follower's direct message: the channel `conversations.open` gives for the user."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.clock import Clock
from bot.notify.follow_messages import render_followed
from bot.notify.records import Delivery
from bot.render.message import Message


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


def direct_message(row: Delivery, clock: Clock) -> Message:
    return render_followed(row.kind, row.payload, now=clock.now(), changed_at=row.created_at)
