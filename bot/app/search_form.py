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

from bot.app.answers import Answers, Caller
from bot.app.finder import ReleaseFinder
from bot.app.search_query import SearchFormError, search_form, search_form_query
from bot.clock import Clock, SystemClock
from bot.query import QueryError
from bot.render import actions as act
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

# Runs a job in the background; False when it cannot take it now (WorkQueue.submit).
Submit = Callable[[Callable[[], object]], bool]


@dataclass(frozen=True, slots=True)
class ModalStep:
    """What a click inside the results does to the modal: replace the view or push one."""

    how: Literal["update", "push"]
    view: dict[str, Any]


class SearchForms:
    def __init__(
        self, answers: Answers, finder: ReleaseFinder | None = None, *, clock: Clock | None = None
    ) -> None:
        """`finder` is the one `answers` use (bot/wiring passes it; alone, it is asked)."""
        self._answers = answers
        self._finder = finder if finder is not None else answers.finder
        self._names = GroupSuggestions(self._finder.group_names, clock=clock)

    def form(self, prefill: str = "") -> dict[str, Any]:
        """The form, with the groups already held; never waits for the API (3 s trigger)."""
        return search_form(self._finder, prefill)

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

    def group_options(self, typed: str, background: Submit) -> list[dict[str, Any]]:
        """The group select's options as the user types: from the names held, at once."""
        return group_options(self._names.held(background), typed)

    def warm_group_names(self, background: Submit) -> None:
        """Start reading the names (if they are old) before the user types in the form."""
        self._names.held(background)

    def refresh_group_names(self) -> None:
        """Read the names now, in the caller's thread (what the background job does)."""
        self._names.refresh()


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
