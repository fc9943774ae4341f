"""The search form's application side: the form, its errors, and answers shown in the modal.

Answers come from `Answers` (the same query, finder and renderers as `/releases`, the same
error handling); this module only decides which view shows them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cachetools import LRUCache

from bot.app.answers import Answers, Caller
from bot.app.finder import ReleaseFinder
from bot.app.finders import Finders, finders_of
from bot.app.search_query import SearchFormError, search_form, search_form_query
from bot.clock import Clock, SystemClock
from bot.metakraftwerk.errors import MetaKraftwerkError, NotConnected
from bot.query import QueryError
from bot.render import actions as act
from bot.render.errors import render_error, render_not_connected
from bot.render.listing import query_text
from bot.render.message import Message
from bot.render.search_modal import BLOCK_FILTERS, group_options
from bot.render.search_results import (
    ShareTarget,
    message_action_id,
    render_loading_view,
    render_results_view,
)
from bot.render.text import plain_text

log = logging.getLogger(__name__)

MAX_ERROR = 150  # Slack shows at most this much under a field
# The suggested group names are read from the cache again after this long; a list that could
# not be read (the API failing) is asked for again after the shorter time.
NAMES_FRESH_SECONDS = 60.0
NAMES_FAILED_SECONDS = 15.0
# The suggestions of this many connections are held (distributed mode), the least used dropped.
MAX_SUGGESTION_SETS = 256

NOBODY = Caller()  # single-workspace mode: one connection for everyone

# Runs a job in the background; False when it cannot take it now (WorkQueue.submit).
Submit = Callable[[Callable[[], object]], bool]


@dataclass(frozen=True, slots=True)
class ModalStep:
    """What a click inside the results does to the modal: replace the view or push one."""

    how: Literal["update", "push"]
    view: dict[str, Any]


class SearchForms:
    def __init__(
        self,
        answers: Answers,
        finder: ReleaseFinder | Finders | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        """`finder` is what `answers` use (bot/wiring passes it; alone, it is asked). Each
        connection's group names are suggested to its own workspaces only."""
        self._answers = answers
        if finder is None:
            try:
                finder = answers.finder  # single-workspace mode: the one finder
            except LookupError:
                finder = answers.finders
        self._finders = finders_of(finder)
        self._clock = clock
        self._lock = threading.Lock()
        self._names: LRUCache[ReleaseFinder, GroupSuggestions] = LRUCache(MAX_SUGGESTION_SETS)

    def form(self, prefill: str = "", caller: Caller = NOBODY) -> dict[str, Any]:
        """The form, with the groups already held; never waits for the API (3 s trigger).
        Without a working connection, a view that says so instead."""
        try:
            finder = self._finders.for_caller(caller)
        except MetaKraftwerkError as exc:
            t = self._answers.languages.for_user(caller.team_id, caller.user_id)
            if isinstance(exc, NotConnected):
                message = render_not_connected(exc.installer, exc.home_url, t)
            else:
                message = render_error(t._(exc.user_message), t=t)
            return render_results_view(message, share=None)
        return search_form(finder, prefill)

    def _suggestions(self, caller: Caller) -> GroupSuggestions:
        """The suggestions of the caller's connection (raises as Finders do)."""
        finder = self._finders.for_caller(caller)
        with self._lock:
            names = self._names.get(finder)
            if names is None:
                names = GroupSuggestions(finder.group_names, clock=self._clock)
                self._names[finder] = names
        return names

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
            return ModalStep("update", self.form(action.prefill, caller))
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

    def placeholder(self, action_id: str, value: str) -> dict[str, Any] | None:
        """For a click whose answer is pushed (a release's details), the view to push at once:
        its trigger_id lasts 3 s, the lookup may take longer. None for any other click."""
        try:
            action = act.decode(message_action_id(action_id), value)
        except act.ActionValueError:
            return None
        if isinstance(action, act.ReleaseRef):
            return render_loading_view(f"release #{action.release_id}")
        return None

    def shared(self, target: ShareTarget, caller: Caller) -> Message:
        """The message "Share" posts, for everyone, naming who shared it."""
        if target.kind == "detail" and target.release_id is not None:
            request = act.ShareRequest("detail", release_id=target.release_id)
        else:
            request = act.ShareRequest("list", query_text=target.query_text, page=target.page)
        value = act.encode_share(request) or ""
        return self._answers.button(act.ACTION_SHARE, value, caller).message

    def group_options(
        self, typed: str, background: Submit, caller: Caller = NOBODY
    ) -> list[dict[str, Any]]:
        """The group select's options as the user types: from the names held, at once."""
        try:
            names = self._suggestions(caller)
        except MetaKraftwerkError:
            return []  # no connection: nothing to suggest
        return group_options(names.held(background), typed)

    def warm_group_names(self, background: Submit, caller: Caller = NOBODY) -> None:
        """Start reading the names (if they are old) before the user types in the form."""
        try:
            self._suggestions(caller).held(background)
        except MetaKraftwerkError:
            return  # the form says what is wrong

    def refresh_group_names(self, caller: Caller = NOBODY) -> None:
        """Read the names now, in the caller's thread (what the background job does)."""
        self._suggestions(caller).refresh()


class GroupSuggestions:
    """The group names the form suggests: always at once, from memory; refreshed behind.

    Slack asks for options at every keystroke and waits 3 s at most, in one of the web
    process's few request threads, so a keystroke never waits for the API (or the cache's
    Redis). It gets the names held, none at first, and when they are old one job reads them
    again on `background`, never two at a time. A list that could not be read counts too, for
    NAMES_FAILED_SECONDS: an API that fails is asked once in that time, not at each keystroke.
    """

    def __init__(
        self,
        names: Callable[[], Mapping[int, str]],
        *,
        clock: Clock | None = None,
        fresh_seconds: float = NAMES_FRESH_SECONDS,
        failed_seconds: float = NAMES_FAILED_SECONDS,
    ) -> None:
        self._names = names
        self._clock: Clock = clock or SystemClock()
        self._fresh = fresh_seconds
        self._failed = failed_seconds
        self._lock = threading.Lock()
        self._held: Mapping[int, str] = {}
        self._next_read = float("-inf")  # monotonic time the names are old
        self._reading = False

    def held(self, background: Submit) -> Mapping[int, str]:
        """The names held now; when they are old, one refresh is started on `background`."""
        with self._lock:
            held = self._held
            start = not self._reading and self._clock.monotonic() >= self._next_read
            self._reading = self._reading or start
        if start and not background(self.refresh):
            with self._lock:
                self._reading = False  # the queue is full: the next keystroke tries again
        return held

    def refresh(self) -> None:
        try:
            names = dict(self._names())  # the finder never raises; {} when the API cannot say
        except Exception:
            log.exception("reading the release group names failed")
            names = {}
        if not names:
            log.info("no release group names to suggest; asking again in %.0f s", self._failed)
        with self._lock:
            if names:
                self._held = names  # a failed read keeps the older names
            self._next_read = self._clock.monotonic() + (self._fresh if names else self._failed)
            self._reading = False


def _shareable(message: Message, share: ShareTarget) -> ShareTarget | None:
    """Errors and empty lists are nothing to share."""
    view = message.meta.get("view")
    if view == "detail" or (view == "list" and message.meta.get("total")):
        return share
    return None
