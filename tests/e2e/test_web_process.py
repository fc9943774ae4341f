"""End to end over HTTP: signed Slack requests to the web process, answers at response_url.

Each test uses its own response_url key, so tests read only their own answers. Queries are
chosen so that tests which need an uncached upstream call (API down) use filters no other test
uses; the web process keeps its cache for the whole session.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import bot
from bot.demo.api_server import DEMO_TOKEN
from bot.render import actions
from bot.render.search_modal import (
    OUTDATED_TEXT,
    RETIRED_SEARCH_CALLBACK,
    SEARCH_FORM_CALLBACK,
    render_search_form,
)
from bot.render.search_results import message_action_id
from tests.e2e.conftest import BOT_TOKEN, WebProcess, all_text, new_key
from tests.fakes.signing import (
    SIGNING_SECRET,
    block_action_payload,
    message_shortcut_payload,
    view_submission_payload,
)

pytestmark = pytest.mark.slow

# Mentions in the demo data (R59's description) and in messages the tests send. The bot's own
# `<@U0USER>` ("shared by") is fine: it names the person who clicked.
RAW_MENTIONS = re.compile(r"<(?:!channel|!here|!everyone|@U123|!subteam\^)")
NO_ANSWER_WITHIN = 10.0  # seconds: the bound for a friendly answer when the API is down


# ---- helpers ----------------------------------------------------------------------------


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every button in a message, in display order, with the block id it sits in."""
    found: list[dict[str, Any]] = []
    for block in message.get("blocks") or []:
        candidates = [block.get("accessory"), *list(block.get("elements") or [])]
        for element in candidates:
            if isinstance(element, dict) and element.get("type") == "button":
                found.append({**element, "block_id": block.get("block_id", "b1")})
    return found


def button(message: dict[str, Any], base: str, label: str | None = None) -> dict[str, Any] | None:
    for candidate in buttons(message):
        if actions.base_action_id(candidate["action_id"]) != base:
            continue
        if label is None or label in candidate["text"]["text"]:
            return candidate
    return None


def press(
    web: WebProcess, pressed: dict[str, Any], *, trigger_id: str | None = None
) -> tuple[str, int]:
    """Click a button as Slack would; returns the click's response_url key and the HTTP status."""
    key = new_key()
    payload = block_action_payload(
        pressed["action_id"],
        pressed["value"],
        response_url=web.slack.response_url(key),
        block_id=pressed["block_id"],
    )
    if trigger_id is not None:
        payload["trigger_id"] = trigger_id
    return key, web.interact(payload).status_code


def header(message: dict[str, Any]) -> str:
    for block in message.get("blocks") or []:
        if block.get("type") == "header":
            return str(block["text"]["text"])
    raise AssertionError(f"no header block in {message.get('text')!r}")


def header_count(message: dict[str, Any]) -> int:
    match = re.search(r"(\d+)\s*$", header(message))
    assert match, header(message)
    return int(match.group(1))


def release_names(message: dict[str, Any]) -> list[str]:
    """The bold names of the release sections of a list (one per Details button)."""
    names = []
    for block in message.get("blocks") or []:
        accessory = block.get("accessory") or {}
        if actions.base_action_id(accessory.get("action_id", "")) == actions.ACTION_DETAIL:
            match = re.search(r"\*(.+?)\*", block["text"]["text"])
            assert match, block["text"]["text"]
            names.append(match.group(1))
    return names


def assert_friendly(message: dict[str, Any]) -> str:
    """An ephemeral message with a text fallback and no trace of a stack trace."""
    text = all_text(message)
    assert message.get("response_type") == "ephemeral"
    assert message.get("text"), message
    for leak in ("Traceback", 'File "', "Exception", "Error:", "/bot/"):
        assert leak not in text, text
    return text


def submit_form(web: WebProcess, view: dict[str, Any], values: dict[str, Any]) -> tuple[Any, str]:
    """Submit `view` with `values` under a view id of its own; the HTTP answer and that id."""
    payload = view_submission_payload(view, values)
    view_id = f"V{uuid.uuid4().hex[:8].upper()}"
    payload["view"]["id"] = view_id
    return web.interact(payload), view_id


def modal_answer(web: WebProcess, view_id: str) -> dict[str, Any]:
    """The answer shown in modal `view_id` by views.update, read as a message."""
    assert web.slack.wait_for(
        lambda s: any(c.args.get("view_id") == view_id for c in s.calls_to("views.update"))
    ), web.log()
    update = next(c for c in web.slack.calls_to("views.update") if c.args["view_id"] == view_id)
    blocks = json.loads(json.dumps(update.args["view"]["blocks"]))
    for block in blocks:  # the modal's own button ids, read as the message's
        if "action_id" in (block.get("accessory") or {}):
            block["accessory"]["action_id"] = message_action_id(block["accessory"]["action_id"])
    return {"text": "", "blocks": blocks}


def visible(web: WebProcess, *, group: str | None = None, status: str = "all") -> list[Any]:
    groups = {name: gid for gid, name in web.demo.data.groups().items()}
    return [
        r
        for r in web.demo.data.releases()
        if not r.deleted
        and (group is None or r.group_id == groups[group])
        and (status == "all" or r.closed == (status == "closed"))
    ]


@pytest.fixture(autouse=True)
def no_mention_ever_posted(web: WebProcess) -> Iterator[None]:
    """After each test: nothing the bot sent anywhere holds a raw mention of people."""
    with web.slack._lock:
        responses, calls = len(web.slack.responses), len(web.slack.calls)
    yield
    with web.slack._lock:
        sent = [r.body for r in web.slack.responses[responses:]]
        sent += [c.args for c in web.slack.calls[calls:]]
    for body in sent:
        text = all_text(body)
        assert not RAW_MENTIONS.search(text), text
        assert not body.get("link_names"), body


# ---- commands ---------------------------------------------------------------------------


def test_open_list_is_ephemeral_with_blocks_fallback_and_count(web: WebProcess) -> None:
    key, ack = web.command("")
    assert ack.status_code == 200
    assert ack.text == ""  # an empty ack: the answer goes to response_url
    answer = web.answer(key)
    assert answer["response_type"] == "ephemeral"
    assert answer["replace_original"] is False
    assert answer["blocks"]
    assert "Open releases" in answer["text"]
    expected = len(visible(web, status="open"))
    assert header(answer).startswith("Open releases")
    assert header_count(answer) == expected
    assert str(expected) in answer["text"]
    # The bot checked its token against (fake) Slack when it started.
    assert any(c.token == BOT_TOKEN for c in web.slack.calls_to("auth.test"))


def test_group_filter_with_all_statuses(web: WebProcess) -> None:
    answer = web.ask("group:DWH_GROUP all")
    wanted = visible(web, group="DWH_GROUP")
    assert "DWH_GROUP" in header(answer)
    assert header_count(answer) == len(wanted)
    shown = set(release_names(answer))
    assert shown <= {r.name for r in wanted}
    assert "DWH_GROUP" in all_text([b for b in answer["blocks"] if b["type"] == "context"])


def test_excluding_a_name_glob(web: WebProcess) -> None:
    answer = web.ask('group:DWH_GROUP all -name:"*.HF*" format:compact page:1')
    names = release_names(answer)
    assert names
    assert not [n for n in names if ".HF" in n]
    without_hotfixes = [r for r in visible(web, group="DWH_GROUP") if ".HF" not in r.name]
    assert header_count(answer) == len(without_hotfixes)


def test_glob_on_names(web: WebProcess) -> None:
    answer = web.ask('name:"R9*" all')
    assert sorted(release_names(answer)) == ["R9", "R9.HF1", "R9.HF2"]


def test_detail_by_id_escapes_the_description(web: WebProcess) -> None:
    answer = web.ask("#59")
    text = all_text(answer)
    assert answer["response_type"] == "ephemeral"
    assert "R59" in answer["text"]
    assert "&lt;!channel&gt;" in text  # shown, but as text
    assert "<!channel>" not in text
    assert "<@U123>" not in text
    related = button(answer, actions.ACTION_RELATED)
    assert related is not None
    assert related["value"] == "29"
    assert button(answer, actions.ACTION_SHARE) is not None


def test_a_bare_name_finds_the_release(web: WebProcess) -> None:
    answer = web.ask("R60")
    assert "R60" in answer["text"]
    assert "R59" not in release_names(answer)


def test_unknown_id(web: WebProcess) -> None:
    answer = web.ask("#99999")
    text = assert_friendly(answer)
    assert "No release with id 99999" in text


def test_bad_filter_lists_the_valid_keys(web: WebProcess) -> None:
    answer = web.ask("bogus:1")
    text = assert_friendly(answer)
    assert "bogus" in text
    for key in ("group", "name", "status", "closed", "hotfix"):
        assert key in text, text


def test_help(web: WebProcess) -> None:
    answer = web.ask("help")
    text = all_text(answer)
    assert answer["response_type"] == "ephemeral"
    assert answer["text"]
    for example in ("/releases", "group:", "#21", "standup"):
        assert example in text, example


# ---- buttons ----------------------------------------------------------------------------


def test_paging_with_next_until_the_last_page(web: WebProcess) -> None:
    answer = web.ask("all")
    total = header_count(answer)
    assert total == len(visible(web))
    seen = release_names(answer)
    pages = 1
    while (next_button := button(answer, actions.ACTION_PAGE, "Next")) is not None:
        assert json.loads(next_button["value"])["p"] == pages + 1
        key, status = press(web, next_button)
        assert status == 200
        answer = web.answer(key)
        assert answer["replace_original"] is True
        assert answer["blocks"]
        assert answer["text"]
        assert header_count(answer) == total
        seen += release_names(answer)
        pages += 1
        assert pages < 20, "paging does not end"
    assert pages > 1
    assert button(answer, actions.ACTION_PAGE, "Prev") is not None
    assert len(seen) == total
    assert sorted(seen) == sorted(r.name for r in visible(web))


def test_details_button_of_a_list(web: WebProcess) -> None:
    listing = web.ask("group:DWH_GROUP open")
    details = button(listing, actions.ACTION_DETAIL)
    assert details is not None
    key, status = press(web, details)
    assert status == 200
    detail = web.answer(key)
    release = web.demo.data.by_id(int(details["value"]))
    assert release is not None
    assert release.name in detail["text"]
    assert detail["response_type"] == "ephemeral"
    assert button(detail, actions.ACTION_SHARE) is not None


def test_share_in_channel_posts_for_everyone_and_removes_the_ephemeral(web: WebProcess) -> None:
    detail = web.ask("#60")
    share = button(detail, actions.ACTION_SHARE)
    assert share is not None
    key, status = press(web, share)
    assert status == 200
    shared, removed = (post.body for post in web.answers(key, 2)[:2])
    assert shared["response_type"] == "in_channel"
    assert "R60" in shared["text"]
    assert "U0USER" in all_text(shared)  # says who shared it
    assert button(shared, actions.ACTION_SHARE) is None  # nothing to share again
    assert removed.get("delete_original") is True


def test_share_a_list_page(web: WebProcess) -> None:
    listing = web.ask("group:DWH_GROUP open")
    share = button(listing, actions.ACTION_SHARE)
    assert share is not None
    key, _ = press(web, share)
    shared = web.answers(key, 2)[0].body
    assert shared["response_type"] == "in_channel"
    assert release_names(shared) == release_names(listing)


def test_a_tampered_button_value_gets_a_friendly_answer(web: WebProcess) -> None:
    key, status = press(
        web,
        {
            "action_id": "releases_page:next",
            "value": '{"v":1,"q":"bogus:1","p":2}',
            "block_id": actions.BLOCK_LIST_NAV,
        },
    )
    assert status == 200
    assert_friendly(web.answer(key))


# ---- message shortcut and the search form -----------------------------------------------


def test_shortcut_finds_ids_and_names_in_a_message(web: WebProcess) -> None:
    key = new_key()
    payload = message_shortcut_payload(
        "can someone check #21 and R59?", response_url=web.slack.response_url(key)
    )
    assert web.interact(payload).status_code == 200
    answer = web.answer(key)
    assert answer["response_type"] == "ephemeral"
    names = release_names(answer)
    assert "R1" in names  # release 21
    assert "R59" in names
    assert "<!channel>" not in all_text(answer)


def test_shortcut_with_nothing_offers_the_search_form(web: WebProcess) -> None:
    key = new_key()
    payload = message_shortcut_payload(
        "lunch at noon, anyone? <!here>", response_url=web.slack.response_url(key)
    )
    assert web.interact(payload).status_code == 200
    answer = web.answer(key)
    assert answer["text"]
    open_search = button(answer, actions.ACTION_OPEN_SEARCH)
    assert open_search is not None
    assert "found no release" in all_text(answer).lower()

    # Pressing the button opens the modal with the click's trigger.
    trigger = f"trig-{uuid.uuid4().hex[:8]}"
    click_key, status = press(web, open_search, trigger_id=trigger)
    assert status == 200
    assert web.slack.wait_for(
        lambda s: any(c.args.get("trigger_id") == trigger for c in s.calls_to("views.open"))
    ), web.log()
    call = next(c for c in web.slack.calls_to("views.open") if c.args["trigger_id"] == trigger)
    assert call.token == BOT_TOKEN
    view = call.args["view"]
    if isinstance(view, str):
        view = json.loads(view)
    assert view["type"] == "modal"
    assert view["callback_id"] == "release_search_form"
    assert web.slack.responses_to(click_key) == []  # the modal opened; no fallback message

    # Submitting the form shows the answer in the modal itself.
    values = {
        "search_filters": {"filters": {"type": "plain_text_input", "value": "group:LAKE_GROUP"}},
        "search_status": {
            "status": {
                "type": "radio_buttons",
                "selected_option": {"text": {"type": "plain_text", "text": "Any"}, "value": "all"},
            }
        },
    }
    submitted, view_id = submit_form(web, view, values)
    assert submitted.status_code == 200
    assert submitted.json()["response_action"] == "update"
    result = modal_answer(web, view_id)
    wanted = visible(web, group="LAKE_GROUP")
    assert header_count(result) == len(wanted)
    assert set(release_names(result)) == {r.name for r in wanted}
    assert web.slack.responses_to(click_key) == []


def test_a_form_with_only_filters_answers_the_open_releases_in_the_modal(
    web: WebProcess,
) -> None:
    view = render_search_form("")
    assert view["callback_id"] == SEARCH_FORM_CALLBACK
    values = {
        "search_filters": {"filters": {"type": "plain_text_input", "value": "group:LAKE_GROUP"}}
    }
    submitted, view_id = submit_form(web, view, values)
    assert submitted.status_code == 200
    assert submitted.json()["response_action"] == "update"  # "Searching…", then the answer
    wanted = visible(web, group="LAKE_GROUP", status="open")
    assert set(release_names(modal_answer(web, view_id))) == {r.name for r in wanted}


def test_a_form_opened_before_an_upgrade_is_told_to_open_a_new_one(web: WebProcess) -> None:
    key = new_key()
    # As the app's first version opened it: its answer was to go to a response URL.
    view = {
        **render_search_form(""),
        "callback_id": RETIRED_SEARCH_CALLBACK,
        "private_metadata": json.dumps({"response_url": web.slack.response_url(key)}),
    }
    values = {
        "search_filters": {"filters": {"type": "plain_text_input", "value": "group:LAKE_GROUP"}}
    }
    submitted, view_id = submit_form(web, view, values)
    assert submitted.status_code == 200
    body = submitted.json()
    assert body["response_action"] == "update"
    assert [b["text"]["text"] for b in body["view"]["blocks"]] == [OUTDATED_TEXT]
    assert web.slack.wait_responses(key, timeout=1.0) == []  # nothing posted at its URL
    assert not any(c.args.get("view_id") == view_id for c in web.slack.calls_to("views.update"))


def test_a_bad_filter_in_the_search_form_keeps_it_open_with_the_field_marked(
    web: WebProcess,
) -> None:
    values = {"search_filters": {"filters": {"type": "plain_text_input", "value": "bogus:1"}}}
    submitted, view_id = submit_form(web, render_search_form(""), values)
    assert submitted.status_code == 200
    body = submitted.json()
    assert body["response_action"] == "errors"
    error = body["errors"]["search_filters"]
    assert "bogus" in error
    assert "Valid keys" in error
    assert "`" not in error  # plain text: the modal shows no formatting
    assert not web.slack.wait_for(  # nothing shown in its place
        lambda s: any(c.args.get("view_id") == view_id for c in s.calls_to("views.update")),
        timeout=1.0,
    )


# ---- the API misbehaves -----------------------------------------------------------------


def test_api_failing_gives_a_friendly_answer_in_time(web: WebProcess) -> None:
    web.demo.switches.fail_next(10_000, 503, path="/api/v1/releases")
    try:
        started = time.monotonic()
        key, ack = web.command("group:FINANCE_MART closed")
        assert ack.status_code == 200
        answer = web.answer(key, timeout=NO_ANSWER_WITHIN)
        elapsed = time.monotonic() - started
    finally:
        web.demo.switches.reset()
    text = assert_friendly(answer)
    assert "MetaKraftwerk" in text
    assert elapsed < NO_ANSWER_WITHIN


def test_api_hanging_gives_a_friendly_answer_in_time(web: WebProcess) -> None:
    web.demo.switches.hang(path="/api/v1/releases")
    try:
        started = time.monotonic()
        key, ack = web.command("group_id:2 closed")
        assert ack.status_code == 200
        answer = web.answer(key, timeout=NO_ANSWER_WITHIN)
        elapsed = time.monotonic() - started
    finally:
        web.demo.switches.release_hang()
    text = assert_friendly(answer)
    assert "MetaKraftwerk" in text
    assert elapsed < NO_ANSWER_WITHIN


# ---- request verification and health ----------------------------------------------------


def test_forged_and_stale_requests_are_rejected_and_not_answered(web: WebProcess) -> None:
    forged_key, forged = web.command("open", secret="not-the-signing-secret")
    stale_key, stale = web.command("open", timestamp=int(time.time()) - 6 * 60)
    assert forged.status_code == 401
    assert stale.status_code == 401
    # A genuine request sent after them is answered; by then the rejected ones would have been.
    web.ask("help")
    assert web.slack.responses_to(forged_key) == []
    assert web.slack.responses_to(stale_key) == []


def test_healthz_reports_version_and_cache_and_no_secret(web: WebProcess) -> None:
    web.ask("open")
    response = web.http.get(f"{web.url}/healthz")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    status = response.json()
    assert status["status"] == "ok"
    assert status["version"] == bot.__version__
    cache = status["cache"]
    assert {"hits", "misses"} <= set(cache)
    assert cache["hits"] + cache["misses"] >= 1
    for secret in (BOT_TOKEN, SIGNING_SECRET, DEMO_TOKEN):
        assert secret not in response.text
