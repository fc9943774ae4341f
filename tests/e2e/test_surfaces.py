"""App Home, the search form and the Workflow Builder step against the real web process."""

from __future__ import annotations

import json
import uuid
from typing import Any

from slack_sdk.models.views import View

from bot.render.message import Message
from tests.e2e.conftest import BOT_TOKEN, WebProcess
from tests.fakes.signing import (
    event_body,
    function_executed_event,
    post_event,
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
