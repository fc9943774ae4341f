"""`/releases subscribe | digest | subscriptions | unsubscribe` and the Remove button.

Subscriptions belong to the channel, so changes to them are confirmed in the channel and name
who made them; refusals and mistakes are answered only to the person who typed the command.
Ids are looked up within the caller's channel only: another channel's id is "not found" here,
so nobody can read or remove another channel's subscriptions by guessing numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from bot.app.answers import Caller, Reply, SubscriptionCommand
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.i18n import ENGLISH, N_, Texts
from bot.logs import new_ref
from bot.mrkdwn import escape_truncated
from bot.notify.delivery_trouble import read_trouble, trouble_blocks
from bot.notify.digests import next_run, schedule_words
from bot.notify.filters import UnstorableFilters, storable_filters
from bot.notify.follow_routing import hears
from bot.notify.group_check import check_groups
from bot.notify.messages import filters_label, mention_label, mention_pings
from bot.notify.records import Subscription
from bot.notify.replies import confirm as _confirm
from bot.notify.replies import refuse as _error
from bot.notify.shared_channel_commands import allow_shared
from bot.notify.store import Store, StoreUnavailable
from bot.notify.store.subscriptions import SubscriptionLimitReached, TwinSubscription
from bot.notify.subscription_list import (
    MAX_NAMED_MANAGERS,
    MAX_PER_CHANNEL,
    describe,
    events_label,
    render_subscriptions,
    subscription_rows,
    user_mention,
)
from bot.notify.user_timezone import UserTimezone
from bot.query import (
    USER_ID,
    AllowSharedChannelCommand,
    DigestCommand,
    Query,
    SubscribeCommand,
    SubscriptionsCommand,
    UnsubscribeCommand,
)
from bot.render import parts
from bot.render.block_limits import cut_mrkdwn
from bot.schedule import ScheduleError, parse_timezone

log = logging.getLogger(__name__)


LIST_HINT = N_("`/releases subscriptions` lists this channel's subscriptions and their ids.")
PRIVATE_CHANNEL_HINT = N_("In a private channel, invite me first: `/invite @releases`.")
_LANGUAGE_NAMES = {"de": "Deutsch", "en": "English"}
# Every release group by id; {} when MetaKraftwerk cannot say (the finder's `group_names`).
GroupNames = Callable[[], Mapping[int, str]]
# The same of the caller's MetaKraftwerk connection (distributed mode; raises NotConnected).
GroupNamesOf = Callable[[Caller], Mapping[int, str]]


def _no_zone(user_id: str) -> str | None:
    return None


class SubscriptionCommands:
    """The `Subscriptions` service `bot.app.answers.Answers` delegates to, over a Store."""

    def __init__(
        self,
        store: Store,
        *,
        settings: Settings,
        group_names: GroupNames,
        user_timezone: UserTimezone = _no_zone,
        clock: Clock | None = None,
        group_names_of: GroupNamesOf | None = None,
    ) -> None:
        """`group_names_of`, when given, names the groups of each caller's own connection."""
        self._store = store
        self._settings = settings
        self._group_names = group_names
        self._group_names_of = group_names_of
        self._user_timezone = user_timezone
        self._clock = clock or SystemClock()

    # ---- the Subscriptions protocol ---------------------------------------------------------

    def handle(self, command: SubscriptionCommand, caller: Caller, t: Texts = ENGLISH) -> Reply:
        """The answer in `t`, the language of the person who asked (a confirmation in the
        channel too: it names who made the change, in their words)."""
        try:
            return self._handle(command, caller, t)
        except StoreUnavailable as exc:
            ref = new_ref()
            log.warning(
                "%s by %s in channel %s: the subscription database is unavailable (ref %s): %s",
                type(command).__name__, caller.user_id or "?", caller.channel_id, ref, exc,
            )
            return _error(
                t._("The subscription database is busy or unreachable; try again in a minute "
                    "(ref {ref}).", ref=ref),
                t._("If it keeps happening, tell whoever runs this app the ref."),
            )

    @property
    def store(self) -> Store:
        """The store, for the services beside this one (following releases) to share."""
        return self._store

    @property
    def user_timezone(self) -> UserTimezone:
        """The callers' time zones from Slack, for the standup to count days in."""
        return self._user_timezone

    def remove(self, subscription_id: int, caller: Caller, t: Texts = ENGLISH) -> Reply:
        """The Remove button of the list: the same as `/releases unsubscribe <id>`."""
        return self.handle(UnsubscribeCommand(ids=(subscription_id,)), caller, t)

    # ---- App Home's SubscriptionRows ---------------------------------------------------------

    def rows(self, caller: Caller, t: Texts = ENGLISH) -> tuple[str, ...]:
        """The caller's channel's subscriptions in the list's words; none while the database
        is unavailable (logged), as the list then answers with an error and no rows."""
        try:
            subs = self._store.subscriptions.in_channel(caller.team_id, caller.channel_id)
        except StoreUnavailable as exc:
            log.warning(
                "App Home for %s in channel %s: the subscription database is unavailable: %s",
                caller.user_id or "?", caller.channel_id, exc,
            )
            return ()
        return subscription_rows(subs, self._clock.now(), t)

    def _handle(self, command: SubscriptionCommand, caller: Caller, t: Texts) -> Reply:
        if not caller.channel_id:
            return _error(t._(
                "Subscriptions belong to a channel. Run this in the channel that should get "
                "the messages."
            ))
        if isinstance(command, SubscriptionsCommand):
            return self._list(caller, t)
        refusal = self._refusal(caller, t)
        if refusal is not None:
            return refusal
        if isinstance(command, AllowSharedChannelCommand):
            return allow_shared(self._store.shared_channels, command, caller, t)
        if isinstance(command, SubscribeCommand):
            return self._subscribe(command, caller, t)
        if isinstance(command, DigestCommand):
            return self._digest(command, caller, t)
        return self._unsubscribe(command, caller, t)

    # ---- commands ---------------------------------------------------------------------------

    def _refusal(self, caller: Caller, t: Texts) -> Reply | None:
        managers = self._settings.subscription_managers
        if not managers or caller.user_id in managers:
            return None
        log.info(
            "user %s may not change subscriptions of channel %s",
            caller.user_id or "?", caller.channel_id,
        )
        named = sorted(managers)
        shown = ", ".join(user_mention(u) for u in named[:MAX_NAMED_MANAGERS])
        if len(named) > MAX_NAMED_MANAGERS:
            shown = t._("{names} and {count} more", names=shown,
                        count=len(named) - MAX_NAMED_MANAGERS)
        return _error(
            t._("Sorry, only {names} can add or remove subscriptions and digests here.",
                names=shown),
            t._("Ask one of them to do it for you. Anyone can see the list: {hint}",
                hint=t._(LIST_HINT)),
        )

    def _vet(
        self, query: Query, caller: Caller, t: Texts
    ) -> tuple[str, tuple[str, ...]] | Reply:
        """The filters to store and notes for the confirmation, or the refusal to answer."""
        try:
            filters = storable_filters(query)
        except UnstorableFilters as exc:
            log.info("subscription refused for %s: %s", caller.user_id or "?", exc.message)
            return _error(exc.words(t))
        names = (
            self._group_names_of(caller) if self._group_names_of is not None
            else self._group_names()
        )
        checked = check_groups(query, names, t)
        if checked.refusal is not None:
            log.info("subscription refused for %s: %s", caller.user_id or "?", checked.refusal)
            return _error(
                checked.refusal, t._("Nothing was subscribed. `/releases help` shows the filters.")
            )
        return filters, checked.notes

    def _subscribe(self, command: SubscribeCommand, caller: Caller, t: Texts) -> Reply:
        query = _stored_query(command.query)
        if command.mention and not mention_pings(command.mention):
            label = escape_truncated(command.mention.strip(), 80)
            return _error(
                t._("I cannot mention `{label}`: Slack sent it as plain text, which notifies "
                    "nobody. Pick the user or user group from Slack's list as you type `@`, "
                    "or leave out `mention:`.", label=label),
                t._("Nothing was subscribed."),
            )
        vetted = self._vet(query, caller, t)
        if isinstance(vetted, Reply):
            return vetted
        filters, notes = vetted
        try:  # the store checks for a twin and the cap in the same write
            sub = self._store.subscriptions.add_change(
                team_id=caller.team_id, channel_id=caller.channel_id, filters=filters,
                created_by=caller.user_id, mention=command.mention, events=command.events,
                limit=MAX_PER_CHANNEL, language=command.language,
            )
        except TwinSubscription as exc:
            return self._twin(exc.twin, caller, t, command.language)
        except SubscriptionLimitReached:
            return _too_many(t)
        log.info(
            "subscription %d: %s subscribed channel %s to changes (%s; %s; language %s)",
            sub.id, caller.user_id or "?", caller.channel_id, filters,
            events_label(command.events), command.language or "default",
        )
        what = escape_truncated(filters_label(query, t), 400)
        text = t._("{who} subscribed this channel to release changes (#{id}): *{filters}*.",
                   who=_who(caller, t), id=sub.id, filters=what)
        if command.events:
            text += " " + t._("Only these kinds of change: {events}.",
                              events=events_label(command.events, t))
        if query.status == "open" and query.release_id is None and hears(command.events, "closed"):
            text += " " + t._(
                "A release that closes is reported too, and a release that has a thread here"
                " keeps it current."
            )
        if command.mention:
            text += " " + t._("Each new release message mentions {mention}.",
                              mention=mention_label(command.mention))
        text += _language_note(command.language, t)
        text += "".join(" " + n for n in notes)
        note = t._(
            "I check MetaKraftwerk every {interval}. The first check only notes where things "
            "stand; from then on each release that changes gets one message here, with later "
            "changes in its thread. `/releases unsubscribe {id}` stops it.",
            interval=_interval(self._settings.poll_interval_seconds, t), id=sub.id,
        ) + " " + t._(PRIVATE_CHANNEL_HINT)
        return _confirm(text, note)

    def _digest(self, command: DigestCommand, caller: Caller, t: Texts) -> Reply:
        query = _stored_query(command.query)
        vetted = self._vet(query, caller, t)
        if isinstance(vetted, Reply):
            return vetted
        filters, notes = vetted
        zone, why = self._zone_for(command, caller, t)
        schedule_text = command.schedule.to_text()
        try:
            sub = self._store.subscriptions.add_digest(
                team_id=caller.team_id, channel_id=caller.channel_id, filters=filters,
                schedule=command.schedule, timezone=zone, created_by=caller.user_id,
                limit=MAX_PER_CHANNEL, language=command.language,
            )
        except TwinSubscription as exc:
            return self._twin(exc.twin, caller, t, command.language)
        except SubscriptionLimitReached:
            return _too_many(t)
        log.info(
            "subscription %d: %s set up a digest in channel %s: %s %s (%s; language %s)",
            sub.id, caller.user_id or "?", caller.channel_id, schedule_text, zone, filters,
            command.language or "default",
        )
        tz = parse_timezone(zone)
        nxt = next_run(command.schedule, tz, self._clock.now())
        text = t._(
            "{who} set up a digest in this channel (#{id}): *{when}* {zone} time, *{filters}*.",
            who=_who(caller, t), id=sub.id, when=schedule_words(command.schedule, t),
            zone=escape_truncated(zone, 64), filters=escape_truncated(filters_label(query, t), 400),
        )
        if nxt is not None:
            text += " " + t._("The first one comes {when}.",
                              when=parts.date_token(nxt, parts.DATE_AND_TIME, t))
        text += _language_note(command.language, t)
        text += "".join(" " + n for n in notes)
        note = t._(
            "Time zone {zone}: {why}. `/releases unsubscribe {id}` stops it.",
            zone=escape_truncated(zone, 64), why=why, id=sub.id,
        ) + " " + t._(PRIVATE_CHANNEL_HINT)
        return _confirm(text, note)

    def _zone_for(self, command: DigestCommand, caller: Caller, t: Texts) -> tuple[str, str]:
        """The digest's zone and why it was chosen, in words for the confirmation."""
        if command.timezone is not None:
            return command.timezone, t._("as given with `tz:`")
        if caller.user_id:
            found = self._user_timezone(caller.user_id)
            if found:
                try:
                    return (
                        parse_timezone(found).key,
                        t._("from {who}'s Slack profile; add `tz:Area/City` to choose "
                            "another", who=_who(caller, t)),
                    )
                except ScheduleError:
                    log.warning("user %s has an unknown Slack time zone %r", caller.user_id, found)
        default = self._settings.default_timezone or "UTC"
        try:
            zone = parse_timezone(default).key
        except ScheduleError:
            zone = "UTC"
        return zone, t._(
            "your Slack time zone was not available, so this is the app's default; "
            "add `tz:Area/City` to choose another"
        )

    def _twin(
        self, twin: Subscription, caller: Caller, t: Texts, language: str | None
    ) -> Reply:
        """The same subscription again: a new `lang:` switches its language; resume it when
        paused, else say it exists."""
        if language is not None and language != twin.language and (
            self._store.subscriptions.set_language(
                twin.team_id, twin.channel_id, twin.id, language
            )
        ):
            log.info("subscription %d: %s set its language to %s in channel %s",
                     twin.id, caller.user_id or "?", language, caller.channel_id)
            if twin.paused:
                self._store.subscriptions.resume(twin.id)
            return _confirm(t._(
                "{who} switched {what} (#{id}) in this channel to {language} (`lang:{code}`).",
                who=_who(caller, t), what=describe(twin, t), id=twin.id,
                language=_LANGUAGE_NAMES.get(language, language), code=language,
            ))
        if twin.paused and self._store.subscriptions.resume(twin.id):
            log.info(
                "subscription %d: resumed by %s in channel %s (was paused: %s)",
                twin.id, caller.user_id or "?", caller.channel_id, twin.paused_reason,
            )
            return _confirm(
                t._("{who} resumed {what} (#{id}) in this channel.", who=_who(caller, t),
                    what=describe(twin, t), id=twin.id),
                t._("It had been paused: {reason}",
                    reason=escape_truncated(_reason(twin.paused_reason, t), 300)),
            )
        return _error(t._("This channel already has that subscription (#{id}).", id=twin.id),
                      t._(LIST_HINT))

    def _unsubscribe(self, command: UnsubscribeCommand, caller: Caller, t: Texts) -> Reply:
        team, channel = caller.team_id, caller.channel_id
        if command.all:
            existing = self._store.subscriptions.in_channel(team, channel)
            removed = self._store.subscriptions.delete_channel(team, channel)
            if not removed:
                return _error(t._("This channel has no subscriptions or digests to remove."))
            ids = ", ".join(f"#{s.id}" for s in existing)
            log.info(
                "%s removed all %d subscriptions of channel %s",
                caller.user_id or "?", removed, channel,
            )
            return _confirm(t.ngettext(
                "{who} removed all {count} subscription of this channel ({ids}).",
                "{who} removed all {count} subscriptions of this channel ({ids}).",
                removed, who=_who(caller, t), ids=cut_mrkdwn(ids, 1000),
            ))
        found: list[Subscription] = []
        missing: list[int] = []
        for sub_id in command.ids:
            sub = self._store.subscriptions.get(team, channel, sub_id)
            if sub is None:
                missing.append(sub_id)
            else:
                found.append(sub)
        if missing:
            which = _id_list(missing)
            return _error(
                t._("There is no subscription {ids} in this channel, so I removed nothing.",
                    ids=which) if found
                else t._("There is no subscription {ids} in this channel.", ids=which),
                t._(LIST_HINT),
            )
        gone = [s for s in found if self._store.subscriptions.delete(team, channel, s.id)]
        if not gone:
            return _error(t._("Subscription {ids} is already gone.", ids=_id_list(command.ids)),
                          t._(LIST_HINT))
        for sub in gone:
            log.info(
                "subscription %d: removed by %s from channel %s",
                sub.id, caller.user_id or "?", channel,
            )
        lines = "; ".join(f"#{s.id} ({describe(s, t)})" for s in gone)
        return _confirm(t._("{who} removed {what} from this channel.", who=_who(caller, t),
                            what=cut_mrkdwn(lines, 2500)))

    def _list(self, caller: Caller, t: Texts) -> Reply:
        subs = self._store.subscriptions.in_channel(caller.team_id, caller.channel_id)
        found = read_trouble(self._store, caller.team_id, caller.channel_id)
        live = {s.id for s in subs if not s.paused}  # a paused one already says why
        trouble = trouble_blocks(
            replace(found, failed=tuple(f for f in found.failed if f.subscription_id in live)), t
        )
        return Reply(render_subscriptions(
            subs, self._clock.now(), managers=self._settings.subscription_managers,
            trouble=trouble, t=t,
        ))


def _stored_query(query: Query) -> Query:
    """What a subscription keeps: the filters, without page, format or refresh."""
    return replace(query, page=1, format="compact", refresh=False)


def _who(caller: Caller, t: Texts) -> str:
    if USER_ID.fullmatch(caller.user_id):
        return f"<@{caller.user_id}>"
    if caller.user_name:
        return escape_truncated(caller.user_name, 40)
    return t._("Someone")


def _reason(stored: str | None, t: Texts) -> str:
    """A stored pause reason, in the reader's words where it is one of the bot's own."""
    return t._(stored) if stored else ""


def _language_note(language: str | None, t: Texts) -> str:
    """What `lang:` chose, for the confirmation; "" without it (the workspace default)."""
    if language is None:
        return ""
    return " " + t._("Its posts are in {language} (`lang:{code}`).",
                     language=_LANGUAGE_NAMES.get(language, language), code=language)


def _id_list(ids: Sequence[int]) -> str:
    return ", ".join(f"#{i}" for i in ids)


def _interval(seconds: float, t: Texts) -> str:
    if seconds < 90:
        return t.ngettext("{count} second", "{count} seconds", round(seconds))
    return t.ngettext("{count} minute", "{count} minutes", round(seconds / 60))


def _too_many(t: Texts) -> Reply:
    return _error(
        t._("This channel has {count} subscriptions and digests already, the most I keep per "
            "channel. Remove one first.", count=MAX_PER_CHANNEL),
        t._(LIST_HINT),
    )
