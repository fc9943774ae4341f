"""The search form's listeners: ack first, errors keep the form, answers go into the modal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from unittest.mock import Mock

import pytest
from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot.answers import Answers
from bot.finder import ReleaseFinder
from bot.metakraftwerk.cache import ReleaseCache
from bot.render.search_results import ShareTarget
from bot.search import SearchForms
from bot.slack.search import (
    form_submitted,
    group_options_load,
    modal_click,
    search_shortcut,
    share_submitted,
)
from tests.fakes.clock import FakeClock

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
BODY = {"user": {"id": "U0ADA", "team_id": "T1"}, "team": {"id": "T1"}}


@pytest.fixture
def forms(demo_cache: ReleaseCache) -> SearchForms:
    return SearchForms(Answers(ReleaseFinder(demo_cache), clock=FakeClock(NOW)))


def _values(filters: str) -> dict[str, Any]:
    return {"search_filters": {"filters": {"value": filters}}}


def test_the_shortcut_acks_then_opens_the_form(forms: SearchForms) -> None:
    order: list[str] = []
    ack = Mock(Ack, side_effect=lambda *a, **k: order.append("ack"))
    client = Mock(WebClient)
    client.views_open.side_effect = lambda **k: order.append("open")
    search_shortcut(forms, ack, {"trigger_id": "t1"}, client)
    assert order == ["ack", "open"]
    assert client.views_open.call_args.kwargs["view"]["callback_id"] == "release_search_form"


def test_a_bad_filter_is_answered_with_errors_and_nothing_else(forms: SearchForms) -> None:
    ack, client = Mock(Ack), Mock(WebClient)
    view = {"id": "V1", "state": {"values": _values("bogus:1")}}
    form_submitted(forms, ack, BODY, view, client)
    assert ack.call_args.kwargs["response_action"] == "errors"
    assert "search_filters" in ack.call_args.kwargs["errors"]
    client.views_update.assert_not_called()


def test_a_good_form_shows_searching_then_the_answer(forms: SearchForms) -> None:
    ack, client = Mock(Ack), Mock(WebClient)
    view = {"id": "V1", "state": {"values": _values("group:DWH_GROUP")}}
    form_submitted(forms, ack, BODY, view, client)
    assert ack.call_args.kwargs["response_action"] == "update"
    assert "Searching" in str(ack.call_args.kwargs["view"])
    update = client.views_update.call_args.kwargs
    assert update["view_id"] == "V1"
    assert "DWH_GROUP" in str(update["view"]["blocks"])


def test_an_api_failure_shows_a_friendly_answer_in_the_modal(
    forms: SearchForms, demo_api: Any
) -> None:
    demo_api.switches.fail_next(1000, 503)
    ack, client = Mock(Ack), Mock(WebClient)
    form_submitted(forms, ack, BODY, {"id": "V1", "state": {"values": _values("")}}, client)
    view = client.views_update.call_args.kwargs["view"]
    assert "unavailable" in str(view["blocks"]).lower()
    assert "submit" not in view  # an error is nothing to share


def test_details_push_a_view_and_a_stale_button_does_nothing(forms: SearchForms) -> None:
    ack, client = Mock(Ack), Mock(WebClient)
    body = {**BODY, "trigger_id": "t2", "view": {"id": "V1", "hash": "h"},
            "actions": [{"action_id": "in_modal:release_detail:21", "value": "21"}]}
    modal_click(forms, ack, body, client)
    ack.assert_called_once_with()
    pushed = client.views_push.call_args.kwargs
    assert pushed["trigger_id"] == "t2"
    assert ShareTarget.from_metadata(pushed["view"]["private_metadata"]) == ShareTarget(
        "detail", release_id=21
    )
    body["actions"] = [{"action_id": "in_modal:releases_page", "value": "garbage"}]
    modal_click(forms, ack, body, client)
    client.views_update.assert_not_called()


def test_share_posts_for_everyone_through_respond(forms: SearchForms) -> None:
    ack, respond = Mock(Ack), Mock(Respond)
    view = {"private_metadata": ShareTarget("detail", release_id=21).to_metadata()}
    body = {**BODY, "response_urls": [{"response_url": "https://hooks.example/1"}]}
    share_submitted(forms, ack, body, view, respond)
    assert ack.call_count == 1
    assert ack.call_args.kwargs == {"response_action": "clear"}
    assert respond.call_args.kwargs["response_type"] == "in_channel"
    assert "<@U0ADA>" in str(respond.call_args.kwargs["blocks"])


def test_share_without_a_picked_conversation_keeps_the_modal(forms: SearchForms) -> None:
    ack, respond = Mock(Ack), Mock(Respond)
    view = {"private_metadata": ShareTarget("detail", release_id=21).to_metadata()}
    share_submitted(forms, ack, BODY, view, respond)
    assert ack.call_args.kwargs["response_action"] == "errors"
    respond.assert_not_called()


def test_group_options_are_acked_even_when_they_fail() -> None:
    broken = Mock(SearchForms)
    broken.group_options.side_effect = RuntimeError("boom")
    ack = Mock(Ack)
    group_options_load(broken, ack, {"value": "dwh"})
    assert ack.call_count == 1
    assert ack.call_args.kwargs == {"options": []}
