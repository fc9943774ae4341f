"""A workspace whose MetaKraftwerk isn't connected (distributed mode) hears so on every surface:
the command, the message shortcut, the search form, App Home and the workflow step; who can
connect it and a link to App Home where there is room for them, never a stack trace. A
connection whose login fails is named as failing. Commands that need no data still work."""

from __future__ import annotations

import json

import pytest

from bot.app.answers import Answers
from bot.app.caller import Caller
from bot.app.finder import ReleaseFinder
from bot.app.home import Home, UserChannels
from bot.app.search_form import SearchForms
from bot.app.workflow_step import FindReleasesStep, StepError
from bot.metakraftwerk.errors import ConnectionFailing, MetaKraftwerkError, NotConnected
from bot.render.errors import ACTION_OPEN_HOME
from tests.fakes.clock import FakeClock

HOME = "slack://app?team=T1&id=A1&tab=home"
ADA = Caller(team_id="T1", channel_id="C1", user_id="U1")


class Unconnected:
    """Finders of a deployment where T1 has no connection (or a failing one)."""

    def __init__(self, error: MetaKraftwerkError) -> None:
        self.error = error
        self.asked: list[str] = []

    def for_caller(self, caller: Caller) -> ReleaseFinder:
        self.asked.append(caller.team_id)
        raise self.error


@pytest.fixture
def finders() -> Unconnected:
    return Unconnected(NotConnected("UINSTALLER", HOME))


def _text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _is_not_connected(message: object) -> None:
    text = _text(message)
    assert "isn't connected for this workspace yet" in text
    assert "<@UINSTALLER>" in text
    assert HOME in text
    assert ACTION_OPEN_HOME in text
    assert "Traceback" not in text


@pytest.mark.parametrize("command", ["21", "open", "R1", "groups", "standup"])
def test_a_command_names_who_can_connect_and_links_to_app_home(
    finders: Unconnected, command: str
) -> None:
    answers = Answers(finders, clock=FakeClock())
    reply = answers.command(command, ADA)
    _is_not_connected(reply.message.blocks)
    assert finders.asked == ["T1"]


def test_help_needs_no_connection(finders: Unconnected) -> None:
    reply = Answers(finders, clock=FakeClock()).command("help", ADA)
    assert "isn't connected" not in _text(reply.message.blocks)
    assert finders.asked == []


def test_the_shortcut_and_the_search_form_say_so(finders: Unconnected) -> None:
    answers = Answers(finders, clock=FakeClock())
    _is_not_connected(answers.message_shortcut("see R1 and #21", ADA).message.blocks)
    submitted = {"search_filters": {"filters": {"value": "open"}}}
    _is_not_connected(answers.search_submitted(submitted, ADA).message.blocks)
    forms = SearchForms(answers)
    _is_not_connected(forms.form("", ADA))
    assert forms.group_options("dw", lambda job: True, ADA) == []


def test_app_home_says_so_beside_the_connection_panel(finders: Unconnected) -> None:
    view = Home(finders, clock=FakeClock()).view(ADA, UserChannels())
    assert "isn't connected for this workspace yet" in _text(view)


def test_the_workflow_step_fails_with_the_reason(finders: Unconnected) -> None:
    with pytest.raises(StepError, match="isn't connected"):
        FindReleasesStep(finders, FakeClock()).run("open", ADA)


def test_a_failing_connection_is_named_as_failing() -> None:
    answers = Answers(Unconnected(ConnectionFailing()), clock=FakeClock())
    text = _text(answers.command("21", ADA).message.blocks)
    assert "connection of this workspace is failing" in text
    assert "App Home" in text
    assert "Traceback" not in text


def test_a_german_user_reads_it_in_german(finders: Unconnected) -> None:
    from bot.app.language import Languages

    answers = Answers(finders, clock=FakeClock(), languages=Languages(default="de"))
    text = _text(answers.command("21", ADA).message.blocks)
    assert "isn't connected" not in text
    assert "MetaKraftwerk" in text
    assert "<@UINSTALLER>" in text
