"""Reading Slack payloads defensively: a field of the wrong type is a malformed request.

Signed requests come from Slack, but a listener must still not crash on a shape it did not
expect: `MalformedPayload` turns into HTTP 200, a clear ephemeral or nothing, and one log line
(see bot/slack/listeners.py). `unreadable` names the shapes Bolt itself cannot dispatch (it
reads `actions[0]`, `event.type` and `view.callback_id` before any listener runs), so they
never reach Bolt.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.app.answers import Caller
from bot.slack.actor import with_actor


class MalformedPayload(ValueError):
    """A payload field has a type Slack never sends there."""


def text(body: Mapping[str, Any], key: str) -> str:
    """A string field; missing or null is empty."""
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedPayload(f"{key} is a {type(value).__name__}, not a string")
    return value


def obj(body: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """An object field; missing or null is empty."""
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MalformedPayload(f"{key} is a {type(value).__name__}, not an object")
    return value


def first_action(body: Mapping[str, Any]) -> Mapping[str, Any]:
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], Mapping):
        raise MalformedPayload("actions is not a list of objects")
    return actions[0]


def unreadable(body: Mapping[str, Any]) -> str | None:
    """Why Bolt could not route this payload (None when it can): a field Bolt reads blindly."""
    kind = body.get("type")
    if kind in ("block_actions", "interactive_message") and "actions" in body:
        actions = body["actions"]
        if not isinstance(actions, list) or not actions:
            return "actions is not a list of objects"
        if not all(isinstance(a, Mapping) for a in actions):
            return "actions is not a list of objects"
    if "event" in body:
        event = body["event"]
        if not isinstance(event, Mapping):
            return "event is not an object"
        if "type" in event and not isinstance(event["type"], str):
            return "event.type is not a string"
    if "view" in body and not isinstance(body["view"], Mapping):
        return "view is not an object"
    return None


def command_caller(body: Mapping[str, Any], context: Mapping[str, Any] | None = None) -> Caller:
    """The caller of a slash command: the installation that answers and the actor's team."""
    return with_actor(Caller(
        team_id=text(body, "team_id"),
        channel_id=text(body, "channel_id"),
        user_id=text(body, "user_id"),
        user_name=text(body, "user_name"),
    ), body, context)


def interaction_caller(
    body: Mapping[str, Any], context: Mapping[str, Any] | None = None
) -> Caller:
    """The caller of a click, shortcut or form; `team.id` is the app's side, not the user's."""
    user, channel, team = obj(body, "user"), obj(body, "channel"), obj(body, "team")
    return with_actor(Caller(
        team_id=text(team, "id") or text(user, "team_id"),
        channel_id=text(channel, "id") or text(obj(body, "container"), "channel_id"),
        user_id=text(user, "id"),
        user_name=text(user, "username") or text(user, "name"),
    ), body, context)

