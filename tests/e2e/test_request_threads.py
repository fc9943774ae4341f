"""No request thread of the web process waits on MetaKraftwerk or Slack: bursts that once held
the 8 request threads (or the answer threads) behind slow work, against the real process.

Each test sends signed requests over HTTP, as Slack does, and faults the demo API or the Slack
stand-in the way it was measured: group suggestions against a failing `release_groups`, the
search shortcut and a release's details behind lookups that wait on a hung API, App Home
openings against a rate-limited `users.conversations`, views Slack rate-limits for a moment.
(A slow Redis is in tests/cache/test_slow_redis_web.py, beside the Redis fixtures.)
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
from bot.render import actions
from bot.render.search_modal import render_search_form
from tests.e2e.conftest import WebProcess, new_key, running_web
from tests.fakes.signing import (
    block_action_payload,
    event_body,
    post_event,
    view_submission_payload,
)
from tests.fakes.slack_api import Call, FakeSlack

pytestmark = pytest.mark.slow

ACK_WITHIN = 3.0  # Slack's deadline for the HTTP acknowledgement
GROUPS_PATH = "/api/v1/release_groups"


@pytest.fixture
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebProcess]:
    """A fresh web process (nothing cached) with its own demo API and Slack stand-in."""
    workdir = tmp_path_factory.mktemp("request-threads")
    with (
        DemoApiServer() as demo,
        FakeSlack() as slack,
        running_web(demo, slack, workdir) as process,
    ):
        yield process


def keystroke(typed: str, view_id: str = "V1") -> dict[str, Any]:
    """The `block_suggestion` Slack sends for each keystroke in the search form's group field."""
    return {
        "type": "block_suggestion",
        "action_id": "search_group_select",
        "block_id": "search_group",
        "value": typed,
        "team": {"id": "T0001", "domain": "example"},
        "user": {"id": "U0USER", "name": "ada", "team_id": "T0001"},
        "api_app_id": "A0APP",
        "token": "legacy-verification-token",
        "container": {"type": "view", "view_id": view_id},
        "view": {"id": view_id, "type": "modal", "callback_id": "release_search_form",
                 "hash": uuid.uuid4().hex},  # each keystroke its own body, and signature
    }


def timed(send: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    began = time.monotonic()
    response = send()
    return response, time.monotonic() - began


def late_acks(acks: dict[str, tuple[httpx.Response, float]]) -> dict[str, float]:
    return {name: round(s, 2) for name, (_, s) in acks.items() if s >= ACK_WITHIN}


# ---- group suggestions -----------------------------------------------------------------------


def test_a_failing_group_list_is_asked_once_not_at_every_keystroke(web: WebProcess) -> None:
    # A 503 with a Retry-After beyond the lookup's deadline fails at once, without retries.
    web.demo.switches.fail_next(10_000, 503, retry_after=120, path=GROUPS_PATH)
    typed = "DWH_GROUP_AND_MORE"
    for n in range(1, len(typed) + 1):  # a user typing, one keystroke after the other
        response = web.interact(keystroke(typed[:n]))
        assert response.status_code == 200, response.text
        assert response.json() == {"options": []}
    asked = web.demo.counts.count(path=GROUPS_PATH)
    assert 1 <= asked <= 2, f"{len(typed)} keystrokes asked for the groups {asked} times"


def test_keystrokes_while_the_group_list_hangs_hold_no_ack(web: WebProcess) -> None:
    web.demo.switches.hang(path=GROUPS_PATH)  # no answer until the lookup's deadline
    keys = [new_key() for _ in range(20)]
    sends: list[tuple[str, Callable[[], httpx.Response]]] = [
        *((f"keystroke {n}", lambda n=n: web.interact(keystroke("DWH"[: n % 3 + 1])))
          for n in range(40)),
        *((f"command {n}", lambda n=n: web.command("help", key=keys[n])[1]) for n in range(20)),
    ]
    try:
        with ThreadPoolExecutor(60) as pool:
            acks = dict(zip([name for name, _ in sends],
                            pool.map(lambda s: timed(s[1]), sends), strict=True))
    finally:
        web.demo.switches.release_hang()
    assert not late_acks(acks), f"acks of {ACK_WITHIN} s or more: {late_acks(acks)}"
    for name, (response, _) in acks.items():
        assert response.status_code == 200, (name, response.text)
    for key in keys:
        assert "releases" in str(web.answer(key))


def test_suggestions_come_from_the_names_fetched_in_the_background(web: WebProcess) -> None:
    labels: list[str] = []
    deadline = time.monotonic() + 10
    while not labels and time.monotonic() < deadline:  # Slack asks again at each keystroke
        response = web.interact(keystroke("lake"))
        assert response.status_code == 200
        labels = [o["text"]["text"] for o in response.json()["options"]]
        time.sleep(0.05)
    assert labels == ["LAKE_GROUP"]
    assert web.demo.counts.count(path=GROUPS_PATH) == 1


# ---- calls that spend a trigger_id -----------------------------------------------------------

BUSY_COMMANDS = 40  # more than the 32 answer threads: every one waits on the hung API


def global_shortcut(trigger: str) -> dict[str, Any]:
    return {
        "type": "shortcut",
        "callback_id": "search_releases",
        "trigger_id": trigger,
        "team": {"id": "T0001", "domain": "example"},
        "user": {"id": "U0USER", "username": "ada", "team_id": "T0001"},
        "api_app_id": "A0APP",
        "token": "legacy-verification-token",
        "action_ts": "1700000000.000300",
    }


def details_click(trigger: str, release_id: int, view_id: str) -> dict[str, Any]:
    """Details on a release inside the search modal: its answer is pushed as a new view."""
    click = block_action_payload(
        f"in_modal:release_detail:{release_id}", str(release_id), response_url=""
    )
    del click["response_url"], click["channel"]
    click["trigger_id"] = trigger
    click["container"] = {"type": "view", "view_id": view_id}
    click["view"] = {"id": view_id, "hash": "h-1", "type": "modal",
                     "callback_id": "release_search_results", "blocks": []}
    return click


@pytest.fixture
def busy(web: WebProcess) -> Iterator[list[str]]:
    """Every answer thread waits on MetaKraftwerk, which does not answer; yields their keys."""
    web.demo.switches.hang()
    keys = [new_key() for _ in range(BUSY_COMMANDS)]
    try:
        with ThreadPoolExecutor(BUSY_COMMANDS) as pool:
            acks = list(pool.map(lambda k: web.command(f"group:G{k}", key=k)[1], keys))
        assert [a.status_code for a in acks] == [200] * BUSY_COMMANDS
        deadline = time.monotonic() + 10
        while not web.demo.counts.count(path="/api/v1/releases"):  # the lookups are under way
            assert time.monotonic() < deadline, "no lookup reached the API"
            time.sleep(0.02)
        yield keys
    finally:
        web.demo.switches.release_hang()


def _answered_before(web: WebProcess, keys: list[str], at: float) -> list[str]:
    return [k for k in keys if any(p.at <= at for p in web.slack.responses_to(k))]


def test_the_search_shortcut_opens_its_form_while_lookups_wait(
    web: WebProcess, busy: list[str]
) -> None:
    trigger = f"trig-{uuid.uuid4().hex[:8]}"
    assert web.interact(global_shortcut(trigger)).status_code == 200
    assert web.slack.wait_for(lambda s: _opened(s, "views.open", trigger), timeout=20), web.log()
    opened = _opened(web.slack, "views.open", trigger)[0]
    # Nothing queued before it had finished: it did not wait behind the lookups.
    assert not _answered_before(web, busy, opened.at)


def test_details_in_the_modal_push_a_view_while_lookups_wait(
    web: WebProcess, busy: list[str]
) -> None:
    trigger = f"trig-{uuid.uuid4().hex[:8]}"
    assert web.interact(details_click(trigger, 21, "VMODAL")).status_code == 200
    assert web.slack.wait_for(lambda s: _opened(s, "views.push", trigger), timeout=20), web.log()
    pushed = _opened(web.slack, "views.push", trigger)[0]
    assert not _answered_before(web, busy, pushed.at)
    web.demo.switches.release_hang()
    # The details replace what was pushed, in the pushed view, once the lookup is done.
    assert web.slack.wait_for(
        lambda s: any("#21" in json.dumps(c.args.get("view")) for c in s.calls_to("views.update")),
        timeout=20,
    ), web.log()


def search_button(trigger: str, where: str, response_url: str) -> dict[str, Any]:
    """"Search" as the help message, an answer that found nothing and App Home show it."""
    prefill = "group:NO_SUCH_GROUP" if where == "nothing matched" else ""
    click = block_action_payload(
        actions.ACTION_OPEN_SEARCH, actions.encode_open_search(prefill) or "",
        response_url=response_url,
    )
    click["trigger_id"] = trigger
    if where == "app home":  # a view, not a message: no channel, no response_url
        del click["response_url"], click["channel"]
        click["container"] = {"type": "view", "view_id": "VHOME"}
        click["view"] = {"id": "VHOME", "hash": "h-1", "type": "home", "blocks": []}
    return click


@pytest.mark.parametrize("where", ["help", "nothing matched", "app home"])
def test_the_search_button_opens_its_form_while_lookups_wait(
    web: WebProcess, busy: list[str], where: str
) -> None:
    trigger = f"trig-{uuid.uuid4().hex[:8]}"
    click = search_button(trigger, where, web.slack.response_url(new_key()))
    assert web.interact(click).status_code == 200
    assert web.slack.wait_for(lambda s: _opened(s, "views.open", trigger), timeout=20), web.log()
    opened = _opened(web.slack, "views.open", trigger)[0]
    assert not _answered_before(web, busy, opened.at)
    assert "release_search_form" in json.dumps(opened.args.get("view"))


def _opened(slack: FakeSlack, method: str, trigger: str) -> list[Call]:
    return [c for c in slack.calls_to(method) if c.args.get("trigger_id") == trigger]


# ---- Slack's rate limits -------------------------------------------------------------------

HOME_OPENINGS, HELP_COMMANDS = 40, 5
RETRY_AFTER = 20  # seconds Slack asks the bot to wait before calling users.conversations again


def home_opened(user: str) -> str:
    event = {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home",
             "event_ts": "1700000000.000200"}
    return event_body(event, event_id=f"Ev{uuid.uuid4().hex[:10]}")


def test_a_rate_limited_app_home_holds_no_answer_thread(web: WebProcess) -> None:
    web.slack.script.rate_limited.add("users.conversations")
    web.slack.script.retry_after = RETRY_AFTER
    users = [f"U{uuid.uuid4().hex[:8].upper()}" for _ in range(HOME_OPENINGS)]
    with ThreadPoolExecutor(HOME_OPENINGS) as pool:
        opened = list(pool.map(lambda u: post_event(web.http, web.events_url, home_opened(u)),
                               users))
    assert [r.status_code for r in opened] == [200] * HOME_OPENINGS
    keys = [web.command("help")[0] for _ in range(HELP_COMMANDS)]
    # Well before Slack's Retry-After is over: nothing waits it out on a shared thread.
    for key in keys:
        assert "releases" in str(web.answer(key, timeout=RETRY_AFTER / 2))
    assert web.slack.wait_for(
        lambda s: {c.args.get("user_id") for c in s.calls_to("views.publish")} >= set(users),
        timeout=RETRY_AFTER / 2,
    ), web.log()
    for call in web.slack.calls_to("views.publish"):
        text = json.dumps(call.args["view"])
        assert "Releases" in text  # what it has: the releases, the how-to
        assert "rate-limit" in text  # and a line about what Slack would not say yet
    assert len(web.slack.calls_to("users.conversations")) == HOME_OPENINGS  # none repeated


def _calls_for(slack: FakeSlack, method: str, key: str, value: str) -> list[Call]:
    return [c for c in slack.calls_to(method) if c.args.get(key) == value]


def test_a_rate_limited_home_is_published_once_slack_allows_it(web: WebProcess) -> None:
    user = f"U{uuid.uuid4().hex[:8].upper()}"
    web.slack.script.rate_limited.add("views.publish")
    web.slack.script.retry_after = 1
    assert post_event(web.http, web.events_url, home_opened(user)).status_code == 200
    assert web.slack.wait_for(lambda s: _calls_for(s, "views.publish", "user_id", user))
    web.slack.script.rate_limited.discard("views.publish")  # the limit is over
    assert web.slack.wait_for(
        lambda s: len(_calls_for(s, "views.publish", "user_id", user)) >= 2, timeout=10
    ), web.log()
    assert "rate-limited" in web.log()


def test_a_rate_limited_search_answer_shows_once_slack_allows_it(web: WebProcess) -> None:
    view_id = f"V{uuid.uuid4().hex[:8].upper()}"
    values = {"search_filters": {"filters": {"type": "plain_text_input",
                                             "value": "group:DWH_GROUP"}}}
    submission = view_submission_payload(render_search_form(""), values)
    submission["view"]["id"] = view_id
    web.slack.script.rate_limited.add("views.update")
    web.slack.script.retry_after = 1
    assert web.interact(submission).json()["response_action"] == "update"
    assert web.slack.wait_for(lambda s: _calls_for(s, "views.update", "view_id", view_id))
    web.slack.script.rate_limited.discard("views.update")
    assert web.slack.wait_for(
        lambda s: len(_calls_for(s, "views.update", "view_id", view_id)) >= 2, timeout=10
    ), web.log()
    answer = json.dumps(_calls_for(web.slack, "views.update", "view_id", view_id)[-1].args)
    assert "DWH_GROUP" in answer
