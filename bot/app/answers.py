"""What the bot answers to a command, a button or a shortcut, independent of how it got there.

Slack listeners and the console both call these methods, so the terminal shows exactly what Slack
would. Every failure becomes a friendly message here: a QueryError or an API error says what
went wrong; anything unexpected is logged with a short reference the user can quote.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.app.finder import ReleaseFinder
from bot.app.finders import Finders, OneFinder, finders_of
from bot.app.gate import Gate, button_action, command_action
from bot.app.language import Languages
from bot.app.policy import Action
from bot.app.refresh_limit import RefreshLimit
from bot.app.replies import (
    Caller,
    Follows,
    FollowsCommand,
    Reply,
    SubscriptionCommand,
    Subscriptions,
)
from bot.app.search_query import search_form, search_form_query
from bot.app.standup import read_standup
from bot.clock import Clock, SystemClock
from bot.i18n import N_, Texts
from bot.logs import log_unexpected
from bot.metakraftwerk.errors import (
    ConnectionFailing,
    GroupNotFound,
    MetaKraftwerkError,
    NotConnected,
    ReleaseNotFound,
)
from bot.query import (
    Command,
    FollowCommand,
    FollowingCommand,
    GroupsCommand,
    HelpCommand,
    LanguageCommand,
    ListCommand,
    Query,
    QueryError,
    StandupCommand,
    UnfollowCommand,
    closest,
    closest_command,
    parse_command,
    scan_message,
)
from bot.render import actions as act
from bot.render.detail import render_detail
from bot.render.errors import (
    render_error,
    render_not_available,
    render_not_connected,
    render_unexpected_error,
)
from bot.render.groups import render_groups
from bot.render.help import render_help
from bot.render.listing import render_list
from bot.render.message import Message
from bot.render.no_match import render_no_release_named
from bot.render.parts import section
from bot.render.shortcut import ShortcutFindings, render_shortcut_result
from bot.render.standup import render_standup

log = logging.getLogger(__name__)

# The shared types, where the surfaces and the notification commands have always found them.
__all__ = ["Answers", "Caller", "Follows", "FollowsCommand", "Reply", "SubscriptionCommand",
           "Subscriptions", "dumps"]

HELP_HINT = N_("Type `/releases help` for examples.")
# When the worker's snapshots saw releases close, by id; those it did not see are left out.
ClosedTimes = Callable[[Iterable[int]], Mapping[int, datetime]]
UserZone = Callable[[str], str | None]  # a Slack user's IANA time zone, None when unknown


class Answers:
    def __init__(
        self,
        finder: ReleaseFinder | Finders,
        *,
        clock: Clock | None = None,
        subscriptions: Subscriptions | None = None,
        release_link: str | None = None,
        follows: Follows | None = None,
        closed_times: ClosedTimes | None = None,
        user_timezone: UserZone | None = None,
        refresh_limit: RefreshLimit | None = None,
        languages: Languages | None = None,
        gate: Gate | None = None,
    ) -> None:
        self._finders = finders_of(finder)  # the finder of each request's tenant
        self.languages = languages or Languages()
        self._gate = gate or Gate()  # who may do what (bot/app/policy.py)
        self._closed_times = closed_times
        self._user_timezone = user_timezone
        self._clock = clock or SystemClock()
        self._refresh_limit = refresh_limit or RefreshLimit(self._clock)
        self.subscriptions = subscriptions
        self._link = release_link  # METAKRAFTWERK_WEB_URL: release names link there
        self.follows = follows

    @property
    def finder(self) -> ReleaseFinder:
        """The one finder of single-workspace mode (the console builds its surfaces on it);
        in distributed mode there is none: ask `finders` for the caller's."""
        if isinstance(self._finders, OneFinder):
            return self._finders.finder
        raise LookupError("these answers read one finder per connection; use `finders`")

    @property
    def finders(self) -> Finders:
        """Where these answers find each tenant's finder (the other use cases share it)."""
        return self._finders

    @property
    def clock(self) -> Clock:
        """The clock these answers read (the console hands it to the use cases it builds)."""
        return self._clock

    # ---- entry points ---------------------------------------------------------------------

    def command(self, text: str, caller: Caller) -> Reply:
        """`/releases <text>`."""
        return self._guard(
            lambda t: self._command(text, caller, t), caller, f"command {text[:80]!r}"
        )

    def button(self, action_id: str, value: str, caller: Caller) -> Reply:
        """A click on one of the app's buttons."""
        return self._guard(
            lambda t: self._button(action_id, value, caller, t),
            caller,
            f"button {action_id[:60]}",
        )

    def message_shortcut(self, text: str, caller: Caller) -> Reply:
        """The "Find releases" message shortcut, on the text of one message."""
        return self._guard(
            lambda t: self._shortcut(text, caller, t), caller, "message shortcut", "lookup"
        )

    def search_submitted(self, values: Mapping[str, Any], caller: Caller) -> Reply:
        """A submitted search form's answer (bot/app/search_form.py shows it in the modal)."""
        return self._guard(
            lambda t: self._search(values, caller, t), caller, "search form", "search"
        )

    def log_unexpected(self, error: BaseException) -> str:
        """Log an error nobody caught with a short reference, and return the reference."""
        return log_unexpected(log, error, "unexpected error")

    # ---- commands -------------------------------------------------------------------------

    def _command(self, text: str, caller: Caller, t: Texts) -> Reply:
        command: Command = parse_command(text)
        if gated := self._refused(command_action(command), caller):
            return gated
        if isinstance(command, ListCommand | StandupCommand) and command.query.refresh:
            refused = self._refresh_limit.refusal(f"{caller.team_id}:{caller.user_id}")
            if refused is not None:  # each refresh is an API call: a small per-user rate
                log.info("refresh refused for %s: %s", caller.user_id or "?", refused)
                return Reply(render_error(t._(refused), t=t))
        if isinstance(command, HelpCommand):
            return Reply(render_help(command.topic, t))
        if isinstance(command, LanguageCommand):
            return self._language(command, caller, t)
        if isinstance(command, StandupCommand):
            return Reply(self._standup(self._finders.for_caller(caller), command.query, caller, t))
        if isinstance(command, GroupsCommand):
            return Reply(self._groups(self._finders.for_caller(caller), t))
        if isinstance(command, ListCommand) and (command.by_name or command.query.names):
            return Reply(self._by_name(
                self._finders.for_caller(caller), command.query, caller, t,
                names_only=command.by_name,
            ))
        if isinstance(command, ListCommand):
            finder = self._finders.for_caller(caller)
            return Reply(self._list_or_detail(finder, command.query, t, caller=caller))
        if isinstance(command, FollowCommand | UnfollowCommand | FollowingCommand):
            if self.follows is None:
                return Reply(render_not_available(N_("Following releases"), t))
            return self.follows.handle(command, caller, t)
        if self.subscriptions is None:
            return Reply(render_not_available(N_("Channel subscriptions and digests"), t))
        return self.subscriptions.handle(command, caller, t)

    def _language(self, command: LanguageCommand, caller: Caller, t: Texts) -> Reply:
        try:
            said = self.languages.choose(command, caller.team_id, caller.user_id)
        except LookupError:
            return Reply(render_not_available(N_("Choosing a language"), t))
        return Reply(Message(text=said, blocks=(section(said),), meta={"view": "language"}))

    def _list_or_detail(
        self, finder: ReleaseFinder, query: Query, t: Texts, *, shared_by: str | None = None,
        caller: Caller | None = None,
    ) -> Message:
        if query.release_id is not None:
            return self._detail(
                finder, query.release_id, t, refresh=query.refresh, shared_by=shared_by,
                caller=caller,
            )
        return render_list(
            finder.find(query), self._clock.now(), shared_by=shared_by, link=self._link,
            t=t,
        )

    def _by_name(
        self, finder: ReleaseFinder, query: Query, caller: Caller, t: Texts, *, names_only: bool
    ) -> Message:
        """Names: one match is its card, several a list; none, for names alone, the closest
        names (or the command a word was meant as); with other filters, the empty list."""
        result = finder.find(query)
        if len(result.releases) == 1 and query.page == 1:
            return self._detail(
                finder, result.releases[0].id, t, refresh=query.refresh, caller=caller
            )
        if not result.releases and names_only:
            known = finder.known_names()
            return render_no_release_named(
                query.names, closest(query.names, known), closest_command(query.names), t
            )
        return render_list(result, self._clock.now(), link=self._link, t=t)

    def _groups(self, finder: ReleaseFinder, t: Texts) -> Message:
        result = finder.find(Query(status="all"))
        names = finder.group_names() or dict(result.group_names)
        return render_groups(names, result.releases, self._clock.now(), result.freshness, t)

    def _detail(
        self,
        finder: ReleaseFinder,
        release_id: int,
        t: Texts,
        *,
        refresh: bool = False,
        shared_by: str | None = None,
        caller: Caller | None = None,
    ) -> Message:
        result = finder.detail(release_id, refresh=refresh)
        following = None
        if caller is not None and shared_by is None:
            following = self._following(caller, result.release.id)
        return render_detail(
            result, self._clock.now(), shared_by=shared_by, following=following, t=t
        )

    def _following(self, caller: Caller, release_id: int) -> bool | None:
        """Whether the Follow or the Unfollow button goes on the card; None: neither."""
        if self.follows is None or not caller.user_id:
            return None
        try:
            return self.follows.is_following(caller, release_id)
        except Exception:
            log.warning("could not tell whether %s follows release %d", caller.user_id,
                        release_id, exc_info=True)
            return None

    def _standup(
        self, finder: ReleaseFinder, query: Query, caller: Caller, t: Texts, *,
        shared_by: str | None = None,
    ) -> Message:
        result = read_standup(finder, query)
        return render_standup(
            result,
            self._clock.now(),
            shared_by=shared_by,
            link=self._link,
            tz=self._zone(caller),
            closed_at=self._closed_at(r.id for r in result.releases if r.closed),
            t=t,
        )

    def _closed_at(self, release_ids: Iterable[int]) -> Mapping[int, datetime]:
        """When the worker saw these close; {} (the end dates stand in) when it cannot be told."""
        if self._closed_times is None:
            return {}
        try:
            return self._closed_times(release_ids)
        except Exception as exc:
            log.warning("closing times unavailable, the standup goes by end dates: %s", exc)
            return {}

    def _zone(self, caller: Caller) -> tzinfo:
        """The caller's time zone from Slack; UTC when unknown."""
        name = self._user_timezone(caller.user_id) if self._user_timezone else None
        if not name:
            return UTC
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            log.info("unknown time zone %r for %s; counting days in UTC", name[:60],
                     caller.user_id)
            return UTC

    # ---- buttons --------------------------------------------------------------------------

    def _button(self, action_id: str, value: str, caller: Caller, t: Texts) -> Reply:
        try:
            action = act.decode(action_id, value)
        except act.ActionValueError as exc:
            log.warning("unreadable button %s: %s", action_id[:60], exc)
            return Reply(
                render_error(
                    t._("That button no longer works (it may come from an older message)."),
                    t._("Run the command again to get fresh buttons."),
                    t,
                )
            )
        if gated := self._refused(button_action(action), caller):
            return gated
        if isinstance(action, act.PageRequest):
            query = _query_from_text(action.query_text).with_page(action.page)
            found = self._finders.for_caller(caller).find(query)
            listed = render_list(found, self._clock.now(), link=self._link, t=t)
            return Reply(listed, mode="replace")
        if isinstance(action, act.ReleaseRef):
            finder = self._finders.for_caller(caller)
            return Reply(self._detail(finder, action.release_id, t, caller=caller))
        if isinstance(action, act.FollowRequest):
            if self.follows is None:
                return Reply(render_not_available(N_("Following releases"), t))
            wanted = FollowCommand if action.follow else UnfollowCommand
            return self.follows.handle(wanted(action.release_id), caller, t)
        if isinstance(action, act.ShareRequest):
            return Reply(self._shared(action, caller, t), mode="share")
        if isinstance(action, act.OpenSearch):
            return Reply(
                render_error(
                    t._("The search form could not be opened; try `/releases help`."), t=t
                ),
                view=search_form(self._finders.for_caller(caller), action.prefill, t),
            )
        if self.subscriptions is None:
            return Reply(render_not_available(N_("Channel subscriptions"), t))
        return self.subscriptions.remove(action.subscription_id, caller, t)

    def _shared(self, action: act.ShareRequest, caller: Caller, t: Texts) -> Message:
        who = caller.user_id or None
        finder = self._finders.for_caller(caller)
        if action.kind == "detail" and action.release_id is not None:
            return self._detail(finder, action.release_id, t, shared_by=who)
        query = _query_from_text(action.query_text or "")
        if action.kind == "standup":
            return self._standup(finder, query, caller, t, shared_by=who)
        return render_list(
            finder.find(query.with_page(action.page)),
            self._clock.now(),
            shared_by=who,
            link=self._link,
            t=t,
        )

    # ---- shortcut and search form ---------------------------------------------------------

    def _shortcut(self, text: str, caller: Caller, t: Texts) -> Reply:
        finder = self._finders.for_caller(caller)
        scan = scan_message(text, finder.known_names())
        found = finder.find_mentioned(scan)
        findings = ShortcutFindings(
            releases=found.releases,
            missing_ids=found.missing_ids,
            missing_names=found.missing_names,
            # Releases named in the message are what it is about; its filters (often context,
            # "R60 in group:DWH_GROUP") are the answer only when it names none that exist.
            search=None if found.releases else found.search,
            group_names=found.group_names,
            freshness=found.freshness,
            prefill=scan.query.to_text() if scan.query is not None else "",
            related=found.related,
        )
        return Reply(render_shortcut_result(findings, self._clock.now(), link=self._link, t=t))

    def _search(self, values: Mapping[str, Any], caller: Caller, t: Texts) -> Reply:
        query = search_form_query(values)
        return Reply(self._list_or_detail(self._finders.for_caller(caller), query, t))

    def _refused(self, action: Action, caller: Caller) -> Reply | None:
        refused = self._gate.refusal(action, caller)  # one line to whoever may not
        return None if refused is None else Reply(render_error(refused))

    # ---- error handling -------------------------------------------------------------------

    def _guard(
        self,
        answer: Callable[[Texts], Reply],
        caller: Caller,
        what: str,
        action: Action | None = None,
    ) -> Reply:
        """The answer in the caller's language; every failure as a short message in it."""
        t = self.languages.for_user(caller.team_id, caller.user_id)
        try:
            return (action and self._refused(action, caller)) or answer(t)
        except QueryError as exc:
            log.info("bad input from %s: %s", caller.user_id or "?", exc.message)
            return Reply(render_error(t._(exc.message), t._(HELP_HINT), t))
        except NotConnected as exc:
            log.info("%s for %s: no MetaKraftwerk connection in %s", what,
                     caller.user_id or "?", caller.team_id or "?")
            return Reply(render_not_connected(exc.installer, exc.home_url, t))
        except ConnectionFailing as exc:
            log.warning("%s for %s: the connection of %s fails to log in", what,
                        caller.user_id or "?", caller.team_id or "?")
            return Reply(render_error(t._(exc.user_message), t=t))
        except (GroupNotFound, ReleaseNotFound) as exc:
            # A typo, not a fault: the user is told; the log keeps it below WARNING.
            log.info("%s for %s found nothing: %s", what, caller.user_id or "?", exc)
            return Reply(render_error(t._(exc.user_message), t=t))
        except MetaKraftwerkError as exc:
            log.warning("%s for %s failed: %s", what, caller.user_id or "?", exc)
            return Reply(render_error(t._(exc.user_message), t=t))
        except Exception as exc:
            ref = self.log_unexpected(exc)
            log.error("… while answering %s for %s", what, caller.user_id or "?")
            return Reply(render_unexpected_error(ref, t))


def _query_from_text(text: str) -> Query:
    """The query a button carries; raises QueryError when it is no list query."""
    command = parse_command(text)
    if isinstance(command, ListCommand | StandupCommand):
        return command.query
    raise QueryError("That button no longer works; run the command again.")


def dumps(message: Message) -> str:
    """Block Kit JSON of a message, as Slack's Block Kit Builder takes it."""
    return json.dumps(
        {"text": message.text, "blocks": list(message.blocks)}, indent=2, ensure_ascii=False
    )
