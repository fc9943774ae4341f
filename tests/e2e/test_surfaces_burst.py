"""The surfaces on the hardened request path: a burst against a slow API is acked in time.

App Home openings, the search form and the Workflow Builder step used to do their lookups
and Web API calls inside the listener, that is in the request's thread: against a slow API
their acks waited for it and held request threads that commands needed. Now they ack at once
and finish on the work queue.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from bot.demo.api_server import DemoApiServer
from bot.render.search_modal import render_search_form
from tests.e2e.conftest import WebProcess, new_key, running_web
from tests.fakes.signing import (
    event_body,
    function_executed_event,
    interactive_body,
    post_event,
    post_signed,
    view_submission_payload,
)
from tests.fakes.slack_api import FakeSlack

pytestmark = pytest.mark.slow

ACK_WITHIN = 3.0  # Slack's deadline for the HTTP acknowledgement
LATENCY = 4.0  # seconds the demo API takes for every answer: past that deadline on its own
HOME_OPENINGS, COMMANDS = 40, 20
DONE_WITHIN = 60.0


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebProcess]:
    workdir = tmp_path_factory.mktemp("surfaces-burst")
    with (
        DemoApiServer() as demo,
        FakeSlack() as slack,
        running_web(demo, slack, workdir, CACHE_TTL_SECONDS="1") as process,
    ):
        yield process


def timed(send: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    began = time.monotonic()
    response = send()
    return response, time.monotonic() - began


def home_opened(user: str) -> str:
    event = {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home",
             "event_ts": "1700000000.000200"}
    return event_body(event, event_id=f"Ev{uuid.uuid4().hex[:10]}")


def search_submission(view_id: str) -> dict[str, Any]:
    values = {"search_filters": {"filters": {"type": "plain_text_input",
                                             "value": "group:DWH_GROUP"}}}
    payload = view_submission_payload(render_search_form(""), values)
    payload["view"]["id"] = view_id
    return payload


def step_event(execution: str) -> str:
    event = function_executed_event(
        {"filter": "group:DWH_GROUP open"}, execution_id=execution, bot_access_token="xwfp-1"
    )
    return event_body(event, event_id=f"Ev{uuid.uuid4().hex[:10]}")


def test_a_burst_of_home_openings_and_commands_against_a_slow_api_is_acked_in_time(
    web: WebProcess,
) -> None:
    users = [f"U{uuid.uuid4().hex[:8].upper()}" for _ in range(HOME_OPENINGS)]
    keys = [new_key() for _ in range(COMMANDS)]
    view_id = f"V{uuid.uuid4().hex[:8].upper()}"
    execution = f"Fx{uuid.uuid4().hex[:10]}"
    http, url, slack = web.http, web.events_url, web.slack

    def command(i: int) -> Callable[[], httpx.Response]:
        return lambda: web.command(f"#{i % 60 + 1}", key=keys[i])[1]

    sends: list[tuple[str, Callable[[], httpx.Response]]] = [
        *((f"home {u}", lambda u=u: post_event(http, url, home_opened(u))) for u in users),
        *((f"command {i}", command(i)) for i in range(COMMANDS)),
        ("search", lambda: post_signed(http, url, interactive_body(search_submission(view_id)))),
        ("step", lambda: post_event(http, url, step_event(execution))),
    ]
    web.demo.switches.latency = LATENCY
    try:
        with ThreadPoolExecutor(24) as pool:
            acks = dict(zip([name for name, _ in sends],
                            pool.map(lambda s: timed(s[1]), sends), strict=True))
        # While the Home publishes still wait on the API, a command is acked at once.
        pending = [u for u in users if not publishes(slack, u)]
        late_command, late_seconds = timed(command(0))
    finally:
        web.demo.switches.latency = 0.0

    slow = {name: round(s, 2) for name, (_, s) in acks.items() if s >= ACK_WITHIN}
    assert not slow, f"acks slower than {ACK_WITHIN} s: {slow}\n{web.log()}"
    assert pending, "every Home was published before the command: nothing was pending"
    assert late_command.status_code == 200
    assert late_seconds < ACK_WITHIN
    for name, (response, _) in acks.items():
        assert response.status_code == 200, (name, response.status_code, web.log())
    search = acks["search"][0].json()
    assert search["response_action"] == "update"
    assert "Searching" in json.dumps(search["view"])

    # ... and everything is completed later, on the work queue.
    deadline = time.monotonic() + DONE_WITHIN
    for user in users:
        assert slack.wait_for(lambda s, u=user: publishes(s, u), timeout=remaining(deadline)), (
            f"no Home published for {user}\n{web.log()}"
        )
    for key in keys:
        assert web.answer(key, timeout=remaining(deadline))["text"]
    assert slack.wait_for(lambda s: updates(s, view_id), timeout=remaining(deadline)), web.log()
    assert "DWH_GROUP" in json.dumps(updates(slack, view_id)[0].args["view"])
    assert slack.wait_for(lambda s: completions(s, execution), timeout=remaining(deadline))
    assert completions(slack, execution)[0].method == "functions.completeSuccess"


def remaining(deadline: float) -> float:
    return max(0.1, deadline - time.monotonic())


def publishes(slack: FakeSlack, user: str) -> list[Any]:
    return [c for c in slack.calls_to("views.publish") if c.args.get("user_id") == user]


def updates(slack: FakeSlack, view_id: str) -> list[Any]:
    return [c for c in slack.calls_to("views.update") if c.args.get("view_id") == view_id]


def completions(slack: FakeSlack, execution: str) -> list[Any]:
    return [
        c
        for c in slack.calls
        if c.method in ("functions.completeSuccess", "functions.completeError")
        and c.args.get("function_execution_id") == execution
    ]
