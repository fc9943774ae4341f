"""Who is speaking, read from payloads shaped as Slack sends them (Slack Connect included),
and checked against Bolt's own reading of the installation."""

from __future__ import annotations

from typing import Any

import pytest
from slack_bolt import BoltContext
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request.internals import build_context

from bot.app.caller import Caller
from bot.slack.actor import Actor, resolve, with_actor

HOST, EXT, SIBLING, ORG, OTHER_ORG = "T0HOST", "T0EXT", "T0SIBLING", "E0ORG", "E0OTHER"


def slash(team: str = HOST, **extra: Any) -> dict[str, Any]:
    return {"command": "/releases", "text": "open", "team_id": team, "user_id": "U1",
            "channel_id": "C1", "response_url": "https://hooks.slack.com/x", **extra}


def block_actions(team: str, user_team: str | None, **extra: Any) -> dict[str, Any]:
    # java-slack-sdk#1041: team is the app's side of the channel, user.team_id the clicker's.
    user: dict[str, Any] = {"id": "U2", "username": "bo", "name": "bo"}
    if user_team is not None:
        user["team_id"] = user_team
    return {"type": "block_actions", "team": {"id": team, "domain": "host"}, "user": user,
            "channel": {"id": "C1", "name": "shared"}, "actions": [{"action_id": "a"}], **extra}


def event(event: dict[str, Any], *, team: str, installed: str, **extra: Any) -> dict[str, Any]:
    return {"type": "event_callback", "team_id": team, "event": event,
            "authorizations": [{"team_id": installed, "enterprise_id": None, "is_bot": True,
                                "user_id": "UBOT"}], **extra}


def bolt(body: dict[str, Any]) -> BoltContext:
    return build_context(BoltContext(), body)


def test_a_slash_command_of_a_member() -> None:
    assert resolve(slash()) == Actor(HOST, "", HOST, "", False)


def test_a_slash_command_names_the_actors_team_and_the_token_names_the_installation() -> None:
    # Single workspace: the installation is the bot token's team (auth.test), whatever the
    # payload's team_id says; a user of another organisation is then seen as such.
    context = bolt(slash(EXT))
    context.set_authorize_result(AuthorizeResult(enterprise_id=None, team_id=HOST))
    actor = resolve(slash(EXT), context)
    assert (actor.team_id, actor.home_team_id) == (HOST, EXT)
    assert with_actor(Caller(team_id=EXT, user_id="U1"), slash(EXT), context).is_external


def test_a_slash_command_with_user_team_and_grid_ids() -> None:
    body = slash(HOST, enterprise_id=ORG, user_team=SIBLING)
    assert resolve(body) == Actor(HOST, ORG, SIBLING, ORG, False)
    assert not with_actor(Caller(), body).is_external  # same org: a member


def test_a_click_by_an_external_user_is_told_by_user_team_id_not_team_id() -> None:
    body = block_actions(HOST, EXT)
    actor = resolve(body, bolt(body))
    assert (actor.team_id, actor.home_team_id) == (HOST, EXT)
    assert with_actor(Caller(), body, bolt(body)).is_external


def test_a_click_by_a_member() -> None:
    body = block_actions(HOST, HOST)
    assert not with_actor(Caller(), body, bolt(body)).is_external


def test_a_click_without_user_team_is_not_called_external() -> None:
    body = block_actions(HOST, None)
    assert resolve(body).home_team_id == ""
    assert not with_actor(Caller(), body).is_external


def test_an_org_wide_install_click_has_no_team_but_the_user_says() -> None:
    body = block_actions(HOST, SIBLING, enterprise={"id": ORG, "name": "Org"},
                         is_enterprise_install=True)
    body["team"] = None
    body["user"]["enterprise_id"] = ORG
    actor = resolve(body, bolt(body))
    assert actor.enterprise_id == ORG
    assert actor.home_team_id == SIBLING
    assert not with_actor(Caller(), body, bolt(body)).is_external


def test_a_modal_answers_for_the_team_it_was_installed_in() -> None:
    body = {
        "type": "view_submission", "team": {"id": EXT, "domain": "ext"},
        "user": {"id": "U3", "team_id": EXT},
        "view": {"id": "V1", "team_id": EXT, "app_installed_team_id": HOST, "state": {}},
    }
    actor = resolve(body, bolt(body))
    assert actor.team_id == HOST == bolt(body)["team_id"]
    assert actor.home_team_id == EXT
    assert with_actor(Caller(), body, bolt(body)).is_external


def test_a_message_shortcut_and_a_global_shortcut() -> None:
    shortcut = {"type": "message_action", "team": {"id": HOST}, "user": {"id": "U", "team_id": EXT},
                "channel": {"id": "C1"}, "message": {"text": "R1"}}
    assert resolve(shortcut).home_team_id == EXT
    global_shortcut = {"type": "shortcut", "team": {"id": HOST},
                       "user": {"id": "U", "team_id": HOST}}
    assert resolve(global_shortcut) == Actor(HOST, "", HOST, "", False)


def test_an_event_from_a_shared_channel_uses_authorizations_not_team_id() -> None:
    # bolt-python's test_app_actor_user_token: team_id is the actor's side, the installation
    # is authorizations[0].
    body = event({"type": "message", "user": "W1", "team": "T014GJXU940", "text": "hi"},
                 team="T014GJXU940", installed="T0G9PQBBK", is_ext_shared_channel=True)
    actor = resolve(body, bolt(body))
    assert actor == Actor("T0G9PQBBK", "", "T014GJXU940", "", True)
    assert bolt(body)["team_id"] == "T0G9PQBBK"


def test_an_event_names_the_actor_by_user_team_first() -> None:
    body = event({"type": "app_mention", "user": "U", "user_team": EXT, "team": HOST},
                 team=HOST, installed=HOST, is_ext_shared_channel=True)
    assert resolve(body, bolt(body)).home_team_id == EXT


@pytest.mark.parametrize(("org", "external"), [(ORG, False), (OTHER_ORG, True)])
def test_an_event_whose_user_team_is_an_org_id(org: str, external: bool) -> None:
    body = event({"type": "app_mention", "user": "U", "user_team": org},
                 team=HOST, installed=HOST, is_ext_shared_channel=True)
    body["authorizations"][0]["enterprise_id"] = ORG
    caller = with_actor(Caller(), body, bolt(body))
    assert caller.enterprise_id == ORG
    assert caller.is_external is external


def test_an_event_without_a_team_is_the_installations_outside_shared_channels() -> None:
    home = event({"type": "app_home_opened", "user": "U", "tab": "home"}, team=HOST,
                 installed=HOST)
    assert resolve(home, bolt(home)) == Actor(HOST, "", HOST, "", False)
    shared = event({"type": "file_shared", "user_id": "U"}, team=HOST, installed=HOST,
                   is_ext_shared_channel=True)
    assert resolve(shared).home_team_id == ""


def test_the_installation_falls_back_to_the_payload_without_a_context() -> None:
    body = event({"type": "message", "team": EXT}, team=EXT, installed=HOST)
    assert resolve(body).team_id == HOST
    assert resolve({"type": "block_actions", "user": {"id": "U", "team_id": EXT},
                    "view": {"team_id": HOST}}).team_id == EXT


def test_fields_of_the_wrong_type_read_as_unknown() -> None:
    body = {"type": "block_actions", "team": 7, "user": "U", "authorizations": "x"}
    assert resolve(body) == Actor("", "", "", "", False)


def test_the_callers_other_fields_are_kept() -> None:
    caller = Caller(team_id="", channel_id="C1", user_id="U1", user_name="ada")
    body = block_actions(HOST, EXT)
    got = with_actor(caller, body)
    assert (got.channel_id, got.user_id, got.user_name, got.team_id) == ("C1", "U1", "ada", HOST)


@pytest.mark.parametrize(
    ("caller", "external"),
    [
        (Caller(team_id=HOST, home_team_id=HOST), False),
        (Caller(team_id=HOST, home_team_id=""), False),
        (Caller(team_id="", home_team_id=EXT), False),
        (Caller(team_id=HOST, home_team_id=EXT), True),
        (Caller(team_id=HOST, enterprise_id=ORG, home_team_id=SIBLING, home_enterprise_id=ORG),
         False),
        (Caller(team_id=HOST, enterprise_id=ORG, home_team_id=ORG), False),
        (Caller(team_id=HOST, enterprise_id=ORG, home_team_id=EXT, home_enterprise_id=OTHER_ORG),
         True),
        (Caller(team_id=HOST, home_team_id=SIBLING, home_enterprise_id=ORG), True),
    ],
)
def test_who_is_external(caller: Caller, external: bool) -> None:
    assert caller.is_external is external
