"""How a listener's answer reaches Slack: on the work queue, through response URLs or a modal."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.app.answers import Reply
from bot.slack.response_urls import ResponseUrls
from bot.slack.work import WorkQueue

log = logging.getLogger(__name__)

# Calls that spend a trigger_id (views.open, views.push): Slack accepts one for 3 s only.
TRIGGER_THREADS, TRIGGER_QUEUE_LIMIT = 4, 64

BUSY_TEXT = (
    ":hourglass: The bot is busy with many requests right now. Please try again in a minute."
)


@dataclass(frozen=True, slots=True)
class Delivery:
    """The parts every listener shares: one of each per process."""

    work: WorkQueue  # answers: lookups that may wait on the API
    notices: WorkQueue  # short posts when `work` is full or a request failed
    response_urls: ResponseUrls
    client: WebClient  # the one Web API client (views.open)
    # Their own lane, so that a form opens while every answer thread waits on a lookup.
    triggers: WorkQueue = field(
        default_factory=lambda: WorkQueue(TRIGGER_THREADS, TRIGGER_QUEUE_LIMIT, name="trigger")
    )

    def notify(self, response_url: str, text: str) -> None:
        """Post a short ephemeral notice in the background; the caller's ack is not held up."""
        body = {"text": text, "response_type": "ephemeral", "replace_original": False}
        if not self.notices.submit(lambda: self.response_urls.post(response_url, body)):
            log.warning("no room to post a notice either; the user sees no answer")

    def deliver(self, reply: Reply, response_url: str | None, *, trigger_id: str) -> None:
        """Send a reply the way its mode says: ephemeral, in channel, replacing, or a modal."""
        if reply.view is not None and trigger_id:
            try:
                self.client.views_open(trigger_id=trigger_id, view=reply.view)
                return
            except SlackApiError as exc:
                log.warning("views.open failed: %s", exc.response.get("error"))
            # No trigger or it expired: fall through to the message that comes with the view.
        payload: dict[str, Any] = reply.message.payload()
        post = self.response_urls.post
        if reply.mode == "replace":
            post(response_url, {**payload, "replace_original": True})
        elif reply.mode == "share":
            if post(response_url, {**payload, "response_type": "in_channel",
                                   "replace_original": False}):
                post(response_url, {"delete_original": True})
        elif reply.mode == "delete":
            post(response_url, {"delete_original": True})
        else:
            post(response_url, {**payload, "response_type": reply.mode,
                                "replace_original": False})
