"""The search form's application side: the form, its errors, and answers shown in the modal.

Answers come from `Answers` (the same query, finder and renderers as `/releases`, the same
error handling); this module only decides which view shows them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bot.app.answers import Answers, Caller, plain_text
from bot.app.finder import ReleaseFinder
from bot.app.search_query import SearchFormError, search_form_query
from bot.query import QueryError
from bot.render import actions as act
from bot.render.listing import query_text
from bot.render.message import Message
from bot.render.search_modal import BLOCK_FILTERS, group_options, render_search_form
from bot.render.search_results import (
    ShareTarget,
    message_action_id,
    render_loading_view,
    render_results_view,
)

log = logging.getLogger(__name__)

MAX_ERROR = 150  # Slack shows at most this much under a field


@dataclass(frozen=True, slots=True)
class ModalStep:
    """What a click inside the results does to the modal: replace the view or push one."""

    how: Literal["update", "push"]
    view: dict[str, Any]


class SearchForms:
    def __init__(self, answers: Answers, finder: ReleaseFinder | None = None) -> None:
        """`finder` is the one `answers` use (bot/wiring.py passes it; alone, it is asked)."""
        self._answers = answers
        self._finder = finder if finder is not None else answers.finder

    def form(self, prefill: str = "") -> dict[str, Any]:
        """The form, with the groups already held; never waits for the API (3 s trigger)."""
        groups = self._finder.group_names(fetch=False)
        return render_search_form(prefill, groups=groups or None)

    def errors(self, values: Mapping[str, Any]) -> dict[str, str]:
        """{block id: plain text} for the fields to mark; empty when the form reads fine."""
        try:
            search_form_query(values)
        except SearchFormError as exc:
            return {exc.block_id: plain_text(exc.message)[:MAX_ERROR]}
        except QueryError as exc:
            return {BLOCK_FILTERS: plain_text(exc.message)[:MAX_ERROR]}
        return {}

    def loading(self, values: Mapping[str, Any]) -> dict[str, Any]:
        try:
            what = search_form_query(values).describe()
        except QueryError:
            what = "releases"
        return render_loading_view(what)

    def results(self, values: Mapping[str, Any], caller: Caller) -> dict[str, Any]:
        """The answer to a submitted form, as the modal's next view."""
        reply = self._answers.search_submitted(values, caller)
        try:
            query = search_form_query(values)
        except QueryError:
            return render_results_view(reply.message, share=None)
        if query.release_id is not None:
            share = ShareTarget("detail", release_id=query.release_id)
        else:
            share = ShareTarget("list", query_text=query_text(query), page=query.page)
        return render_results_view(
            reply.message, share=_shareable(reply.message, share), prefill=query_text(query)
        )

    def click(self, action_id: str, value: str, caller: Caller) -> ModalStep | None:
        """A button inside the results: another page, a release's details, a new search."""
        own = message_action_id(action_id)
        try:
            action = act.decode(own, value)
        except act.ActionValueError as exc:
            log.warning("unreadable button in the search modal %s: %s", own[:60], exc)
            return None
        if isinstance(action, act.OpenSearch):
            return ModalStep("update", self.form(action.prefill))
        reply = self._answers.button(own, value, caller)
        if isinstance(action, act.PageRequest):
            share = ShareTarget("list", query_text=action.query_text, page=action.page)
            view = render_results_view(
                reply.message,
                share=_shareable(reply.message, share),
                prefill=action.query_text,
            )
            return ModalStep("update", view)
        if isinstance(action, act.ReleaseRef):
            share = ShareTarget("detail", release_id=action.release_id)
            return ModalStep(
                "push", render_results_view(reply.message, share=_shareable(reply.message, share))
            )
        return None

    def shared(self, target: ShareTarget, caller: Caller) -> Message:
        """The message "Share" posts, for everyone, naming who shared it."""
        if target.kind == "detail" and target.release_id is not None:
            request = act.ShareRequest("detail", release_id=target.release_id)
        else:
            request = act.ShareRequest("list", query_text=target.query_text, page=target.page)
        value = act.encode_share(request) or ""
        return self._answers.button(act.ACTION_SHARE, value, caller).message

    def group_options(self, typed: str) -> list[dict[str, Any]]:
        """The group select's options as the user types (held names, else one API call)."""
        held = self.held_group_options(typed)
        if held is not None:
            return held
        return group_options(self._finder.group_names(), typed)

    def held_group_options(self, typed: str) -> list[dict[str, Any]] | None:
        """The options from the names already held, never waiting; None when none are held."""
        groups = self._finder.group_names(fetch=False)
        return group_options(groups, typed) if groups else None


def _shareable(message: Message, share: ShareTarget) -> ShareTarget | None:
    """Errors and empty lists are nothing to share."""
    view = message.meta.get("view")
    if view == "detail" or (view == "list" and message.meta.get("total")):
        return share
    return None
