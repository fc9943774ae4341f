"""Bolt wiring of the search form: the global shortcut, submissions, clicks, group options.

Each listener reads its payload and acks in the request's thread; the lookups and the Web API
calls run on `delivery.work`, except those that spend a trigger_id (views.open, views.push):
Slack accepts one for 3 s only, so they run on `delivery.triggers`, never behind a lookup, and
a release's details push a "Searching…" view that the lookup then updates. A submission acks with
the field errors (the form stays open), or with a "Searching…" view and the answer by
`views.update` when it is ready; with the queue full it acks with a "busy" view instead.
"Share" posts through `delivery.response_urls`, like every answer at a response URL. Group
options answer from the names held in memory, at once; reading them again runs on the queue.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from functools import partial
from typing import Any

from slack_bolt import Ack, App
from slack_sdk.errors import SlackApiError

from bot.app.answers import Caller, Reply
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
from bot.slack.rate_limits import RETRIES, again_later
from bot.slack.reply_delivery import BUSY_TEXT, Delivery

log = logging.getLogger(__name__)

SEARCH_SHORTCUT_CALLBACK = "search_releases"
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
    caller = payload.interaction_caller(body)
    ack()
    forms.warm_group_names(delivery.work.submit, caller)  # the names are there to type

    def open_form() -> None:
        try:
            delivery.client.views_open(trigger_id=trigger_id, view=forms.form("", caller))
        except SlackApiError as exc:
            log.warning("views.open for the search form failed: %s", exc.response.get("error"))
        except OSError as exc:
            log.warning("views.open for the search form failed: %s", type(exc).__name__)

    # The form needs no lookup: it opens on the trigger lane, never behind the answers.
    if not delivery.triggers.submit(open_form):
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
        _update(delivery, view_id, results)

    if delivery.work.submit(answer):
        ack(response_action="update", view=forms.loading(values))
        acked.set()
    else:
        log.warning("busy: a search from %s was answered with the busy view", caller.user_id)
        ack(response_action="update", view=render_busy_view(BUSY_TEXT))


def on_modal_click(forms: SearchForms, delivery: Delivery, ack: Ack, body: dict[str, Any]) -> None:
    """Paging updates the view; details push a view at once (the trigger lasts 3 s) that the
    lookup then fills in. With the queue full the click is skipped, or the pushed view says so."""
    action = payload.first_action(body)
    action_id, value = payload.text(action, "action_id"), payload.text(action, "value")
    current = payload.obj(body, "view")
    view_id, view_hash = payload.text(current, "id"), payload.text(current, "hash") or None
    trigger_id = payload.text(body, "trigger_id")
    caller = payload.interaction_caller(body)
    ack()
    placeholder = forms.placeholder(action_id, value)
    if placeholder is not None:
        push = partial(_push_then_answer, forms, delivery, action_id, value, caller)
        if not delivery.triggers.submit(lambda: push(trigger_id, placeholder)):
            log.warning("busy: a click in the search modal from %s was skipped", caller.user_id)
        return

    def answer() -> None:
        step = forms.click(action_id, value, caller)
        if step is not None:
            _update(delivery, view_id, step.view, view_hash=view_hash)

    if not delivery.work.submit(answer):
        log.warning("busy: a click in the search modal from %s was skipped", caller.user_id)


def _push_then_answer(
    forms: SearchForms,
    delivery: Delivery,
    action_id: str,
    value: str,
    caller: Caller,
    trigger_id: str,
    placeholder: dict[str, Any],
) -> None:
    """On the trigger lane: push the placeholder, then look the answer up on the work queue."""
    try:
        pushed = delivery.client.views_push(trigger_id=trigger_id, view=placeholder)
    except SlackApiError as exc:
        log.warning("views.push in the search modal failed: %s", exc.response.get("error"))
        return
    except OSError as exc:
        log.warning("views.push in the search modal failed: %s", type(exc).__name__)
        return
    view = pushed.get("view")
    pushed_id = str(view.get("id") or "") if isinstance(view, dict) else ""

    def answer() -> None:
        step = forms.click(action_id, value, caller)
        if step is not None:
            _update(delivery, pushed_id, step.view)

    if not delivery.work.submit(answer):
        log.warning("busy: details in the search modal from %s not looked up", caller.user_id)
        _update(delivery, pushed_id, render_busy_view(BUSY_TEXT))


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
    forms: SearchForms, delivery: Delivery, ack: Ack, body: dict[str, Any]
) -> None:
    """The names held, at once: Slack asks at every keystroke, in one of the request threads."""
    typed = payload.text(body, "value")
    try:
        options = forms.group_options(
            typed, delivery.work.submit, payload.interaction_caller(body)
        )
    except Exception:
        log.exception("group options for %r failed", typed[:40])
        options = []
    ack(options=options)


def _picked_response_url(body: Mapping[str, Any]) -> str:
    urls = body.get("response_urls")
    if not isinstance(urls, list) or not urls or not isinstance(urls[0], Mapping):
        return ""
    return payload.text(urls[0], "response_url")


def _update(
    delivery: Delivery,
    view_id: str,
    view: dict[str, Any],
    *,
    view_hash: str | None = None,
    retries_left: int = RETRIES,
) -> None:
    """views.update of the modal; rate-limited, again once Slack allows it (no thread waits)."""
    if not view_id:
        log.warning("search modal without a view id; the answer cannot be shown")
        return
    try:
        delivery.client.views_update(view_id=view_id, hash=view_hash, view=view)
    except SlackApiError as exc:
        def again(left: int) -> None:
            _update(delivery, view_id, view, view_hash=view_hash, retries_left=left)

        what = "views.update in the search modal"
        if not again_later(delivery.work, exc, again, what=what, retries_left=retries_left):
            log.warning("%s failed: %s", what, exc.response.get("error"))
    except OSError as exc:
        log.warning("views.update in the search modal failed: %s", type(exc).__name__)
