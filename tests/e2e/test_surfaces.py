"""App Home, the search form and the Workflow Builder step against the real web process."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from slack_sdk.models.views import View

from bot.render.message import Message
from tests.e2e.conftest import BOT_TOKEN, WebProcess
from tests.fakes.signing import (
    block_action_payload,
    event_body,
    function_executed_event,
    post_event,
    signed_headers,
    view_submission_payload,
)
from tests.fakes.slack_api import Call
from tests.render.limits import assert_valid


def _view(call: Call) -> dict[str, Any]:
    view = call.args["view"]
    return json.loads(view) if isinstance(view, str) else dict(view)


def _check_view(view: dict[str, Any], *, allow: tuple[str, ...] = ()) -> None:
    """Valid for Slack: slack_sdk's View model accepts it, and every block keeps the limits."""
    View(**view).validate_json()  # raises on what slack_sdk knows to be invalid
    assert len(view["blocks"]) <= 100
    assert_valid(Message(text="view", blocks=tuple(view["blocks"])), allow=allow)


def _text(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


# ---- App Home ---------------------------------------------------------------------------


def _home_opened(user: str, event_id: str, tab: str = "home") -> str:
    event = {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": tab,
             "event_ts": "1700000000.000200"}
    return event_body(event, event_id=event_id)


def _publishes(web: WebProcess, user: str) -> list[Call]:
    return [c for c in web.slack.calls_to("views.publish") if c.args.get("user_id") == user]


def test_app_home_opened_publishes_one_valid_view_even_when_slack_retries(
    web: WebProcess,
) -> None:
    user = f"U{uuid.uuid4().hex[:8].upper()}"
    web.slack.script.user_channels[user] = ["C0CHAN"]
    event_id = f"Ev{uuid.uuid4().hex[:10]}"
    body = _home_opened(user, event_id)
    assert post_event(web.http, web.events_url, body).status_code == 200
    assert web.slack.wait_for(lambda s: len(_publishes(web, user)) >= 1), web.log()
    # Slack did not see our 200 in time and sends the same event again.
    assert post_event(web.http, web.events_url, body, retry_num=1).status_code == 200
    assert post_event(web.http, web.events_url, body, retry_num=2).status_code == 200
    # A later, different opening publishes again: proof the retries reached the app.
    later = _home_opened(user, f"Ev{uuid.uuid4().hex[:10]}")
    assert post_event(web.http, web.events_url, later).status_code == 200
    assert web.slack.wait_for(lambda s: len(_publishes(web, user)) >= 2), web.log()
    # Listeners run in a pool, so a retry's publish could land after the later one: give it
    # time to show up if it is going to.
    assert not web.slack.wait_for(lambda s: len(_publishes(web, user)) >= 3, timeout=2.0)

    call = _publishes(web, user)[0]
    assert call.token == BOT_TOKEN
    view = _view(call)
    assert view["type"] == "home"
    _check_view(view, allow=("<#C0CHAN>",))
    text = _text(view)
    assert "Open releases by group" in text
    assert "DWH_GROUP" in text
    assert "Refresh" in text
    asked = [c for c in web.slack.calls_to("users.conversations") if c.args.get("user") == user]
    assert asked


def test_the_messages_tab_publishes_nothing(web: WebProcess) -> None:
    user = f"U{uuid.uuid4().hex[:8].upper()}"
    body = _home_opened(user, f"Ev{uuid.uuid4().hex[:10]}", tab="messages")
    assert post_event(web.http, web.events_url, body).status_code == 200
    assert not web.slack.wait_for(lambda s: len(_publishes(web, user)) >= 1, timeout=1.0)


def test_app_home_still_opens_when_the_users_channels_cannot_be_read(web: WebProcess) -> None:
    user = f"U{uuid.uuid4().hex[:8].upper()}"
    web.slack.script.conversations_error = "missing_scope"
    try:
        body = _home_opened(user, f"Ev{uuid.uuid4().hex[:10]}")
        assert post_event(web.http, web.events_url, body).status_code == 200
        assert web.slack.wait_for(lambda s: len(_publishes(web, user)) >= 1), web.log()
    finally:
        web.slack.script.conversations_error = None
    view = _view(_publishes(web, user)[0])
    _check_view(view)
    text = _text(view)
    assert "missing_scope" in text
    assert "DWH_GROUP" in text  # the releases are there all the same


# ---- the Workflow Builder step ----------------------------------------------------------


def _run_step(web: WebProcess, inputs: dict[str, Any]) -> tuple[str, str]:
    execution = f"Fx{uuid.uuid4().hex[:10]}"
    token = f"xwfp-{uuid.uuid4().hex[:12]}"
    event = function_executed_event(inputs, execution_id=execution, bot_access_token=token)
    body = event_body(event, event_id=f"Ev{uuid.uuid4().hex[:10]}")
    assert post_event(web.http, web.events_url, body).status_code == 200
    return execution, token


def _completions(web: WebProcess, execution: str) -> list[Call]:
    return [
        c
        for c in web.slack.calls
        if c.method in ("functions.completeSuccess", "functions.completeError")
        and c.args.get("function_execution_id") == execution
    ]


def test_the_step_completes_with_the_outputs_and_the_execution_token(web: WebProcess) -> None:
    execution, token = _run_step(web, {"filter": "group:DWH_GROUP open"})
    assert web.slack.wait_for(lambda s: _completions(web, execution)), web.log()
    (call,) = _completions(web, execution)
    assert call.method == "functions.completeSuccess"
    assert call.token == token  # the workflow's just-in-time token, not the bot token
    outputs = call.args["outputs"]
    if isinstance(outputs, str):
        outputs = json.loads(outputs)
    assert set(outputs) == {"summary", "count", "release_ids"}
    assert isinstance(outputs["count"], int)
    assert outputs["count"] > 0
    ids = outputs["release_ids"].split(",")
    assert len(ids) == outputs["count"]
    assert all(i.isdigit() for i in ids)
    assert "DWH_GROUP" in outputs["summary"]
    assert len(outputs["summary"]) <= 3000


def test_a_bad_filter_fails_the_step_with_the_reason(web: WebProcess) -> None:
    execution, token = _run_step(web, {"filter": "bogus:1"})
    assert web.slack.wait_for(lambda s: _completions(web, execution)), web.log()
    (call,) = _completions(web, execution)
    assert call.method == "functions.completeError"
    assert call.token == token
    assert "bogus" in call.args["error"]


def test_an_unknown_group_fails_the_step_with_the_reason(web: WebProcess) -> None:
    execution, _ = _run_step(web, {"filter": "group:NO_SUCH_GROUP"})
    assert web.slack.wait_for(lambda s: _completions(web, execution)), web.log()
    (call,) = _completions(web, execution)
    assert call.method == "functions.completeError"
    assert "NO_SUCH_GROUP" in call.args["error"]


def test_slacks_retry_of_a_step_completes_it_once(web: WebProcess) -> None:
    execution = f"Fx{uuid.uuid4().hex[:10]}"
    event = function_executed_event(
        {"filter": "group:DWH_GROUP"}, execution_id=execution, bot_access_token="xwfp-retry"
    )
    body = event_body(event, event_id=f"Ev{uuid.uuid4().hex[:10]}")
    assert post_event(web.http, web.events_url, body).status_code == 200
    assert web.slack.wait_for(lambda s: _completions(web, execution)), web.log()
    # Slack did not see the 200 in time: the same event again, signed anew (its own
    # timestamp, so the replay guard of signatures does not stand in for the step's own).
    headers = signed_headers(body, timestamp=int(time.time()) - 1,
                             content_type="application/json")
    headers |= {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert web.http.post(web.events_url, content=body, headers=headers).status_code == 200
    # A later step completes: the retry, handled before it on the same queue, is done too.
    later, _ = _run_step(web, {"filter": "open"})
    assert web.slack.wait_for(lambda s: _completions(web, later)), web.log()
    assert not web.slack.wait_for(lambda s: len(_completions(web, execution)) > 1, timeout=1.5)
    assert [c.method for c in _completions(web, execution)] == ["functions.completeSuccess"]


def test_a_rate_limited_completion_is_sent_again_once_slack_allows_it(web: WebProcess) -> None:
    script = web.slack.script
    script.rate_limited.add("functions.completeSuccess")
    try:
        execution, token = _run_step(web, {"filter": "group:DWH_GROUP"})
        assert web.slack.wait_for(lambda s: _completions(web, execution)), web.log()
    finally:
        script.rate_limited.discard("functions.completeSuccess")  # the limit is over
    assert web.slack.wait_for(lambda s: len(_completions(web, execution)) >= 2, timeout=10), (
        web.log()
    )
    first, again = _completions(web, execution)[:2]
    assert first.args == again.args  # the same outputs, not looked up anew
    assert again.token == token
    assert "rate-limited" in web.log()


@pytest.mark.parametrize("inputs", ["group:DWH_GROUP", ["x"], 5])
def test_inputs_that_are_no_object_fail_the_step_with_the_reason(
    web: WebProcess, inputs: object
) -> None:
    execution, _ = _run_step(web, inputs)  # type: ignore[arg-type]
    assert web.slack.wait_for(lambda s: _completions(web, execution)), web.log()
    (call,) = _completions(web, execution)
    assert call.method == "functions.completeError"
    assert "filter" in call.args["error"]


@pytest.mark.parametrize("mention", ["<!channel>", "<@U0ADA>", "<!subteam^S0TEAM>"])
def test_a_mention_in_the_filter_comes_back_escaped_in_the_error(
    web: WebProcess, mention: str
) -> None:
    execution, _ = _run_step(web, {"filter": mention})
    assert web.slack.wait_for(lambda s: _completions(web, execution)), web.log()
    (call,) = _completions(web, execution)
    assert call.method == "functions.completeError"
    error = call.args["error"]
    assert mention not in error
    assert "<" not in error
    assert ">" not in error
    assert "&lt;" in error


# ---- the search form --------------------------------------------------------------------


def _global_shortcut(trigger: str) -> dict[str, Any]:
    return {
        "type": "shortcut",
        "callback_id": "search_releases",
        "trigger_id": trigger,
        "team": {"id": "T0001", "domain": "example"},
        "user": {"id": "U0USER", "username": "ada", "team_id": "T0001"},
        "token": "legacy-verification-token",
        "action_ts": "1700000000.000300",
    }


def _opened_form(web: WebProcess) -> dict[str, Any]:
    web.ask("")  # group names are now held, so the form lists them
    trigger = f"trig-{uuid.uuid4().hex[:8]}"
    assert web.interact(_global_shortcut(trigger)).status_code == 200
    assert web.slack.wait_for(
        lambda s: any(c.args.get("trigger_id") == trigger for c in s.calls_to("views.open"))
    ), web.log()
    call = next(c for c in web.slack.calls_to("views.open") if c.args["trigger_id"] == trigger)
    assert call.token == BOT_TOKEN
    return _view(call)


def _form_values(group_value: str | None = None, name: str = "", status: str = "all",
                 filters: str = "") -> dict[str, Any]:
    values: dict[str, Any] = {
        "search_status": {"status": {"type": "radio_buttons",
                                     "selected_option": {"value": status}}},
        "search_hotfix": {"hotfix": {"type": "radio_buttons",
                                     "selected_option": {"value": "any"}}},
        "search_name": {"name": {"type": "plain_text_input", "value": name or None}},
        "search_filters": {"filters": {"type": "plain_text_input", "value": filters or None}},
    }
    if group_value is not None:
        values["search_group"] = {"search_group_select": {
            "type": "static_select", "selected_option": {"value": group_value}}}
    return values


def _updates(web: WebProcess, view_id: str) -> list[Call]:
    return [c for c in web.slack.calls_to("views.update") if c.args.get("view_id") == view_id]


def test_the_global_shortcut_opens_the_form_and_results_show_in_the_modal(
    web: WebProcess,
) -> None:
    form = _opened_form(web)
    assert form["callback_id"] == "release_search_form"
    View(**form).validate_json()
    group = next(b for b in form["blocks"] if b["block_id"] == "search_group")["element"]
    assert group["type"] == "static_select"
    dwh = next(o for o in group["options"] if o["text"]["text"] == "DWH_GROUP")

    view_id = f"V{uuid.uuid4().hex[:8].upper()}"
    payload = view_submission_payload(form, _form_values(dwh["value"], name="R*"))
    payload["view"]["id"] = view_id
    submitted = web.interact(payload)
    assert submitted.status_code == 200
    assert submitted.json()["response_action"] == "update"  # "Searching…" at once
    assert web.slack.wait_for(lambda s: _updates(web, view_id)), web.log()
    results = _view(_updates(web, view_id)[0])
    assert results["callback_id"] == "release_search_results"
    shown = [b for b in results["blocks"] if b["type"] != "input"]
    _check_view({**results, "blocks": shown})
    View(**results).validate_json()
    text = _text(results)
    assert "DWH_GROUP" in text
    assert "LAKE_GROUP" not in text
    picker = next(b for b in results["blocks"] if b["type"] == "input")["element"]
    assert picker["type"] == "conversations_select"
    assert picker["response_url_enabled"] is True
    # Every button in the modal is the modal's own: no click reaches the message listeners.
    for block in results["blocks"]:
        for element in [block.get("accessory") or {}, *(block.get("elements") or [])]:
            if element.get("type") == "button":
                assert element["action_id"].startswith("in_modal:")


def test_a_form_within_its_field_limits_never_makes_a_view_slack_refuses(
    web: WebProcess,
) -> None:
    # Seen from Slack: 3,226 characters of private_metadata (Slack takes 3000), so the
    # results never showed. Within the limits: filters 500 characters, the name 300.
    form = _opened_form(web)
    group = next(b for b in form["blocks"] if b["block_id"] == "search_group")["element"]
    dwh = next(o for o in group["options"] if o["text"]["text"] == "DWH_GROUP")
    filters = "-name:'" + '"' * 491 + "'"
    name = "R*," + '"' * 296
    assert len(filters) <= 500
    assert len(name) <= 300
    view_id = f"V{uuid.uuid4().hex[:8].upper()}"
    values = _form_values(dwh["value"], name=name, status="all", filters=filters)
    payload = view_submission_payload(form, values)
    payload["view"]["id"] = view_id
    assert web.interact(payload).status_code == 200
    assert web.slack.wait_for(lambda s: _updates(web, view_id)), web.log()
    results = _view(_updates(web, view_id)[0])
    View(**results).validate_json()
    assert len(results["private_metadata"]) <= 3000
    assert results["submit"]["text"] == "Share"  # still shareable
    assert "R59" in _text(results)


def test_paging_in_the_modal_updates_the_view(web: WebProcess) -> None:
    form = _opened_form(web)
    view_id = f"V{uuid.uuid4().hex[:8].upper()}"
    payload = view_submission_payload(form, _form_values(status="all"))
    payload["view"]["id"] = view_id
    web.interact(payload)
    assert web.slack.wait_for(lambda s: _updates(web, view_id)), web.log()
    results = _view(_updates(web, view_id)[0])
    nav = next(b for b in results["blocks"] if b.get("block_id") == "releases_nav")
    nxt = next(e for e in nav["elements"] if e["action_id"].startswith("in_modal:releases_page"))
    click = block_action_payload(nxt["action_id"], nxt["value"], response_url="")
    del click["response_url"], click["channel"]
    click["container"] = {"type": "view", "view_id": view_id}
    click["view"] = {**results, "id": view_id, "hash": "h-1"}
    assert web.interact(click).status_code == 200
    assert web.slack.wait_for(lambda s: len(_updates(web, view_id)) >= 2), web.log()
    second = _updates(web, view_id)[1]
    assert second.args["hash"] == "h-1"
    assert "page 2 of" in _text(_view(second))


def test_share_posts_in_the_picked_conversation(web: WebProcess) -> None:
    form = _opened_form(web)
    view_id = f"V{uuid.uuid4().hex[:8].upper()}"
    payload = view_submission_payload(form, _form_values(filters="group:LAKE_GROUP"))
    payload["view"]["id"] = view_id
    web.interact(payload)
    assert web.slack.wait_for(lambda s: _updates(web, view_id)), web.log()
    results = _view(_updates(web, view_id)[0])
    key = f"share{uuid.uuid4().hex[:8]}"
    values = {"share_to": {"share_to_conversation": {
        "type": "conversations_select", "selected_conversation": "C0SHARE"}}}
    share = view_submission_payload(results, values)
    url = web.slack.response_url(key)
    share["response_urls"] = [{"block_id": "share_to", "action_id": "share_to_conversation",
                               "channel_id": "C0SHARE", "response_url": url}]
    response = web.interact(share)
    assert response.status_code == 200
    assert response.json() == {"response_action": "clear"}
    posted = web.answer(key)
    assert posted["response_type"] == "in_channel"
    assert "LAKE_GROUP" in json.dumps(posted)
    assert "<@U0USER>" in json.dumps(posted)  # shared by


def test_invalid_input_keeps_the_form_open_with_the_field_marked(web: WebProcess) -> None:
    form = _opened_form(web)
    bad_name = web.interact(view_submission_payload(form, _form_values(name="x" * 301)))
    assert set(bad_name.json()["errors"]) == {"search_name"}
    bad_filters = web.interact(view_submission_payload(form, _form_values(filters="bogus:1")))
    errors = bad_filters.json()["errors"]
    assert set(errors) == {"search_filters"}
    assert "bogus" in errors["search_filters"]
    assert "`" not in errors["search_filters"]


def test_group_options_load_as_the_user_types(web: WebProcess) -> None:
    payload = {
        "type": "block_suggestion",
        "action_id": "search_group_select",
        "block_id": "search_group",
        "value": "lake",
        "team": {"id": "T0001", "domain": "example"},
        "user": {"id": "U0USER", "name": "ada", "team_id": "T0001"},
        "api_app_id": "A0APP",
        "token": "legacy-verification-token",
        "container": {"type": "view", "view_id": "V1"},
        "view": {"id": "V1", "type": "modal", "callback_id": "release_search_form"},
    }
    labels: list[str] = []
    for _ in range(100):  # the first keystrokes may come before the names are read
        response = web.interact({**payload, "action_ts": uuid.uuid4().hex})
        assert response.status_code == 200
        labels = [o["text"]["text"] for o in response.json()["options"]]
        if labels:
            break
        time.sleep(0.05)
    assert labels == ["LAKE_GROUP"]
