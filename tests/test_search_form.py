"""The search form's listeners: ack first, errors keep the form, answers go into the modal."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, cast
from unittest.mock import Mock

import httpx
import pytest
from slack_bolt import Ack

from bot.app.answers import Answers
from bot.app.finder import ReleaseFinder
from bot.app.search_form import NAMES_FAILED_SECONDS, NAMES_FRESH_SECONDS, SearchForms
from bot.cache.release_cache import ReleaseCache
from bot.render.search_results import ShareTarget
from bot.slack.response_urls import ResponseUrls, allowed_origins
from bot.slack.search_listeners import (
    on_form_submitted,
    on_group_options,
    on_modal_click,
    on_search_shortcut,
    on_share_submitted,
)
from tests.fakes.clock import FakeClock
from tests.slack.support import held_triggers, stub_delivery

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
BODY = {"user": {"id": "U0ADA", "team_id": "T1"}, "team": {"id": "T1"}}


@pytest.fixture
def forms(demo_cache: ReleaseCache) -> SearchForms:
    return SearchForms(Answers(ReleaseFinder(demo_cache), clock=FakeClock(NOW)))


def _values(filters: str) -> dict[str, Any]:
    return {"search_filters": {"filters": {"value": filters}}}


def test_the_shortcut_acks_then_opens_the_form_on_the_trigger_lane(forms: SearchForms) -> None:
    delivery, _, _ = stub_delivery()
    ack = Mock(Ack)
    on_search_shortcut(forms, delivery, ack, {"trigger_id": "t1"})
    ack.assert_called_once_with()
    client = cast(Mock, delivery.client)
    client.views_open.assert_not_called()
    held_triggers(delivery).run_all()
    assert client.views_open.call_args.kwargs["trigger_id"] == "t1"
    assert client.views_open.call_args.kwargs["view"]["callback_id"] == "release_search_form"


def test_the_shortcut_on_a_full_answer_queue_still_opens_the_form(forms: SearchForms) -> None:
    delivery, _, _ = stub_delivery(full=True)
    on_search_shortcut(forms, delivery, Mock(Ack), {"trigger_id": "t1"})
    assert held_triggers(delivery).run_all() == 1
    cast(Mock, delivery.client).views_open.assert_called_once()


def test_a_bad_filter_is_answered_with_errors_and_nothing_else(forms: SearchForms) -> None:
    delivery, work, _ = stub_delivery()
    ack = Mock(Ack)
    body = {**BODY, "view": {"id": "V1", "state": {"values": _values("bogus:1")}}}
    on_form_submitted(forms, delivery, ack, body)
    assert ack.call_args.kwargs["response_action"] == "errors"
    assert "search_filters" in ack.call_args.kwargs["errors"]
    assert work.jobs == []


def test_a_good_form_shows_searching_then_the_answer(forms: SearchForms) -> None:
    delivery, work, _ = stub_delivery()
    ack = Mock(Ack)
    body = {**BODY, "view": {"id": "V1", "state": {"values": _values("group:DWH_GROUP")}}}
    on_form_submitted(forms, delivery, ack, body)
    assert ack.call_args.kwargs["response_action"] == "update"
    assert "Searching" in str(ack.call_args.kwargs["view"])
    client = cast(Mock, delivery.client)
    client.views_update.assert_not_called()  # the lookup waits for a work thread
    work.run_all()
    update = client.views_update.call_args.kwargs
    assert update["view_id"] == "V1"
    assert "DWH_GROUP" in str(update["view"]["blocks"])


def test_a_search_on_a_full_queue_shows_the_busy_view_in_the_ack(forms: SearchForms) -> None:
    delivery, _, _ = stub_delivery(full=True)
    ack = Mock(Ack)
    body = {**BODY, "view": {"id": "V1", "state": {"values": _values("group:DWH_GROUP")}}}
    on_form_submitted(forms, delivery, ack, body)
    assert ack.call_args.kwargs["response_action"] == "update"
    view = ack.call_args.kwargs["view"]
    assert "busy" in str(view["blocks"])
    assert "try again in a minute" in str(view["blocks"])
    cast(Mock, delivery.client).views_update.assert_not_called()


def test_an_api_failure_shows_a_friendly_answer_in_the_modal(
    forms: SearchForms, demo_api: Any
) -> None:
    demo_api.switches.fail_next(1000, 503)
    delivery, work, _ = stub_delivery()
    body = {**BODY, "view": {"id": "V1", "state": {"values": _values("")}}}
    on_form_submitted(forms, delivery, Mock(Ack), body)
    work.run_all()
    view = cast(Mock, delivery.client).views_update.call_args.kwargs["view"]
    assert "unavailable" in str(view["blocks"]).lower()
    assert "submit" not in view  # an error is nothing to share


def _details_click(trigger: str = "t2") -> dict[str, Any]:
    return {**BODY, "trigger_id": trigger, "view": {"id": "V1", "hash": "h"},
            "actions": [{"action_id": "in_modal:release_detail:21", "value": "21"}]}


def test_details_push_a_view_at_once_and_the_lookup_fills_it_in(forms: SearchForms) -> None:
    delivery, work, _ = stub_delivery()
    client = cast(Mock, delivery.client)
    client.views_push.return_value = {"ok": True, "view": {"id": "VPUSHED"}}
    ack = Mock(Ack)
    on_modal_click(forms, delivery, ack, _details_click())
    ack.assert_called_once_with()
    assert work.jobs == []  # the lookup waits for the push, which waits for nothing
    held_triggers(delivery).run_all()
    pushed = client.views_push.call_args.kwargs
    assert pushed["trigger_id"] == "t2"
    assert "Searching" in json.dumps(pushed["view"])
    client.views_update.assert_not_called()
    work.run_all()
    updated = client.views_update.call_args.kwargs
    assert updated["view_id"] == "VPUSHED"
    assert ShareTarget.from_metadata(updated["view"]["private_metadata"]) == ShareTarget(
        "detail", release_id=21
    )


def test_a_stale_paging_button_does_nothing(forms: SearchForms) -> None:
    delivery, work, _ = stub_delivery()
    body = {**_details_click(),
            "actions": [{"action_id": "in_modal:releases_page", "value": "garbage"}]}
    on_modal_click(forms, delivery, Mock(Ack), body)
    work.run_all()
    assert held_triggers(delivery).jobs == []
    cast(Mock, delivery.client).views_update.assert_not_called()


def test_details_on_a_full_queue_say_busy_in_the_pushed_view(
    forms: SearchForms, caplog: pytest.LogCaptureFixture
) -> None:
    delivery, _, _ = stub_delivery(full=True)
    client = cast(Mock, delivery.client)
    client.views_push.return_value = {"ok": True, "view": {"id": "VPUSHED"}}
    ack = Mock(Ack)
    on_modal_click(forms, delivery, ack, _details_click())
    ack.assert_called_once_with()
    held_triggers(delivery).run_all()
    assert client.views_update.call_args.kwargs["view_id"] == "VPUSHED"
    assert "busy" in json.dumps(client.views_update.call_args.kwargs["view"])
    assert "busy" in caplog.text


def test_a_paging_click_on_a_full_queue_is_acked_and_skipped(
    forms: SearchForms, caplog: pytest.LogCaptureFixture
) -> None:
    delivery, _, _ = stub_delivery(full=True)
    ack = Mock(Ack)
    body = {**_details_click(),
            "actions": [{"action_id": "in_modal:releases_page", "value": "x"}]}
    on_modal_click(forms, delivery, ack, body)
    ack.assert_called_once_with()
    assert "busy" in caplog.text


# ---- Share: through ResponseUrls, to Slack's origin only -----------------------------------

HOOKS = "https://hooks.slack.com/actions/T1/1/abc"


@pytest.fixture
def posted() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def response_urls(posted: list[dict[str, Any]]) -> Iterator[ResponseUrls]:
    def handler(request: httpx.Request) -> httpx.Response:
        posted.append({"url": str(request.url), **json.loads(request.content)})
        return httpx.Response(200, text="ok")

    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        yield ResponseUrls(http, allowed_origins("https://slack.com/api/"))


def _share_body(url: str | None) -> dict[str, Any]:
    view = {"private_metadata": ShareTarget("detail", release_id=21).to_metadata()}
    body: dict[str, Any] = {**BODY, "view": view}
    if url is not None:
        body["response_urls"] = [{"channel_id": "C0SHARE", "response_url": url}]
    return body


def test_share_posts_for_everyone_through_the_response_url_client(
    forms: SearchForms, response_urls: ResponseUrls, posted: list[dict[str, Any]]
) -> None:
    delivery, work, _ = stub_delivery(response_urls=response_urls)
    ack = Mock(Ack)
    on_share_submitted(forms, delivery, ack, _share_body(HOOKS))
    assert ack.call_count == 1
    assert ack.call_args.kwargs == {"response_action": "clear"}
    assert posted == []  # the lookup waits for a work thread
    work.run_all()
    (post,) = posted
    assert post["url"] == HOOKS
    assert post["response_type"] == "in_channel"
    assert post["replace_original"] is False
    assert "<@U0ADA>" in str(post["blocks"])


def test_share_to_a_foreign_response_url_keeps_the_modal_and_posts_nothing(
    forms: SearchForms, response_urls: ResponseUrls, posted: list[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    delivery, work, _ = stub_delivery(response_urls=response_urls)
    ack = Mock(Ack)
    on_share_submitted(forms, delivery, ack, _share_body("https://attacker.example/hook"))
    assert ack.call_args.kwargs["response_action"] == "errors"
    assert work.jobs == []
    assert posted == []
    assert "outside Slack's origin" in caplog.text
    assert "attacker.example/hook" not in caplog.text  # only the origin is logged


def test_share_without_a_picked_conversation_keeps_the_modal(
    forms: SearchForms, response_urls: ResponseUrls
) -> None:
    delivery, work, _ = stub_delivery(response_urls=response_urls)
    ack = Mock(Ack)
    on_share_submitted(forms, delivery, ack, _share_body(None))
    assert ack.call_args.kwargs["response_action"] == "errors"
    assert work.jobs == []


def test_share_on_a_full_queue_keeps_the_modal_saying_busy(
    forms: SearchForms, response_urls: ResponseUrls
) -> None:
    delivery, _, _ = stub_delivery(response_urls=response_urls, full=True)
    ack = Mock(Ack)
    on_share_submitted(forms, delivery, ack, _share_body(HOOKS))
    assert ack.call_args.kwargs["response_action"] == "errors"
    (text,) = ack.call_args.kwargs["errors"].values()
    assert "busy" in text
    assert len(text) <= 150


# ---- group options: at once, from the names held; read again in the background ------------


def _keystroke(forms: SearchForms, delivery: Any, typed: str) -> list[str]:
    ack = Mock(Ack)
    on_group_options(forms, delivery, ack, {"value": typed})
    ack.assert_called_once()
    return [o["text"]["text"] for o in ack.call_args.kwargs["options"]]


def test_held_group_names_are_answered_without_a_work_thread(forms: SearchForms) -> None:
    forms.refresh_group_names()  # names are now held
    delivery, work, _ = stub_delivery()
    assert _keystroke(forms, delivery, "lake") == ["LAKE_GROUP"]
    assert work.jobs == []


def test_without_names_a_keystroke_answers_empty_and_one_job_reads_them(
    forms: SearchForms,
) -> None:
    delivery, work, _ = stub_delivery()
    for typed in ("l", "la", "lak", "lake"):  # the job has not run: nothing held yet
        assert _keystroke(forms, delivery, typed) == []
    assert len(work.jobs) == 1  # one read in flight, however many keystrokes
    work.run_all()
    assert _keystroke(forms, delivery, "lake") == ["LAKE_GROUP"]
    assert work.jobs == []


def _names_from(answer: Callable[[], dict[int, str]], clock: FakeClock) -> SearchForms:
    finder = Mock(ReleaseFinder)
    finder.group_names.side_effect = answer
    return SearchForms(cast(Answers, Mock(Answers, finder=finder)), clock=clock)


def test_a_failed_list_is_kept_briefly_and_then_asked_for_again() -> None:
    clock = FakeClock(NOW)
    calls: list[int] = []
    names: dict[int, str] = {}

    def group_names() -> dict[int, str]:
        calls.append(1)
        return dict(names)  # {}: the finder could not read them

    forms = _names_from(group_names, clock)
    delivery, work, _ = stub_delivery()
    _keystroke(forms, delivery, "d")
    work.run_all()
    for _ in range(40):
        assert _keystroke(forms, delivery, "dwh") == []
    assert work.jobs == []
    assert len(calls) == 1
    names[7] = "DWH_GROUP"  # MetaKraftwerk answers again
    clock.advance(NAMES_FAILED_SECONDS)
    assert _keystroke(forms, delivery, "dwh") == []
    work.run_all()
    assert _keystroke(forms, delivery, "dwh") == ["DWH_GROUP"]
    assert len(calls) == 2


def test_names_held_stay_while_a_later_read_fails() -> None:
    clock = FakeClock(NOW)
    answers = [{7: "DWH_GROUP"}, {}]
    forms = _names_from(lambda: answers.pop(0), clock)
    delivery, work, _ = stub_delivery()
    _keystroke(forms, delivery, "")
    work.run_all()
    clock.advance(NAMES_FRESH_SECONDS)
    assert _keystroke(forms, delivery, "dwh") == ["DWH_GROUP"]
    work.run_all()  # this read fails
    assert _keystroke(forms, delivery, "dwh") == ["DWH_GROUP"]
    assert work.jobs == []  # and is not retried before NAMES_FAILED_SECONDS


def test_group_options_on_a_full_queue_answer_empty_and_try_again(forms: SearchForms) -> None:
    delivery, work, _ = stub_delivery(full=True)
    assert _keystroke(forms, delivery, "dwh") == []
    work.full = False
    assert _keystroke(forms, delivery, "dwh") == []
    assert len(work.jobs) == 1  # the refused read did not count as one in flight


def test_the_shortcut_starts_reading_the_names_before_the_user_types(
    forms: SearchForms,
) -> None:
    delivery, work, _ = stub_delivery()
    on_search_shortcut(forms, delivery, Mock(Ack), {"trigger_id": "t1"})
    work.run_all()
    assert _keystroke(forms, delivery, "lake") == ["LAKE_GROUP"]


def test_group_options_are_acked_even_when_they_fail() -> None:
    broken = Mock(SearchForms)
    broken.group_options.side_effect = RuntimeError("boom")
    delivery, _, _ = stub_delivery()
    ack = Mock(Ack)
    on_group_options(broken, delivery, ack, {"value": "dwh"})
    assert ack.call_count == 1
    assert ack.call_args.kwargs == {"options": []}
