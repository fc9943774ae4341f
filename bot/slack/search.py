"""Bolt wiring of the search form: the global shortcut, submissions, clicks, group options.

Each listener acknowledges first. A submission answers with the field errors, or with a
"Searching…" view at once and the answer by `views.update` when it is ready; clicks inside
the answer update the view (paging) or push one (details).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.answers import Caller
from bot.render.search import ACTION_GROUP, SEARCH_FORM_CALLBACK
from bot.render.search_results import (
    BLOCK_SHARE,
    MODAL_ACTION_PATTERN,
    SEARCH_RESULTS_CALLBACK,
    ShareTarget,
)
from bot.search import SearchForms

log = logging.getLogger(__name__)

SEARCH_SHORTCUT_CALLBACK = "search_releases"


def register_search(app: App, forms: SearchForms) -> None:
    def on_search_shortcut(ack: Ack, shortcut: dict[str, Any], client: WebClient) -> None:
        search_shortcut(forms, ack, shortcut, client)

    def on_form_submitted(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        form_submitted(forms, ack, body, view, client)

    def on_share_submitted(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], respond: Respond
    ) -> None:
        share_submitted(forms, ack, body, view, respond)

    def on_modal_click(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        modal_click(forms, ack, body, client)

    def on_group_options(ack: Ack, payload: dict[str, Any]) -> None:
        group_options_load(forms, ack, payload)

    app.shortcut(SEARCH_SHORTCUT_CALLBACK)(on_search_shortcut)
    app.view(SEARCH_FORM_CALLBACK)(on_form_submitted)
    app.view(SEARCH_RESULTS_CALLBACK)(on_share_submitted)
    app.action(re.compile(MODAL_ACTION_PATTERN))(on_modal_click)
    app.options(ACTION_GROUP)(on_group_options)


def search_shortcut(
    forms: SearchForms, ack: Ack, shortcut: dict[str, Any], client: WebClient
) -> None:
    """The global shortcut "Search releases": open the form while the trigger is valid."""
    ack()
    try:
        client.views_open(trigger_id=shortcut.get("trigger_id"), view=forms.form())
    except SlackApiError as exc:
        log.warning("views.open for the search form failed: %s", exc.response.get("error"))


def form_submitted(
    forms: SearchForms, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
) -> None:
    values = (view.get("state") or {}).get("values") or {}
    errors = forms.errors(values)
    if errors:
        ack(response_action="errors", errors=errors)  # the form stays open, the field marked
        return
    ack(response_action="update", view=forms.loading(values))
    _update(client, view, forms.results(values, _caller(body)))


def modal_click(forms: SearchForms, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    ack()
    action = (body.get("actions") or [{}])[0]
    step = forms.click(action.get("action_id", ""), action.get("value") or "", _caller(body))
    if step is None:
        return
    current = body.get("view") or {}
    if step.how == "push":
        try:
            client.views_push(trigger_id=body.get("trigger_id"), view=step.view)
        except SlackApiError as exc:
            log.warning("views.push in the search modal failed: %s", exc.response.get("error"))
        return
    _update(client, current, step.view, view_hash=current.get("hash"))


def share_submitted(
    forms: SearchForms, ack: Ack, body: dict[str, Any], view: dict[str, Any], respond: Respond
) -> None:
    """"Share": post what the modal shows in the picked conversation, through its response_url."""
    target = ShareTarget.from_metadata(view.get("private_metadata"))
    if target is None:
        ack(response_action="errors", errors={BLOCK_SHARE: "This answer cannot be shared."})
        return
    if not body.get("response_urls"):
        log.warning("share from the search modal without a response_url")
        ack(response_action="errors", errors={BLOCK_SHARE: "Pick a channel to share in."})
        return
    ack(response_action="clear")
    message = forms.shared(target, _caller(body))
    if message.meta.get("view") == "error":
        respond(**message.payload(), response_type="ephemeral", replace_original=False)
        return
    respond(**message.payload(), response_type="in_channel", replace_original=False)


def group_options_load(forms: SearchForms, ack: Ack, payload: dict[str, Any]) -> None:
    typed = str(payload.get("value") or "")
    try:
        options = forms.group_options(typed)
    except Exception:
        log.exception("group options for %r failed", typed[:40])
        options = []
    ack(options=options)


def _update(
    client: WebClient,
    current: dict[str, Any],
    view: dict[str, Any],
    *,
    view_hash: str | None = None,
) -> None:
    view_id = current.get("id")
    if not view_id:
        log.warning("search modal without a view id; the answer cannot be shown")
        return
    try:
        client.views_update(view_id=view_id, hash=view_hash, view=view)
    except SlackApiError as exc:
        log.warning("views.update in the search modal failed: %s", exc.response.get("error"))


def _caller(body: dict[str, Any]) -> Caller:
    user = body.get("user") or {}
    team = body.get("team") or {}
    return Caller(
        team_id=team.get("id", "") or user.get("team_id", ""),
        user_id=user.get("id", ""),
        user_name=user.get("username") or user.get("name") or "",
    )
