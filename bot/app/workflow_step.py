"""The Workflow Builder step "Find releases": a `/releases` filter in, a summary and ids out.

It answers through the same finder and renderers as `/releases`, so a standup workflow posts
what the command would show. Whatever goes wrong becomes a `StepError` whose text Workflow
Builder shows to the workflow's owner: the step never completes with half an answer.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.app.caller import Caller
from bot.app.finder import ReleaseFinder
from bot.app.finders import Finders, finders_of
from bot.app.standup import read_standup
from bot.clock import Clock
from bot.logs import log_unexpected
from bot.metakraftwerk.errors import MetaKraftwerkError
from bot.mrkdwn import escape
from bot.query import ListCommand, Query, QueryError, StandupCommand, parse_command
from bot.render.detail import render_detail
from bot.render.listing import MAX_PAGE_SIZE, render_list
from bot.render.standup import render_standup
from bot.render.text import plain_text
from bot.render.workflow_step_view import MAX_SUMMARY, message_mrkdwn, release_ids_text

log = logging.getLogger(__name__)

FUNCTION_CALLBACK = "find_releases"
INPUT_FILTER = "filter"
MAX_FILTER = 2000
EXAMPLE = "group:DWH_GROUP open"


NOBODY = Caller()  # single-workspace mode: one connection for everyone


class StepError(Exception):
    """Why the step cannot answer, in plain text: Workflow Builder shows it unformatted."""


@dataclass(frozen=True, slots=True)
class StepOutputs:
    summary: str  # mrkdwn
    count: int
    release_ids: str  # comma-separated, display order

    def as_dict(self) -> dict[str, Any]:
        return {"summary": self.summary, "count": self.count, "release_ids": self.release_ids}


class FindReleasesStep:
    def __init__(self, finder: ReleaseFinder | Finders, clock: Clock) -> None:
        self._finders = finders_of(finder)
        self._clock = clock

    def run(self, filter_text: object, caller: Caller = NOBODY) -> StepOutputs:
        """The outputs for one execution, from the connection of the workspace that runs it
        (`caller`'s); raises StepError with the reason otherwise."""
        if filter_text is None:
            filter_text = ""
        if not isinstance(filter_text, str):
            raise StepError(f"The filter must be text, for example {EXAMPLE}.")
        if len(filter_text) > MAX_FILTER:
            raise StepError(f"The filter is longer than {MAX_FILTER} characters.")
        try:
            command = parse_command(filter_text.strip())
            if isinstance(command, StandupCommand | ListCommand):
                finder = self._finders.for_caller(caller)
            if isinstance(command, StandupCommand):
                return self._standup(finder, command.query)
            if isinstance(command, ListCommand):
                return self._list(finder, command.query)
        except QueryError as exc:
            raise StepError(_plain(exc.message)) from None
        except MetaKraftwerkError as exc:
            log.warning("workflow step for %r failed: %s", filter_text[:80], exc)
            raise StepError(_plain(exc.user_message)) from None
        raise StepError(
            f"The step takes the filters of /releases (for example {EXAMPLE}) or standup "
            "with filters; subscriptions and help do not work here."
        )

    def _list(self, finder: ReleaseFinder, query: Query) -> StepOutputs:
        now = self._clock.now()
        if query.release_id is not None:
            detail = finder.detail(query.release_id)
            message = render_detail(detail, now)
            return StepOutputs(message_mrkdwn(message), 1, str(detail.release.id))
        result = finder.find(query)
        ids = [r.id for r in result.releases]
        # As many rows as fit the summary whole, so its "N of M shown" is true; `count` and
        # `release_ids` always cover every match.
        for size in range(MAX_PAGE_SIZE, 0, -1):
            message = render_list(result, now, size, unpaged=True)
            if len(message_mrkdwn(message, limit=sys.maxsize)) <= MAX_SUMMARY:
                break
        return StepOutputs(message_mrkdwn(message), len(ids), release_ids_text(ids))

    def _standup(self, finder: ReleaseFinder, query: Query) -> StepOutputs:
        result = read_standup(finder, query)  # as `/releases standup` reads it
        message = render_standup(result, self._clock.now())
        ids = [r.id for r in result.releases if query.matches(r, result.group_names)]
        return StepOutputs(message_mrkdwn(message), len(ids), release_ids_text(ids))


def unexpected_error(error: BaseException) -> str:
    """Log an error nobody foresaw; the text for the workflow quotes a short reference."""
    ref = log_unexpected(log, error, "workflow step failed unexpectedly")
    return f"Something went wrong on our side (ref {ref}). Please try again later."


def filter_input(inputs: object) -> object:
    """The step's filter input; StepError when the inputs are no object (Slack sends one)."""
    if inputs is None:
        return None
    if not isinstance(inputs, Mapping):
        raise StepError(f"The step's inputs hold no filter; give it one, for example {EXAMPLE}.")
    return inputs.get(INPUT_FILTER)


def _plain(mrkdwn: str) -> str:
    """Our message without its formatting; what it quotes of the input stays escaped, so that
    a `<!channel>` in the filter never comes back as a mention wherever the text is shown."""
    return escape(plain_text(mrkdwn))
