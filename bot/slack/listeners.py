"""Bolt listeners: ack at once, then let `Answers` decide, then send the reply where it belongs."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.answers import Answers, Caller, Reply
from bot.render import actions
from bot.render.search import SEARCH_VIEW_CALLBACK
from bot.slack.surfaces import register_surfaces

log = logging.getLogger(__name__)

COMMAND = "/releases"
FIND_RELEASES_CALLBACK = "find_releases"


def register(app: App, answers: Answers) -> None:
    """Register every listener of the app on a Bolt App."""
    register_surfaces(app, answers)

    @app.command(COMMAND)
    def on_command(ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        ack()
        caller = Caller(
            team_id=command.get("team_id", ""),
            channel_id=command.get("channel_id", ""),
            user_id=command.get("user_id", ""),
            user_name=command.get("user_name", ""),
        )
        reply = answers.command(command.get("text") or "", caller)
        deliver(reply, respond, client, trigger_id=command.get("trigger_id"))

    @app.shortcut(FIND_RELEASES_CALLBACK)
    def on_find_releases(
        ack: Ack, shortcut: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        ack()
        caller = _caller_from_interaction(shortcut)
        text = (shortcut.get("message") or {}).get("text") or ""
        reply = answers.message_shortcut(text, caller)
        deliver(reply, respond, client, trigger_id=shortcut.get("trigger_id"))

    @app.action(re.compile(actions.ACTION_ID_PATTERN))
    def on_button(ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        ack()
        caller = _caller_from_interaction(body)
        action = (body.get("actions") or [{}])[0]
        reply = answers.button(
            action.get("action_id", ""),
            action.get("value") or "",
            caller,
            response_url=body.get("response_url"),
        )
        deliver(reply, respond, client, trigger_id=body.get("trigger_id"))

    @app.view(SEARCH_VIEW_CALLBACK)
    def on_search_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = (view.get("state") or {}).get("values") or {}
        errors = answers.search_form_errors(values)
        if errors:
            ack(response_action="errors", errors=errors)  # the form stays open, field marked
            return
        ack()
        caller = _caller_from_interaction(body)
        metadata = _json_object(view.get("private_metadata"))
        response_url = metadata.get("response_url")
        reply = answers.search_submitted(values, caller)
        if isinstance(response_url, str) and response_url:
            _post_to_response_url(response_url, reply)
        else:
            log.warning("search form submitted without a response_url; answer dropped")

    @app.error
    def on_error(error: Exception, body: dict[str, Any], respond: Respond) -> None:
        # Listeners catch their own errors through Answers; this is the net under that net.
        ref = answers.log_unexpected(error)
        if body.get("response_url"):
            try:
                respond(
                    text=f"Something went wrong on our side (ref {ref}). Please try again.",
                    response_type="ephemeral",
                    replace_original=False,
                )
            except Exception:
                log.exception("could not tell the user about error ref %s", ref)


def deliver(reply: Reply, respond: Respond, client: WebClient, *, trigger_id: str | None) -> None:
    """Send a reply the way its mode says: ephemeral, in channel, replacing, or as a modal."""
    if reply.view is not None and trigger_id:
        try:
            client.views_open(trigger_id=trigger_id, view=reply.view)
            return
        except SlackApiError as exc:
            log.warning("views.open failed: %s", exc.response.get("error"))
        # No trigger or it expired: fall through to the message that comes with the view.
    payload = reply.message.payload()
    if reply.mode == "replace":
        respond(**payload, replace_original=True)
    elif reply.mode == "share":
        respond(**payload, response_type="in_channel", replace_original=False)
        respond(delete_original=True)
    elif reply.mode == "delete":
        respond(delete_original=True)
    else:
        respond(**payload, response_type=reply.mode, replace_original=False)


def _post_to_response_url(url: str, reply: Reply) -> None:
    response = WebhookClient(url, timeout=10).send(
        **reply.message.payload(),
        response_type="in_channel" if reply.mode in ("in_channel", "share") else "ephemeral",
        replace_original=False,
    )
    if response.status_code != 200:
        log.warning("response_url answered HTTP %s", response.status_code)


def _caller_from_interaction(body: dict[str, Any]) -> Caller:
    user = body.get("user") or {}
    channel = body.get("channel") or {}
    team = body.get("team") or {}
    return Caller(
        team_id=team.get("id", "") or user.get("team_id", ""),
        channel_id=channel.get("id", "") or (body.get("container") or {}).get("channel_id", ""),
        user_id=user.get("id", ""),
        user_name=user.get("username") or user.get("name") or "",
    )


def _json_object(text: object) -> dict[str, Any]:
    if not isinstance(text, str) or not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
