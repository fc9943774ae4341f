"""Every way into the search form gets the one form `search_form` builds, groups and all."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.app.answers import Answers, Caller
from bot.app.finder import ReleaseFinder
from bot.app.search_form import SearchForms
from bot.app.search_query import search_form
from bot.cache.release_cache import ReleaseCache
from bot.render import actions as act
from bot.render.search_modal import BLOCK_FILTERS, BLOCK_GROUP
from bot.render.search_results import ACTION_NEW_SEARCH
from tests.fakes.clock import FakeClock

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
ADA = Caller(team_id="T1", channel_id="C1", user_id="U0ADA")
PREFILL = "group:DWH_GROUP"


def _element(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    element: dict[str, Any] = next(b for b in view["blocks"] if b["block_id"] == block_id)[
        "element"
    ]
    return element


def test_every_entry_opens_the_same_form_with_the_groups_held(demo_cache: ReleaseCache) -> None:
    finder = ReleaseFinder(demo_cache)
    assert finder.group_names()  # read once: from now on the names are held
    answers = Answers(finder, clock=FakeClock(NOW))
    forms = SearchForms(answers, finder)
    wanted = search_form(finder, PREFILL)
    assert _element(wanted, BLOCK_GROUP)["type"] == "static_select"
    assert _element(wanted, BLOCK_FILTERS)["initial_value"] == PREFILL

    # The global shortcut.
    assert forms.form(PREFILL) == wanted
    # "Open search" of App Home, the help and an answer: one action, answered by Answers.
    value = act.encode_open_search(PREFILL)
    assert answers.button(f"{act.ACTION_OPEN_SEARCH}:2", value, ADA).view == wanted
    # "New search" inside the results.
    step = forms.click(ACTION_NEW_SEARCH, value, ADA)
    assert step is not None
    assert (step.how, step.view) == ("update", wanted)


def test_with_no_group_names_held_the_form_asks_as_the_user_types(
    demo_cache: ReleaseCache,
) -> None:
    finder = ReleaseFinder(demo_cache)  # nothing read yet: the form never waits for the API
    answers = Answers(finder, clock=FakeClock(NOW))
    view = answers.button(act.ACTION_OPEN_SEARCH, act.encode_open_search(""), ADA).view
    assert view is not None
    assert view == search_form(finder)
    assert _element(view, BLOCK_GROUP)["type"] == "external_select"
