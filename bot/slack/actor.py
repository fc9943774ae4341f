"""Who is speaking: the installation that answers a verified payload, and the actor's home team.

Slack names two different teams in one payload, and which field is which depends on the kind:

- the installation is what Bolt resolves (`context.authorize_result`, else `context.team_id`,
  which Bolt takes from `view.app_installed_team_id`, `team.id`, `authorizations[0]` or
  `team_id`, in that order). The top-level `team_id` of an event is the channel's *source*
  workspace in a shared channel, never the installation;
- the actor's home team: a slash command's `user_team` or `team_id`; an interaction's
  `user.team_id` (`team.id` is the side of the app that posted the message); an event's
  `event.user_team` or `event.team`, which may be an `E…` org id.

Pure: it reads mappings (a BoltContext and its AuthorizeResult are dicts) and calls nothing but
Bolt's own team and org extraction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from slack_bolt.request.internals import extract_enterprise_id, extract_team_id

from bot.app.caller import Caller

INTERACTIONS = frozenset({
    "block_actions", "block_suggestion", "interactive_message", "message_action", "shortcut",
    "view_submission", "view_closed", "workflow_step_edit",
})


@dataclass(frozen=True, slots=True)
class Actor:
    team_id: str  # the installation that answers
    enterprise_id: str
    home_team_id: str  # the actor's own workspace ("" unknown)
    home_enterprise_id: str
    ext_shared_channel: bool


def resolve(body: Mapping[str, Any], context: Mapping[str, Any] | None = None) -> Actor:
    """Both teams of one verified payload; `context` is Bolt's, when there is one."""
    team, enterprise = installation(body, context or {})
    home, home_enterprise = home_team(body, team, enterprise)
    return Actor(
        team_id=team,
        enterprise_id=enterprise,
        home_team_id=home,
        home_enterprise_id=home_enterprise,
        ext_shared_channel=body.get("is_ext_shared_channel") is True,
    )


def with_actor(
    caller: Caller, body: Mapping[str, Any], context: Mapping[str, Any] | None = None
) -> Caller:
    """`caller` with the installation as its team and the actor's home team beside it."""
    actor = resolve(body, context)
    return replace(
        caller,
        team_id=actor.team_id or caller.team_id,
        enterprise_id=actor.enterprise_id,
        home_team_id=actor.home_team_id,
        home_enterprise_id=actor.home_enterprise_id,
        ext_shared_channel=actor.ext_shared_channel,
    )


def installation(body: Mapping[str, Any], context: Mapping[str, Any]) -> tuple[str, str]:
    """(team, enterprise) of the installation that answers, as Bolt resolves them."""
    authorized = context.get("authorize_result")
    if isinstance(authorized, Mapping):
        team, enterprise = _str(authorized.get("team_id")), _str(authorized.get("enterprise_id"))
        if team or enterprise:
            return team, enterprise
    team, enterprise = _str(context.get("team_id")), _str(context.get("enterprise_id"))
    if team or enterprise:
        return team, enterprise
    return bolt_team_id(body), bolt_enterprise_id(body)


def home_team(body: Mapping[str, Any], team: str, enterprise: str) -> tuple[str, str]:
    """(team, enterprise) the actor belongs to; ("", "") when the payload does not say."""
    if isinstance(body.get("command"), str):
        return (
            _str(body.get("user_team")) or _str(body.get("team_id")),
            _str(body.get("user_enterprise")) or _str(body.get("enterprise_id")),
        )
    if body.get("type") in INTERACTIONS:
        user = _map(body.get("user"))
        return _str(user.get("team_id")), _str(user.get("enterprise_id"))
    if body.get("type") == "event_callback":
        return _event_home(body, team, enterprise)
    return "", ""


def _event_home(body: Mapping[str, Any], team: str, enterprise: str) -> tuple[str, str]:
    event = _map(body.get("event"))
    said = _str(event.get("user_team")) or _str(event.get("team"))
    if not said:
        # No team in the event (app_home_opened, file_shared): outside a shared channel the
        # actor is the installation's; inside one, nobody can tell.
        return ("", "") if body.get("is_ext_shared_channel") is True else (team, enterprise)
    if said.startswith("E"):
        if said == enterprise:  # the installation's own org: a member of a sibling workspace
            return team, enterprise
        return "", said
    return said, enterprise if said == team else ""


def bolt_team_id(body: Mapping[str, Any]) -> str:
    """The team Bolt takes as the installation's: Bolt's own `extract_team_id`, so the two
    can never disagree; "" when a hostile payload's shape makes it fail."""
    return _extracted(extract_team_id, body)


def bolt_enterprise_id(body: Mapping[str, Any]) -> str:
    """The org Bolt takes as the installation's (`extract_enterprise_id`); "" as above."""
    return _extracted(extract_enterprise_id, body)


def _extracted(extract: Callable[[dict[str, Any]], object], body: Mapping[str, Any]) -> str:
    try:
        return _str(extract(dict(body)))
    except (AttributeError, TypeError, KeyError, IndexError, RecursionError):
        return ""


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
