"""manifest.yml creates the app as it is, within Slack's manifest limits; the Procfile runs."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.__main__ import _parser
from bot.app.workflow_step import FUNCTION_CALLBACK, INPUT_FILTER, StepOutputs
from bot.slack.listeners import COMMAND, FIND_RELEASES_CALLBACK
from bot.slack.search_listeners import SEARCH_SHORTCUT_CALLBACK

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert isinstance(data, dict)
    return data


def test_display_information_within_limits(manifest: dict[str, Any]) -> None:
    name = manifest["display_information"]["name"]
    assert 0 < len(name) <= 35
    assert len(manifest["features"]["bot_user"]["display_name"]) <= 80


def test_the_slash_command_is_the_one_the_app_listens_to(manifest: dict[str, Any]) -> None:
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == COMMAND
    assert len(command["command"]) <= 32
    assert command["description"]
    assert command["usage_hint"]
    assert command["should_escape"] is True  # mentions arrive as <@U…>, which the parser reads
    assert command["url"].endswith("/slack/events")


def test_the_shortcuts_are_the_ones_the_app_listens_to(manifest: dict[str, Any]) -> None:
    shortcuts = manifest["features"]["shortcuts"]
    assert 1 <= len(shortcuts) <= 10
    kinds = {s["callback_id"]: s["type"] for s in shortcuts}
    assert kinds == {FIND_RELEASES_CALLBACK: "message", SEARCH_SHORTCUT_CALLBACK: "global"}
    for shortcut in shortcuts:
        assert shortcut["name"]
        assert len(shortcut["description"]) <= 150


def test_the_group_select_can_load_its_options(manifest: dict[str, Any]) -> None:
    interactivity = manifest["settings"]["interactivity"]
    assert interactivity["message_menu_options_url"] == "https://YOUR-PUBLIC-HOST/slack/events"


def test_scopes_cover_what_the_bot_calls(manifest: dict[str, Any]) -> None:
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    # commands: /releases and the shortcut; chat:write: notifications and digests;
    # users:read: users.info for a digest's default time zone.
    assert {"commands", "chat:write", "users:read"} <= scopes
    # im:write: conversations.open, for the direct messages to followers of a release.
    assert "im:write" in scopes


def test_app_home_is_enabled_and_its_event_subscribed(manifest: dict[str, Any]) -> None:
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    events = manifest["settings"]["event_subscriptions"]
    assert events["request_url"] == "https://YOUR-PUBLIC-HOST/slack/events"
    assert "app_home_opened" in events["bot_events"]
    # users.conversations, for the subscriptions of the user's channels.
    assert {"channels:read", "groups:read"} <= set(manifest["oauth_config"]["scopes"]["bot"])


def test_the_workflow_step_is_declared_as_the_app_answers_it(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    assert settings["org_deploy_enabled"] is True
    assert settings["function_runtime"] == "remote"
    assert "function_executed" in settings["event_subscriptions"]["bot_events"]
    function = manifest["functions"][FUNCTION_CALLBACK]
    assert function["title"]
    assert function["description"]
    assert set(function["input_parameters"]) == {INPUT_FILTER}
    outputs = function["output_parameters"]
    sample = StepOutputs("*Open releases*", 2, "21,22").as_dict()
    assert set(outputs) == set(sample)
    types = {"string": str, "number": int}
    for name, spec in outputs.items():
        assert spec["name"] == name
        assert isinstance(sample[name], types[spec["type"]]), name
    for spec in (*function["input_parameters"].values(), *outputs.values()):
        assert spec["title"]
        assert spec["description"]


def test_interactivity_points_at_the_events_endpoint(manifest: dict[str, Any]) -> None:
    interactivity = manifest["settings"]["interactivity"]
    assert interactivity["is_enabled"] is True
    assert interactivity["request_url"] == "https://YOUR-PUBLIC-HOST/slack/events"


def test_every_procfile_line_is_a_command_of_the_cli() -> None:
    lines = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()
    )
    assert set(lines) == {"web", "worker"}
    parser = _parser()
    for process, command in lines.items():
        words = shlex.split(command)
        assert words[0] == "releases-bot", process
        parser.parse_args(words[1:])  # exits (fails the test) on an unknown subcommand
