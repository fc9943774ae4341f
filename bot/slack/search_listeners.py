"""Bolt wiring of the search form: the global shortcut, submissions, clicks, group options.

Each listener reads its payload and acks in the request's thread; the lookups and the Web API
calls (views.open, views.update, views.push) run on `delivery.work`. A submission acks with
the field errors (the form stays open), or with a "Searching…" view and the answer by
`views.update` when it is ready; with the queue full it acks with a "busy" view instead.
"Share" posts through `delivery.response_urls`, like every answer at a response URL.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.app.answers import Reply
from bot.app.search_form import SearchForms
from bot.render.search_modal import ACTION_GROUP, SEARCH_FORM_CALLBACK
from bot.render.search_results import (
    BLOCK_SHARE,
    MODAL_ACTION_PATTERN,
    SEARCH_RESULTS_CALLBACK,
    ShareTarget,
    render_busy_view,
)
from bot.slack import payload
from bot.slack.reply_delivery import BUSY_TEXT, Delivery

log = logging.getLogger(__name__)

SEARCH_SHORTCUT_CALLBACK = "search_releases"
# Slack waits 3 s for the options; past this, what the lookup had not found yet is not shown.
OPTIONS_DEADLINE_SECONDS = 1.5
# How long an answer waits for its listener to hand the ack over (it is usually already done).
ACK_WAIT_SECONDS = 3.0
BUSY_FIELD_TEXT = "The bot is busy with many requests right now. Please try again in a minute."


def register_search(app: App, forms: SearchForms, delivery: Delivery) -> None:
    app.shortcut(SEARCH_SHORTCUT_CALLBACK)(partial(on_search_shortcut, forms, delivery))
    app.view(SEARCH_FORM_CALLBACK)(partial(on_form_submitted, forms, delivery))
    app.view(SEARCH_RESULTS_CALLBACK)(partial(on_share_submitted, forms, delivery))
    app.action(re.compile(MODAL_ACTION_PATTERN))(partial(on_modal_click, forms, delivery))
    app.options(ACTION_GROUP)(partial(on_group_options, forms, delivery))


def on_search_shortcut(
    forms: SearchForms, delivery: Delivery, ack: Ack, body: dict[str, Any]
) -> None:
    """The global shortcut "Search releases": open the form while the trigger is valid."""
    trigger_id = payload.text(body, "trigger_id")
    ack()

    def open_form() -> None:
        try:
            delivery.client.views_open(trigger_id=trigger_id, view=forms.form())
        except SlackApiError as exc:
            log.warning("views.open for the search form failed: %s", exc.response.get("error"))
        except OSError as exc:
            log.warning("views.open for the search form failed: %s", type(exc).__name__)

    # The form needs no API call: with the answer queue full it still opens, as a notice.
    if not (delivery.work.submit(open_form) or delivery.notices.submit(open_form)):
        log.warning("busy: the search form was not opened")


def on_form_submitted(
    forms: SearchForms, delivery: Delivery, ack: Ack, body: dict[str, Any]
) -> None:
    view = payload.obj(body, "view")
    values = payload.obj(payload.obj(view, "state"), "values")
    view_id = payload.text(view, "id")
    caller = payload.interaction_caller(body)
    errors = forms.errors(values)
    if errors:
        ack(response_action="errors", errors=errors)  # the form stays open, the field marked
        return
    acked = threading.Event()

    def answer() -> None:
        results = forms.results(values, caller)
        acked.wait(ACK_WAIT_SECONDS)  # never replace "Searching…" before Slack has it
        _update(delivery.client, view_id, results)

    if delivery.work.submit(answer):
        ack(response_action="update", view=forms.loading(values))
        acked.set()
    else:
        log.warning("busy: a search from %s was answered with the busy view", caller.user_id)
        ack(response_action="update", view=render_busy_view(BUSY_TEXT))


def on_modal_click(forms: SearchForms, delivery: Delivery, ack: Ack, body: dict[str, Any]) -> None:
    """Paging updates the view, details push one; with the queue full the click is skipped."""
    action = payload.first_action(body)
    action_id, value = payload.text(action, "action_id"), payload.text(action, "value")
    current = payload.obj(body, "view")
    view_id, view_hash = payload.text(current, "id"), payload.text(current, "hash") or None
    trigger_id = payload.text(body, "trigger_id")
    caller = payload.interaction_caller(body)
    ack()

    def answer() -> None:
        step = forms.click(action_id, value, caller)
        if step is None:
            return
        if step.how == "push":
            try:
                delivery.client.views_push(trigger_id=trigger_id, view=step.view)
            except SlackApiError as exc:
                log.warning("views.push in the search modal failed: %s", exc.response.get("error"))
            except OSError as exc:
                log.warning("views.push in the search modal failed: %s", type(exc).__name__)
            return
        _update(delivery.client, view_id, step.view, view_hash=view_hash)

    if not delivery.work.submit(answer):
        log.warning("busy: a click in the search modal from %s was skipped", caller.user_id)


def on_share_submitted(
    forms: SearchForms, delivery: Delivery, ack: Ack, body: dict[str, Any]
) -> None:
    """"Share": post what the modal shows in the picked conversation, at its response_url."""
    view = payload.obj(body, "view")
    target = ShareTarget.from_metadata(view.get("private_metadata"))
    if target is None:
        ack(response_action="errors", errors={BLOCK_SHARE: "This answer cannot be shared."})
        return
    response_url = _picked_response_url(body)
    if not response_url:
        log.warning("share from the search modal without a response_url")
        ack(response_action="errors", errors={BLOCK_SHARE: "Pick a channel to share in."})
        return
    if not delivery.response_urls.usable(response_url):  # one warning line says why
        ack(response_action="errors", errors={BLOCK_SHARE: "This conversation cannot be used."})
        return
    caller = payload.interaction_caller(body)

    def share() -> None:
        message = forms.shared(target, caller)
        failed = message.meta.get("view") == "error"  # told to the sharer alone
        reply = Reply(message, mode="ephemeral" if failed else "in_channel")
        delivery.deliver(reply, response_url, trigger_id="")

    if delivery.work.submit(share):
        ack(response_action="clear")
    else:
        log.warning("busy: a share from %s was refused with the busy text", caller.user_id)
        ack(response_action="errors", errors={BLOCK_SHARE: BUSY_FIELD_TEXT})


def on_group_options(
    forms: SearchForms,
    delivery: Delivery,
    ack: Ack,
    body: dict[str, Any],
    *,
    deadline: float = OPTIONS_DEADLINE_SECONDS,
) -> None:
    """Held names at once; else one lookup on a work thread, waited for `deadline` seconds."""
    typed = payload.text(body, "value")
    held = _safely(lambda: forms.held_group_options(typed), typed)
    if held is not None:
        ack(options=held)
        return
    found: list[list[dict[str, Any]]] = []
    done = threading.Event()

    def look_up() -> None:
        try:
            options = _safely(lambda: forms.group_options(typed), typed)
            found.append(options or [])
        finally:
            done.set()

    if not delivery.work.submit(look_up):
        log.warning("busy: group options answered empty")
    elif not done.wait(deadline):
        log.info("group options answered empty: the API is slow (the names come later)")
    ack(options=found[0] if found else [])


def _safely(
    options: Callable[[], list[dict[str, Any]] | None], typed: str
) -> list[dict[str, Any]] | None:
    try:
        return options()
    except Exception:
        log.exception("group options for %r failed", typed[:40])
        return []


def _picked_response_url(body: Mapping[str, Any]) -> str:
    urls = body.get("response_urls")
    if not isinstance(urls, list) or not urls or not isinstance(urls[0], Mapping):
        return ""
    return payload.text(urls[0], "response_url")


def _update(
    client: WebClient, view_id: str, view: dict[str, Any], *, view_hash: str | None = None
) -> None:
    if not view_id:
        log.warning("search modal without a view id; the answer cannot be shown")
        return
    try:
        client.views_update(view_id=view_id, hash=view_hash, view=view)
    except SlackApiError as exc:
        log.warning("views.update in the search modal failed: %s", exc.response.get("error"))
    except OSError as exc:
        log.warning("views.update in the search modal failed: %s", type(exc).__name__)
